import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RawRecord } from '../../lib/ingest/contracts.js';
import { loadDefaultRules, mapRecord, RulesError } from '../../lib/mapping/index.js';
import { effectiveRules, saveTenantRules } from '../../lib/mapping/tenantRules.js';
import { migratePostgres } from '../../lib/stores/migrate.js';
import { uniqueTenant } from '../support/harness.js';
import { openStack } from '../support/stack.js';

const stack = openStack();
const { config, postgres } = stack;
const tenant = uniqueTenant('rules');
const column: RawRecord = {
  kind: 'column',
  path: ['Shop', 'Orders', 'Total_Amount'],
  attributes: { COLUMN_TYPE: 'money' },
};

describe('tenant mapping rules in PostgreSQL', () => {
  before(() => migratePostgres(config.postgres));
  after(async () => {
    await postgres.query('DELETE FROM mapping_rule_sets WHERE tenant = $1', [tenant]);
    await stack.close();
  });

  it('gives a tenant without overrides the default rules', async () => {
    assert.deepEqual(await effectiveRules(postgres, tenant), loadDefaultRules());
  });

  it('saves overrides as successive versions and applies the latest', async () => {
    const first = await saveTenantRules(postgres, tenant, {
      types: { mysql: [{ pattern: 'money', flags: 'i', type: 'decimal(19,4)' }] },
    });
    const second = await saveTenantRules(postgres, tenant, {
      types: { mysql: [{ pattern: 'money', flags: 'i', type: 'decimal(19,2)' }] },
      sources: { mysql: { nameCase: 'lower' } },
      enrichment: [{ tag: 'domain:finance', kinds: ['column'], name: { pattern: '.*amount.*', flags: 'i' } }],
    });
    assert.deepEqual([first, second], [1, 2]);

    const rules = await effectiveRules(postgres, tenant);
    const mapped = mapRecord(column, { sourceType: 'mysql', connectionId: 'shop' }, rules);
    assert.ok(mapped.ok, mapped.ok ? '' : mapped.reason);
    assert.equal(mapped.asset.qualifiedName, 'mysql://shop/shop/orders/total_amount');
    assert.equal(mapped.asset.dataType, 'decimal(19,2)');
    assert.deepEqual(mapped.asset.tags, ['domain:finance']);
  });

  it('numbers concurrent saves without gaps or clashes', async () => {
    const override = { validation: { maxNameLength: 128 } };
    const versions = await Promise.all([1, 2, 3, 4].map(() => saveTenantRules(postgres, tenant, override)));
    assert.deepEqual(versions.sort(), [3, 4, 5, 6]);
  });

  it('refuses an invalid override and stores nothing', async () => {
    await assert.rejects(
      saveTenantRules(postgres, tenant, { types: { mysql: [{ pattern: '(?i)money', type: 'decimal' }] } }),
      (error: unknown) => error instanceof RulesError && /inline flags/.test(error.message),
    );
    const { rows } = await postgres.query<{ latest: number }>(
      'SELECT max(version) AS latest FROM mapping_rule_sets WHERE tenant = $1',
      [tenant],
    );
    assert.equal(rows[0]?.latest, 6);
  });
});
