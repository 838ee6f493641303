import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities, createSparkActivities, type ActivityDependencies } from '../activities/index.js';
import { openingKeys } from '../lib/platform/secrets.js';
import { sparkTaskQueue } from '../lib/temporal/taskQueues.js';
import { activityLogFields } from '../lib/temporal/activityLogFields.js';
import { boundedFailures } from '../lib/temporal/boundedFailures.js';
import { temporalWorkerTelemetry } from '../lib/platform/telemetry.js';

/** Spark jobs are heavy; the standalone cluster runs this many side by side without starving each other. */
const CONCURRENT_SPARK_JOBS = 2;

/** The two workers of one worker process: workflows and light activities, and the Spark-submitting activities. */
export async function createWorkers(deps: ActivityDependencies): Promise<Worker[]> {
  const { temporal, s3, secretsKey } = deps.config;
  // Failures leave for histories and logs bounded, and with the worker's own secrets masked.
  // Traces (when this process is traced): workflow interceptors in the bundle, activity spans, and the sink the
  // workflows' spans leave the sandbox through.
  const traced = temporalWorkerTelemetry();
  const interceptors = {
    activity: [
      ...(traced?.activity ?? []),
      activityLogFields,
      boundedFailures([s3.secretAccessKey, ...openingKeys(secretsKey).map(({ key }) => key.toString('base64'))]),
    ],
    ...(traced && { workflowModules: traced.workflowModules }),
  };
  const connection = await NativeConnection.connect({ address: temporal.address });
  const main = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: createActivities(deps),
    interceptors,
    ...(traced && { sinks: traced.sinks }),
  });
  const spark = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: sparkTaskQueue(temporal.taskQueue),
    activities: createSparkActivities(deps.config),
    interceptors: { activity: interceptors.activity },
    maxConcurrentActivityTaskExecutions: CONCURRENT_SPARK_JOBS,
    // Cancellation reaches an activity with a heartbeat's answer: sent often enough, a cancelled job dies in seconds,
    // and its progress (in the heartbeat) is never more than a few seconds old.
    maxHeartbeatThrottleInterval: '3 seconds',
  });
  return [main, spark];
}
