import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runProgress } from '../../control/ingestRuns.js';
import { columnsWrittenNow } from '../../lib/ingest/columnJobs.js';
import { IngestOptions, type RawRecord } from '../../lib/ingest/contracts.js';
import { loadDefaultRules, mapRecord } from '../../lib/mapping/index.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import { ingestEstate } from '../../workflows/index.js';
import { estateSize, generateEstate, type EstateShape } from '../support/estateGenerator.js';
import { testConfig, uniqueTenant } from '../support/harness.js';
import { lakeRows, qualifiedNames } from '../support/lake.js';
import { openStack } from '../support/stack.js';

const config = testConfig();
const connectionId = 'warehouse';
const options = IngestOptions.parse({ buckets: 8 });

const stack = openStack(config);

/** A tenant whose connection is an NDJSON dump of `records`, and the start of its first run. */
async function startRun(name: string, records: RawRecord[]) {
  const tenant = uniqueTenant(name);
  const dumpKey = `tenants/${tenant}/dumps/estate.ndjson.gz`;
  await objectStore(stack.s3, config.s3.bucket).putNdjsonGz(
    dumpKey,
    records.map((record) => JSON.stringify(record)),
  );
  await saveConnection(stack.postgres, config.secretsKey, tenant, connectionId, {
    type: 'ndjson',
    uri: `s3://${config.s3.bucket}/${dumpKey}`,
  });
  const workflowId = ingestWorkflowId(tenant, connectionId, 'run-1');
  const handle = await stack.temporal.workflow.start(ingestEstate, {
    workflowId,
    taskQueue: config.temporal.taskQueue,
    args: [{ tenant, connectionId, runId: 'run-1', options }],
    typedSearchAttributes: runSearchAttributes(tenant, 'ingest', connectionId),
  });
  return { tenant, workflowId, handle };
}

describe('a columns Spark job', () => {
  before(() => stack.workers());
  after(() => stack.close());

  it('shows its progress while it writes, in the steps it names, and never back', async () => {
    // 120,000 columns: one job whose writes take five tasks each (25,000 lines a task), long enough to watch.
    const shape: EstateShape = { databases: 1, schemasPerDatabase: 2, tablesPerSchema: 600, columnsPerTable: 100 };
    const { workflowId, handle } = await startRun('columns-progress', [...generateEstate(shape)]);
    const { columns: total } = estateSize(shape);
    const seen: { written: number; steps: string[] }[] = [];
    let settled = false;
    const result = handle.result().finally(() => (settled = true));
    while (!settled) {
      const progress = await runProgress(stack.temporal, workflowId);
      if (progress?.phase === 'columns') {
        const steps = (progress.columns.running ?? []).flatMap((job) => (job.step ? [job.step] : []));
        seen.push({ written: columnsWrittenNow(progress), steps });
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const final = await result;
    assert.equal(final.phase, 'completed');
    assert.equal(final.counts['column']?.added, total);

    const steps = [...new Set(seen.flatMap((sample) => sample.steps))];
    assert.ok(steps.includes('read and map') && steps.includes('write changes'), `steps seen: ${steps.join(', ')}`);
    const between = seen.filter(({ written }) => written > 0 && written < total).map(({ written }) => written);
    assert.ok(
      new Set(between).size >= 2,
      `columns written moves within the job (not one jump at its end): ${JSON.stringify(seen.map((s) => s.written))}`,
    );
    for (const [index, sample] of seen.entries()) {
      if (index > 0) assert.ok(sample.written >= seen[index - 1]!.written, 'columns written never goes back');
    }
  });

  it('keeps the first line that names a column and refuses the others as duplicates', async () => {
    const shape: EstateShape = { databases: 1, schemasPerDatabase: 1, tablesPerSchema: 2, columnsPerTable: 3 };
    const estate = [...generateEstate(shape)];
    const first = estate.findIndex((record) => record.kind === 'column');
    const original = estate[first]!;
    const again = { ...original, attributes: { ...original.attributes, data_type: 'text', comment: 'again' } };
    const { tenant, handle } = await startRun('columns-duplicates', [...estate, again]);
    const result = await handle.result();
    assert.equal(result.phase, 'completed');
    assert.equal(result.counts['column']?.added, estateSize(shape).columns);
    assert.equal(result.counts['column']?.rejected, 1);

    const [name] = qualifiedNames([original], 'ndjson', connectionId);
    const rows = await lakeRows(stack.cassandra, tenant, [name!]);
    const firstType = mapRecordOk(original).dataType;
    assert.equal(rows.get(name!)?.dataType, firstType, "the lake holds the first line's column");
    const rejections = await stack.cassandra.execute(
      'SELECT source_ref, reason FROM rejections WHERE tenant = ? AND run_id = ?',
      [tenant, 'run-1'],
      { prepare: true },
    );
    assert.equal(rejections.rowLength, 1);
    const [rejection] = rejections.rows;
    assert.match(
      rejection!.get('reason') as string,
      /^duplicate qualified name, first seen at raw\/columns\/b\d+\/part-\d+\.ndjson\.gz:\d+$/,
    );
    assert.notEqual(rejection!.get('source_ref'), (rejection!.get('reason') as string).split(' at ')[1]);
  });
});

function mapRecordOk(record: RawRecord) {
  const mapped = mapRecord(record, { sourceType: 'ndjson', connectionId }, loadDefaultRules());
  assert.ok(mapped.ok);
  return mapped.asset;
}
