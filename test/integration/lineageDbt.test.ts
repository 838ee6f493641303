import { execa } from 'execa';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { SourceConnection } from '../../lib/extractors/index.js';
import { dbtObjectKeys, importDbt } from '../../lib/lineage/dbtImport.js';
import { namingContext } from '../../lib/lineage/names.js';
import { loadDefaultRules } from '../../lib/mapping/index.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { lakeWriter } from '../../lib/stores/lake.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { testConfig, uniqueTenant } from '../support/harness.js';
import { lakeRows } from '../support/lake.js';
import { openStack } from '../support/stack.js';

/** `npm run lineage:dbt` and the import behind it, against the real PostgreSQL, S3 and Cassandra. */

const config = testConfig();
const tenant = uniqueTenant('dbt');
const root = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (file: string) => `${root}test/fixtures/dbt/${file}`;
const stack = openStack(config);
const { postgres, cassandra, s3 } = stack;
const lineage = lineageStore(cassandra);
const name = (schema: string, table: string) => `postgres://warehouse/analytics/${schema}/${table}`;

const starter = (...args: string[]) =>
  execa('node', ['--import', 'tsx', 'starters/lineageDbt.ts', '--tenant', tenant, ...args], {
    cwd: root,
    reject: false,
  });
const upstreamOf = async (downstream: string) =>
  (await lineage.upstreamOf(tenant, downstream)).items.map((edge) => `${edge.origin} ${edge.upstream}`).sort();

describe('dbt lineage import', () => {
  before(async () => {
    await saveTenant(postgres, tenant);
    const source = SourceConnection.parse({
      type: 'postgres',
      host: 'warehouse.internal',
      database: 'analytics',
      user: 'dbt',
      password: 'not-used',
    });
    await saveConnection(postgres, config.secretsKey, tenant, 'warehouse', source);
  });

  after(() => stack.close());

  it('imports a manifest and its catalog from the command line: edges, columns, archived artifacts', async () => {
    const run = await starter(
      ...['--connection', 'warehouse', '--manifest', fixture('manifest.json'), '--catalog', fixture('catalog.json')],
      ...['--import-id', 'dbt-1'],
    );
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stdout, /dbt project jaffle_shop -> connection warehouse \(origin dbt:jaffle_shop\)/);
    assert.match(run.stdout, /lineage\s*│\s*10\s*│\s*0\s*│\s*0\s*│\s*0\s*│\s*0/);
    assert.match(run.stdout, /columns: 10 written, 0 rejected/);

    assert.deepEqual(await upstreamOf(name('marts', 'customers')), [
      `dbt:jaffle_shop ${name('public', 'country_codes')}`,
      `dbt:jaffle_shop ${name('staging', 'stg_customers')}`,
      `dbt:jaffle_shop ${name('staging', 'stg_orders')}`,
      `dbt:jaffle_shop ${name('staging', 'stg_payments')}`,
    ]);
    const email = `${name('marts', 'customers')}/email`;
    const rows = await lakeRows(cassandra, tenant, [email]);
    assert.deepEqual(rows.get(email), { deleted: false, dataType: 'string(320)', type: 'column' });
    const keys = dbtObjectKeys(tenant, 'warehouse', 'jaffle_shop');
    const store = objectStore(s3, config.s3.bucket);
    assert.ok(await store.exists(keys.artifact('dbt-1', 'manifest.json')));
    assert.ok(await store.exists(keys.artifact('dbt-1', 'catalog.json')));
  });

  it('replaces the project’s previous edges: what the new manifest no longer states is deleted', async () => {
    const manifest = JSON.parse(readFileSync(fixture('manifest.json'), 'utf8')) as { nodes: Record<string, unknown> };
    delete manifest.nodes['snapshot.jaffle_shop.customers_snapshot'];
    const rules = loadDefaultRules();
    const result = await importDbt(
      { s3, bucket: config.s3.bucket, lineage, lake: lakeWriter(cassandra) },
      {
        tenant,
        connectionId: 'warehouse',
        importId: 'dbt-2',
        manifest: Buffer.from(JSON.stringify(manifest)),
        naming: namingContext('postgres', 'warehouse', rules),
        rules,
      },
    );
    assert.deepEqual(result.edges, { added: 0, updated: 0, unchanged: 9, deleted: 1, rejected: 0 });
    assert.deepEqual(await upstreamOf(name('snapshots', 'customers_snapshot')), []);
    assert.equal((await upstreamOf(name('staging', 'stg_customers'))).length, 1, 'the other edges stay');
  });

  it('says what is wrong with the connection or the manifest, and writes nothing', async () => {
    const unknown = await starter('--connection', 'nope', '--manifest', fixture('manifest.json'));
    assert.equal(unknown.exitCode, 1);
    assert.match(unknown.stderr, /has no connection "nope": register it first/);
    const notManifest = await starter('--connection', 'warehouse', '--manifest', fixture('catalog.json'));
    assert.equal(notManifest.exitCode, 1);
    assert.match(
      notManifest.stderr,
      /manifest\.json is not a dbt manifest\.json this import reads:\n {2}nodes\["model\.jaffle_shop\.customers"\]\.unique_id: Invalid input/,
    );
  });
});
