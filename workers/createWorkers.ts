import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities, createSparkActivities, type ActivityDependencies } from '../activities/index.js';
import { openingKeys } from '../lib/platform/secrets.js';
import { sparkTaskQueue } from '../lib/temporal/taskQueues.js';
import { boundedFailures } from '../lib/temporal/boundedFailures.js';

/** Spark jobs are heavy; the standalone cluster runs this many side by side without starving each other. */
const CONCURRENT_SPARK_JOBS = 2;

/** The two workers of one worker process: workflows and light activities, and the Spark-submitting activities. */
export async function createWorkers(deps: ActivityDependencies): Promise<Worker[]> {
  const { temporal, s3, secretsKey } = deps.config;
  // Failures leave for histories and logs bounded, and with the worker's own secrets masked.
  const interceptors = {
    activity: [
      boundedFailures([s3.secretAccessKey, ...openingKeys(secretsKey).map(({ key }) => key.toString('base64'))]),
    ],
  };
  const connection = await NativeConnection.connect({ address: temporal.address });
  const main = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: createActivities(deps),
    interceptors,
  });
  const spark = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: sparkTaskQueue(temporal.taskQueue),
    activities: createSparkActivities(deps.config),
    interceptors,
    maxConcurrentActivityTaskExecutions: CONCURRENT_SPARK_JOBS,
    // Cancellation reaches an activity with a heartbeat's answer: sent often enough, a cancelled job dies in seconds.
    maxHeartbeatThrottleInterval: '5 seconds',
  });
  return [main, spark];
}
