import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { IngestInput } from '../../lib/ingest/contracts.js';
import { SourceConnection } from '../../lib/extractors/index.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import type { IngestProgress } from '../../lib/ingest/contracts.js';
import { ingestEstate } from '../../workflows/index.js';
import { testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { asSourceRole, sourceLogin } from '../support/postgresCluster.js';
import { openStack } from '../support/stack.js';

/**
 * Lineage from a PostgreSQL catalog, through a real ingestion run (workers in-process, Spark for the columns):
 * views and foreign keys become edges in Cassandra, and a re-run after DROP VIEW deletes that view's edges.
 */

const config = testConfig();
const tenant = uniqueTenant('lineage');
const connectionId = 'warehouse';
const database = `lineage_${uniqueId('db').slice(3).replace(/-/g, '_')}`;
const options: IngestInput['options'] = {
  buckets: 4,
  containerConcurrency: 4,
  columnsPerJob: 1_000_000,
  bucketsPerColumnsJob: 4, // several small jobs, whatever their size
  childrenPerWave: 1,
  wavesPerRun: 1,
};

const stack = openStack(config);
const { postgres, temporal } = stack;
const lineage = lineageStore(stack.cassandra);
// The source database belongs to the stack's source role (MetaSync's runtime role may not create databases).
const login = sourceLogin(config);
const name = (...path: string[]) => `postgres://${connectionId}/${database}/${path.join('/')}`;

function ingest(runId: string): Promise<IngestProgress> {
  return temporal.workflow.execute(ingestEstate, {
    workflowId: ingestWorkflowId(tenant, connectionId, runId),
    taskQueue: config.temporal.taskQueue,
    args: [{ tenant, connectionId, runId, options }],
    typedSearchAttributes: runSearchAttributes(tenant, 'ingest', connectionId),
  });
}

const upstreamOf = async (downstream: string) =>
  (await lineage.upstreamOf(tenant, downstream)).items.map((edge) => `${edge.kind} ${edge.level} ${edge.upstream}`);

describe('lineage from a PostgreSQL catalog, through ingestion', () => {
  before(async () => {
    const estate = await readFile(new URL('../fixtures/extractors/postgres-estate.sql', import.meta.url), 'utf8');
    await stack.sourceDatabase(database, estate);
    const source = SourceConnection.parse({ type: 'postgres', ...login, database });
    await saveConnection(postgres, config.secretsKey, tenant, connectionId, source);
    await stack.workers();
  });

  after(() => stack.close());

  it('writes the edges of views and foreign keys, and deletes a dropped view’s on the next run', async () => {
    const first = await ingest('run-1');
    assert.equal(first.phase, 'completed');
    // 9 from views (3 relations read, 6 columns copied), 9 from 4 foreign keys (4 tables, 5 columns).
    assert.deepEqual(first.counts['lineage'], { added: 18, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });

    assert.deepEqual((await upstreamOf(name('shop', 'customer_orders'))).sort(), [
      `view table ${name('shop', 'customers')}`,
      `view table ${name('shop', 'orders')}`,
    ]);
    assert.deepEqual(await upstreamOf(name('shop', 'customer_orders', 'order%20id')), [
      `view column ${name('shop', 'orders', 'id')}`,
    ]);
    assert.deepEqual(await upstreamOf(name('shop', 'customer_orders', 'total_with_tax')), [], 'an expression');
    const [related] = (await lineage.downstreamOf(tenant, name('shop', 'customers'))).items.filter(
      (edge) => edge.downstream === name('audit', 'log'),
    );
    assert.deepEqual(related, {
      downstream: name('audit', 'log'),
      origin: `catalog:${connectionId}`,
      level: 'table',
      kind: 'foreign_key',
      propagates: false,
      transformation: 'foreign key log_customer_id_fkey',
      downstreamType: 'table',
    });
    assert.deepEqual(await upstreamOf(name('audit', 'log', 'customer_id')), [
      `foreign_key column ${name('shop', 'customers', 'id')}`,
    ]);

    await asSourceRole(config, database, 'DROP VIEW shop.customer_orders');
    const second = await ingest('run-2');
    assert.equal(second.phase, 'completed');
    assert.deepEqual(second.counts['lineage'], { added: 0, updated: 0, unchanged: 14, deleted: 4, rejected: 0 });
    assert.deepEqual(await upstreamOf(name('shop', 'customer_orders')), []);
    assert.deepEqual(await upstreamOf(name('shop', 'customer_orders', 'email')), []);
    assert.deepEqual(await upstreamOf(name('shop', 'big_orders', 'id')), [
      `view column ${name('shop', 'orders', 'id')}`,
    ]);
  });
});
