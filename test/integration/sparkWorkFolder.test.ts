import type { Client as TemporalClient } from '@temporalio/client';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { connectTemporal, createPostgres } from '../../lib/platform/clients.js';
import { sampleEstateSize } from '../../lib/ingest/sampleEstate.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { skeletonWorkflowId } from '../../lib/temporal/workflowIds.js';
import { skeletonRun } from '../../workflows/index.js';
import { runWorkers, testConfig, uniqueId } from '../support/harness.js';
import { processesMentioning } from '../support/processes.js';

const config = testConfig();
const tenant = uniqueId('sparkwork').toLowerCase();
const postgres = createPostgres(config.postgres);
/** What a job may leave in the worker's work folder: its executor's logs and the mapping rules (--py-files). */
const MAX_BYTES_PER_JOB = 1024 * 1024;

/**
 * The work folder of the Spark worker serving this config's master: the `--work-dir` on its command line. The stack's
 * worker runs on this machine (stack/services/spark.sh), whichever checkout started it.
 */
function sparkWorkFolder(): string {
  for (const pid of processesMentioning('org.apache.spark.deploy.worker.Worker')) {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const workDir = args[args.indexOf('--work-dir') + 1];
    if (args.includes(config.spark.master) && args.includes('--work-dir') && workDir) return workDir;
  }
  throw new Error(`no Spark worker of ${config.spark.master} with a --work-dir runs here: bash stack/up.sh spark`);
}

/** Bytes under a folder, and the jars among its files. */
function usage(folder: string): { bytes: number; jars: string[] } {
  let bytes = 0;
  const jars: string[] = [];
  for (const entry of readdirSync(folder, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    bytes += statSync(join(entry.parentPath, entry.name)).size;
    if (entry.name.endsWith('.jar')) jars.push(entry.name);
  }
  return { bytes, jars };
}

/** The id the master gave the run's load_assets application (spark/load_assets.py names it). */
async function sparkAppId(runId: string): Promise<string> {
  const state = z
    .object({ completedapps: z.array(z.object({ id: z.string(), name: z.string() })).default([]) })
    .parse(await (await fetch(`${config.spark.uiUrl}/json/`)).json());
  const app = state.completedapps.find((candidate) => candidate.name === `load_assets ${tenant} ${runId}`);
  assert.ok(app, `the master lists the Spark application of ${runId}`);
  return app.id;
}

describe('Spark jobs leave the worker work folder bounded', () => {
  let temporal: TemporalClient;
  let workers: { stop(): Promise<void> };
  const workFolder = sparkWorkFolder();

  before(async () => {
    await saveTenant(postgres, tenant);
    temporal = await connectTemporal(config.temporal);
    workers = await runWorkers(config);
  });

  after(async () => {
    await workers?.stop();
    await temporal?.connection.close();
    await postgres.end();
  });

  it('adds no more than its logs and rules per job, however many jobs run', async () => {
    for (const runId of ['run-1', 'run-2', 'run-3']) {
      const input = { tenant, runId, tables: 2, columnsPerTable: 2 };
      // The skeleton's load_assets job, submitted by the worker's activity (activities/spark.ts) as every job is.
      const result = await temporal.workflow.execute(skeletonRun, {
        workflowId: skeletonWorkflowId(tenant, runId),
        taskQueue: config.temporal.taskQueue,
        args: [input],
        typedSearchAttributes: runSearchAttributes(tenant, 'skeleton'),
      });
      assert.equal(result.assetsWritten, sampleEstateSize(2, 2), `${runId} loaded its assets through Spark`);

      const appFolder = join(workFolder, await sparkAppId(runId));
      assert.ok(existsSync(appFolder), `the worker ran an executor of ${runId} in ${appFolder}`);
      const { bytes, jars } = usage(appFolder);
      assert.deepEqual(jars, [], `no jar copied into ${appFolder}`);
      assert.ok(bytes < MAX_BYTES_PER_JOB, `${runId} added ${bytes} bytes to the work folder`);

      // Its executor loaded the jars from the folder every worker has (the header of the executor's own log).
      const executors = readdirSync(appFolder);
      const command = readFileSync(join(appFolder, executors[0]!, 'stderr'), 'utf8').split('\n')[0] ?? '';
      assert.ok(command.includes(`${config.spark.executorJarsDir}/*`), `the executor's class path: ${command}`);
    }
  });
});
