import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { changeOutcome, requestAnnotation } from '../../control/annotate.js';
import type { AnnotationChange } from '../../lib/propagation/contracts.js';
import { SourceConnection } from '../../lib/extractors/index.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { saveSubscription } from '../../lib/stores/subscriptions.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import { ingestEstate } from '../../workflows/index.js';
import { eventually, testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { asSuperuser, queryAs, sourceLogin } from '../support/postgresCluster.js';
import { openStack } from '../support/stack.js';

/**
 * The whole outbound story on the real stack: a PostgreSQL database is ingested (its view lineage with it), a
 * column is classified PII, the classification propagates to the view column that copies it, and a restricted role
 * loses SELECT on both in that same database — and gets it back when the classification is removed.
 */

const config = testConfig();
const tenant = uniqueTenant('pii-e2e');
const suffix = uniqueId('db').slice(3).replace(/-/g, '_');
const database = `pii_${suffix}`;
const analyst = `analyst_${suffix}`;
const connectionId = 'shop';
const stack = openStack(config);
const { postgres, temporal } = stack;
// The shop database belongs to the stack's source role: the extractor reads it, and the sink grants in it, as it.
const login = sourceLogin(config);
const name = (...path: string[]) => `postgres://${connectionId}/${database}/public/${path.join('/')}`;

/** 'ok', or the SQLSTATE the query failed with (42501: permission denied). */
const asAnalyst = (sql: string) => queryAs({ ...login, database, user: analyst, password: 'analyst' }, sql);

describe('PII end to end: ingestion, lineage, propagation, outbound, enforcement in PostgreSQL', () => {
  const annotate = async (op: AnnotationChange['op']) => {
    const change = {
      qualifiedName: name('customers', 'email'),
      op,
      attribute: 'classification',
      value: 'PII',
      actor: 'test',
    } as const;
    const ids = await requestAnnotation(temporal, config.temporal, tenant, change, randomUUID());
    return changeOutcome(temporal, ids.changeWorkflowId, 120_000);
  };

  before(async () => {
    await saveTenant(postgres, tenant, 'PII end to end');
    // Dropped after the database, where it holds grants.
    stack.defer(() => asSuperuser(`DROP ROLE IF EXISTS ${analyst}`));
    await asSuperuser(`CREATE ROLE ${analyst} LOGIN PASSWORD 'analyst'`);
    await stack.sourceDatabase(
      database,
      `CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
       INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com');
       CREATE TABLE orders (id int PRIMARY KEY, customer_id int REFERENCES customers (id), total numeric);
       CREATE VIEW customer_contacts AS SELECT id, name, email FROM customers;
       GRANT SELECT ON customers, orders, customer_contacts TO ${analyst};`,
    );
    const source = SourceConnection.parse({ type: 'postgres', ...login, database });
    await saveConnection(postgres, config.secretsKey, tenant, connectionId, source);
    await saveSubscription(postgres, tenant, 'enforce-shop', {
      sink: { type: 'postgres-enforcement', connectionId, restrictedRoles: [analyst] },
    });
    stack.defer(() => postgres.query('DELETE FROM subscriptions WHERE tenant = $1', [tenant]));
    // The worker makes the tenant's outbound topic; the subscribers read it as their own Kafka principal.
    stack.dropTopicsAtClose(tenant);
    await stack.workers();
    await stack.subscribers({ tenants: [tenant], pollMs: 500 });
  });

  after(() => stack.close());

  it('a PII column and the view column copying it become unreadable for the restricted role, and readable again', async () => {
    const run = await temporal.workflow.execute(ingestEstate, {
      workflowId: ingestWorkflowId(tenant, connectionId, 'run-1'),
      taskQueue: config.temporal.taskQueue,
      args: [
        {
          tenant,
          connectionId,
          runId: 'run-1',
          options: {
            buckets: 2,
            containerConcurrency: 2,
            columnsPerJob: 1_000_000,
            childrenPerWave: 1,
            wavesPerRun: 1,
          },
        },
      ],
      typedSearchAttributes: runSearchAttributes(tenant, 'ingest', connectionId),
    });
    assert.equal(run.phase, 'completed');
    assert.equal(await asAnalyst('SELECT email FROM customer_contacts'), 'ok');

    const added = await annotate('add');
    // The column, the view's column (view lineage); the foreign key does not touch email.
    assert.equal(added.reached, 2);
    assert.deepEqual(added.notes, []);
    for (const sql of ['SELECT email FROM customers', 'SELECT email FROM customer_contacts']) {
      await eventually(async () => ((await asAnalyst(sql)) === '42501' ? true : undefined), 30_000, `denied: ${sql}`);
    }
    assert.equal(await asAnalyst('SELECT id, name FROM customers'), 'ok');
    assert.equal(await asAnalyst('SELECT id, name FROM customer_contacts'), 'ok');
    assert.equal(await asAnalyst('SELECT * FROM orders'), 'ok');

    const removed = await annotate('remove');
    assert.equal(removed.retracted, 2);
    for (const sql of ['SELECT email FROM customers', 'SELECT email FROM customer_contacts']) {
      await eventually(
        async () => ((await asAnalyst(sql)) === 'ok' ? true : undefined),
        30_000,
        `allowed again: ${sql}`,
      );
    }
  });
});
