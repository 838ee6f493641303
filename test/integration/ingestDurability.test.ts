import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IngestInput } from '../../lib/ingest/contracts.js';
import { estateSize, generateEstate, type EstateShape } from '../support/estateGenerator.js';
import { SourceConnection } from '../../lib/extractors/index.js';
import { rootCause } from '../../lib/temporal/failures.js';
import { runObjectKeys } from '../../lib/platform/objectKeys.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import { ingestEstate, ingestProgress } from '../../workflows/index.js';
import { eventually, testConfig, uniqueTenant } from '../support/harness.js';
import { lakeRows, qualifiedNames } from '../support/lake.js';
import { activeSparkApps, processesMentioning, sparkSubmitsMentioning, spawnWorker } from '../support/processes.js';
import { openStack, type Stoppable } from '../support/stack.js';

// Each test has its own task queue (so a worker killed here serves no other test) and its own tenant.
const config = testConfig({ METASYNC_TASK_QUEUE: `metasync-durability-${process.pid}` });
const shape: EstateShape = { databases: 1, schemasPerDatabase: 2, tablesPerSchema: 10, columnsPerTable: 20 };
const size = estateSize(shape);
const estate = [...generateEstate(shape)];
// Two Spark jobs side by side in one wave: long enough to be caught running.
const options: IngestInput['options'] = {
  buckets: 4,
  containerConcurrency: 4,
  columnsPerJob: 1_000_000,
  bucketsPerColumnsJob: 2, // several small jobs, whatever their size
  childrenPerWave: 2,
  wavesPerRun: 4,
};

const stack = openStack(config);
const { cassandra, postgres, temporal } = stack;
const store = objectStore(stack.s3, config.s3.bucket);

/** A tenant with one connection: an NDJSON dump of `estate` unless another source is given. */
async function tenantWithConnection(name: string, source?: SourceConnection) {
  const tenant = uniqueTenant(name);
  const dumpKey = `tenants/${tenant}/dumps/estate.ndjson.gz`;
  if (!source)
    await store.putNdjsonGz(
      dumpKey,
      estate.map((record) => JSON.stringify(record)),
    );
  await saveConnection(
    postgres,
    config.secretsKey,
    tenant,
    'warehouse',
    source ?? { type: 'ndjson', uri: `s3://${config.s3.bucket}/${dumpKey}` },
  );
  return tenant;
}

function startRun(tenant: string): Promise<WorkflowHandle<typeof ingestEstate>> {
  return temporal.workflow.start(ingestEstate, {
    workflowId: ingestWorkflowId(tenant, 'warehouse', 'run-1'),
    taskQueue: config.temporal.taskQueue,
    args: [{ tenant, connectionId: 'warehouse', runId: 'run-1', options }],
    typedSearchAttributes: runSearchAttributes(tenant, 'ingest', 'warehouse'),
  });
}

/** Waits until both of the run's Spark jobs are running, and returns their spark-submit pids. */
const runningJobs = (tenant: string) =>
  eventually(
    () => {
      const pids = sparkSubmitsMentioning(tenant);
      return pids.length === 2 ? pids : undefined;
    },
    180_000,
    `two Spark jobs of ${tenant}`,
  );

const noProcessesOf = (tenant: string, timeoutMs: number) =>
  eventually(() => (processesMentioning(tenant).length === 0 ? true : undefined), timeoutMs, `no process of ${tenant}`);

/** Every asset of the estate is in the lake once, live; and the run counted each exactly once. */
async function assertExactlyLanded(tenant: string, result: Awaited<ReturnType<typeof ingestEstate>>) {
  assert.equal(result.phase, 'completed');
  assert.deepEqual(result.containers, { done: size.containers, total: size.containers });
  assert.deepEqual(result.columns, { done: size.columns, total: size.columns, running: [] });
  assert.deepEqual(result.counts['column'], { added: size.columns, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });
  assert.equal(result.counts['table']?.added, shape.schemasPerDatabase * shape.tablesPerSchema);

  const names = qualifiedNames(estate, 'ndjson', 'warehouse');
  const landed = await lakeRows(cassandra, tenant, names);
  assert.equal(landed.size, names.length, 'every asset of the source is in the lake');
  for (const [name, row] of landed) assert.notEqual(row.deleted, true, `${name} is live`);

  const { rows } = await postgres.query<{ status: string }>('SELECT status FROM runs WHERE tenant = $1', [tenant]);
  assert.deepEqual(rows, [{ status: 'completed' }]);
}

/** Attempts the run's Spark activities took, from the children's histories. */
async function sparkAttempts(tenant: string): Promise<number[]> {
  const attempts: number[] = [];
  for await (const child of temporal.workflow.list({ query: `TenantId = '${tenant}'` })) {
    if (!child.workflowId.includes('/columns/')) continue;
    const history = await temporal.workflow.getHandle(child.workflowId, child.runId).fetchHistory();
    for (const event of history.events ?? []) {
      if (event.activityTaskStartedEventAttributes)
        attempts.push(event.activityTaskStartedEventAttributes.attempt ?? 1);
    }
  }
  return attempts;
}

describe('estate ingestion under failure', () => {
  after(() => stack.close());

  it('a worker killed mid-run takes its Spark jobs with it, and after a restart the run lands every asset once', async () => {
    const tenant = await tenantWithConnection('durable-worker');
    const first = spawnWorker(config, `test-worker-${tenant}`);
    const handle = await startRun(tenant);
    const jobs = await runningJobs(tenant);
    assert.equal(jobs.length, 2);

    first.kill('SIGKILL');
    await first;
    await noProcessesOf(tenant, 30_000); // the orphaned jobs noticed their worker is gone

    const second = spawnWorker(config, `test-worker-${tenant}`);
    try {
      await assertExactlyLanded(tenant, await handle.result());
      assert.ok(
        (await sparkAttempts(tenant)).some((attempt) => attempt > 1),
        'the jobs ran again',
      );
    } finally {
      second.kill('SIGTERM');
      await second;
    }
  });

  describe('with an in-process worker', () => {
    let workers: Stoppable;
    before(async () => {
      workers = await stack.workers();
    });
    after(async () => {
      await workers?.stop();
    });

    it('a Spark job killed mid-run is retried, and the run lands every asset once', async () => {
      const tenant = await tenantWithConnection('durable-spark');
      const handle = await startRun(tenant);
      const [victim] = await runningJobs(tenant);
      process.kill(victim!, 'SIGKILL');

      await assertExactlyLanded(tenant, await handle.result());
      const attempts = await sparkAttempts(tenant);
      assert.deepEqual(attempts.toSorted(), [1, 2], 'one job ran once, the killed one twice');
      await noProcessesOf(tenant, 10_000);
    });

    it('cancelling a run kills its Spark jobs before the run reports cancelled', async () => {
      const tenant = await tenantWithConnection('cancelled');
      const handle = await startRun(tenant);
      await runningJobs(tenant);

      await handle.cancel();
      await assert.rejects(handle.result(), (error: unknown) => error instanceof WorkflowFailedError);
      assert.deepEqual(sparkSubmitsMentioning(tenant), [], 'no spark-submit of the run is left');
      assert.equal((await handle.query(ingestProgress)).phase, 'cancelled');
      await eventually(
        async () => ((await activeSparkApps(config)).some((name) => name.includes(tenant)) ? undefined : true),
        15_000,
        'the Spark master to have no application of the run',
      );
      await noProcessesOf(tenant, 10_000);
      const { rows } = await postgres.query<{ status: string }>('SELECT status FROM runs WHERE tenant = $1', [tenant]);
      assert.deepEqual(rows, [{ status: 'cancelled' }]);
    });

    for (const { name, source, expected, retried } of [
      {
        name: 'refuses the credentials',
        source: { password: 'not-the-password' },
        expected: /ExtractionError:authentication/,
        retried: false,
      },
      {
        name: 'has no such database',
        source: { database: 'no_such_database' },
        expected: /ExtractionError:not_found/,
        retried: false,
      },
      // Retried (a source may come back), then failed with the reason: about 75 s of back-off.
      { name: 'is unreachable', source: { port: 1 }, expected: /ExtractionError:unreachable/, retried: true },
    ]) {
      it(`a source that ${name} fails the run with the reason, and writes nothing`, async () => {
        const tenant = await tenantWithConnection(
          name.replaceAll(' ', '-').slice(0, 20),
          SourceConnection.parse({
            type: 'postgres',
            host: '127.0.0.1',
            port: 5432,
            user: 'metasync',
            password: 'metasync',
            // The stack's server is the control plane's too, whose own database no connection may reach.
            database: 'postgres',
            ...source,
          }),
        );
        const handle = await startRun(tenant);
        const failure = await handle.result().then(
          () => assert.fail('the run should fail'),
          (error: unknown) => error,
        );
        assert.ok(failure instanceof WorkflowFailedError);
        assert.match(rootCause(failure), expected);

        const { rows } = await postgres.query<{ status: string; error: string }>(
          'SELECT status, error FROM runs WHERE tenant = $1',
          [tenant],
        );
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, 'failed');
        assert.match(rows[0]!.error, expected, 'the run record says why');
        const history = await handle.fetchHistory();
        const attempts = (history.events ?? []).flatMap((event) =>
          event.activityTaskStartedEventAttributes?.attempt ? [event.activityTaskStartedEventAttributes.attempt] : [],
        );
        assert.equal(Math.max(...attempts) > 1, retried, retried ? 'retried' : 'not retried: retrying cannot help');

        const keys = runObjectKeys(tenant, 'warehouse', 'run-1');
        assert.equal(await store.exists(keys.manifest), false, 'no manifest');
        for await (const part of store.list(keys.rawPrefix)) assert.fail(`a raw part was left: ${part}`);
        const database = qualifiedNames(
          [{ kind: 'database', path: ['postgres'], attributes: {} }],
          'postgres',
          'warehouse',
        );
        assert.equal((await lakeRows(cassandra, tenant, database)).size, 0, 'nothing in the lake');
      });
    }
  });
});
