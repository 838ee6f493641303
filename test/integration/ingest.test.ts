import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IngestInput, RawRecord } from '../../lib/ingest/contracts.js';
import { estateSize, generateEstate, generatedColumn, type EstateShape } from '../support/estateGenerator.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import type { IngestProgress } from '../../lib/ingest/contracts.js';
import { ingestEstate } from '../../workflows/index.js';
import { testConfig, uniqueTenant } from '../support/harness.js';
import { lakeRows, qualifiedNames } from '../support/lake.js';
import { openStack } from '../support/stack.js';

const config = testConfig();
const tenant = uniqueTenant('ingest');
const connectionId = 'warehouse';
const shape: EstateShape = { databases: 1, schemasPerDatabase: 2, tablesPerSchema: 5, columnsPerTable: 9 };
const dumpKey = `tenants/${tenant}/dumps/estate.ndjson.gz`;
// Small thresholds: 6 buckets, one Spark job (a child workflow) per 2 buckets, one job per wave and one wave
// per run, so the columns phase takes three waves and the parent continues as new twice.
const options: IngestInput['options'] = {
  buckets: 6,
  containerConcurrency: 4,
  columnsPerJob: 1_000_000,
  bucketsPerColumnsJob: 2, // several small jobs, whatever their size
  childrenPerWave: 1,
  wavesPerRun: 1,
};

const stack = openStack(config);
const { cassandra, postgres, temporal } = stack;
const store = objectStore(stack.s3, config.s3.bucket);

async function ingest(runId: string, records: RawRecord[]): Promise<IngestProgress> {
  await store.putNdjsonGz(
    dumpKey,
    records.map((record) => JSON.stringify(record)),
  );
  return temporal.workflow.execute(ingestEstate, {
    workflowId: ingestWorkflowId(tenant, connectionId, runId),
    taskQueue: config.temporal.taskQueue,
    args: [{ tenant, connectionId, runId, options }],
    typedSearchAttributes: runSearchAttributes(tenant, 'ingest', connectionId),
  });
}

async function lakeRowsOf(records: RawRecord[]) {
  const names = qualifiedNames(records, 'ndjson', connectionId);
  return { names, rows: await lakeRows(cassandra, tenant, names) };
}

describe('80-20 estate ingestion of an NDJSON dump', () => {
  const first = [...generateEstate(shape)];
  const size = estateSize(shape);

  before(async () => {
    await stack.workers();
    await saveConnection(postgres, config.secretsKey, tenant, connectionId, {
      type: 'ndjson',
      uri: `s3://${config.s3.bucket}/${dumpKey}`,
    });
  });

  after(() => stack.close());

  it('lands every container and column, in waves of Spark jobs, continuing as new between them', async () => {
    const result = await ingest('run-1', first);
    assert.equal(result.phase, 'completed');
    assert.equal(result.containersReady, true);
    assert.deepEqual(result.containers, { done: size.containers, total: size.containers });
    assert.deepEqual(result.columns, { done: size.columns, total: size.columns, running: [] });
    assert.equal(result.continuedAsNew, 2);
    assert.equal(result.counts['table']?.added, 10);
    assert.equal(result.counts['column']?.added, size.columns);
    assert.equal(result.counts['column']?.rejected, 0);

    const { names, rows } = await lakeRowsOf(first);
    assert.equal(rows.size, names.length, 'every asset is in Cassandra exactly once');
    for (const row of rows.values()) assert.notEqual(row.deleted, true);

    const parentRuns = [];
    for await (const run of temporal.workflow.list({
      query: `WorkflowId = '${ingestWorkflowId(tenant, connectionId, 'run-1')}'`,
    })) {
      parentRuns.push(run);
    }
    assert.equal(parentRuns.length, 3, 'the first execution and one per continue-as-new');
    assert.equal((await columnJobsOf('run-1')).length, 3, 'one child workflow per Spark job, filterable by tenant');
  });

  const droppedTable = ['db_0', 'schema_1', 'table_4'];
  const second: RawRecord[] = first
    .filter((record) => record.path.slice(0, 3).join('/') !== droppedTable.join('/'))
    .map((record) =>
      record.kind === 'column' && record.path.join('/') === 'db_0/schema_0/table_0/amount'
        ? { ...record, attributes: { ...record.attributes, data_type: 'numeric(12,4)' } }
        : record,
    );
  second.push(generatedColumn(['db_0', 'schema_0', 'table_1'], 9)); // a new column
  second.push({ kind: 'column', path: ['db_0', 'schema_0', 'table_1', 'broken'], attributes: {} }); // no data type

  it('re-runs idempotently: counts what was added, updated, deleted and rejected since the last run', async () => {
    const result = await ingest('run-2', second);
    assert.equal(result.phase, 'completed');
    assert.deepEqual(result.counts['table'], { added: 0, updated: 0, unchanged: 9, deleted: 1, rejected: 0 });
    assert.deepEqual(result.counts['column'], {
      added: 1,
      updated: 1,
      unchanged: size.columns - shape.columnsPerTable - 1,
      deleted: shape.columnsPerTable,
      rejected: 1,
    });

    const { rows } = await lakeRowsOf(
      first.filter((record) => record.path.slice(0, 3).join('/') === droppedTable.join('/')),
    );
    assert.equal(rows.size, 1 + shape.columnsPerTable);
    for (const row of rows.values()) assert.equal(row.deleted, true, 'a table gone from the source is marked deleted');

    const rejections = await cassandra.execute('SELECT reason FROM rejections WHERE tenant = ? AND run_id = ?', [
      tenant,
      'run-2',
    ]);
    assert.equal(rejections.rowLength, 1);
    assert.match(rejections.rows[0]!.get('reason') as string, /type/i);

    const { rows: runs } = await postgres.query<{ status: string }>(
      'SELECT status FROM runs WHERE tenant = $1 AND connection_id = $2 ORDER BY run_id',
      [tenant, connectionId],
    );
    assert.deepEqual(
      runs.map((run) => run.status),
      ['completed', 'completed'],
    );
  });

  it('re-runs only the buckets whose columns changed, and with nothing changed submits no Spark job', async () => {
    const third = second.filter((record) => record.path.at(-1) !== 'broken');
    const columns = third.filter((record) => record.kind === 'column').length;

    // The bucket of table_1 had a refused line in run-2 (and loses it now): only its job runs.
    const run3 = await ingest('run-3', third);
    assert.equal(run3.phase, 'completed');
    assert.deepEqual(run3.counts['column'], { added: 0, updated: 0, unchanged: columns, deleted: 0, rejected: 0 });
    assert.deepEqual(run3.columns, { done: columns, total: columns, running: [] });
    const jobs3 = await columnJobsOf('run-3');
    assert.equal(jobs3.length, 1, `one Spark job, for the bucket that changed: ${jobs3.join(', ')}`);

    const run4 = await ingest('run-4', third);
    assert.equal(run4.phase, 'completed');
    assert.deepEqual(run4.counts['column'], { added: 0, updated: 0, unchanged: columns, deleted: 0, rejected: 0 });
    assert.deepEqual(await columnJobsOf('run-4'), [], 'no Spark job when no column changed');

    // The state taken over is whole: a run after it that changes one column finds only that one changed.
    const fifth = third.map((record) =>
      record.kind === 'column' && record.path.join('/') === 'db_0/schema_1/table_0/amount'
        ? { ...record, attributes: { ...record.attributes, comment: 'in cents' } }
        : record,
    );
    const run5 = await ingest('run-5', fifth);
    assert.deepEqual(run5.counts['column'], {
      added: 0,
      updated: 1,
      unchanged: columns - 1,
      deleted: 0,
      rejected: 0,
    });
    assert.equal((await columnJobsOf('run-5')).length, 1);
    const { rows } = await lakeRowsOf(fifth.filter((record) => record.kind === 'column'));
    assert.equal(rows.size, columns);
    for (const row of rows.values()) assert.notEqual(row.deleted, true);
  });
});

/** The Spark jobs (child workflows) of a run, found by the tenant's search attributes. */
async function columnJobsOf(runId: string): Promise<string[]> {
  const prefix = `${ingestWorkflowId(tenant, connectionId, runId)}/columns/`;
  const jobs: string[] = [];
  for await (const child of temporal.workflow.list({ query: `TenantId = '${tenant}' AND RunKind = 'ingest'` })) {
    if (child.workflowId.startsWith(prefix)) jobs.push(child.workflowId);
  }
  return jobs;
}
