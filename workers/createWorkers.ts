import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { createActivities, createSparkActivities, type ActivityDependencies } from '../activities/index.js';
import { sparkTaskQueue } from '../lib/taskQueues.js';

/** Spark jobs are heavy; the standalone cluster runs this many side by side without starving each other. */
const CONCURRENT_SPARK_JOBS = 2;

/** The two workers of one worker process: workflows and light activities, and the Spark-submitting activities. */
export async function createWorkers(deps: ActivityDependencies): Promise<Worker[]> {
  const { temporal } = deps.config;
  const connection = await NativeConnection.connect({ address: temporal.address });
  const main = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: temporal.taskQueue,
    workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
    activities: createActivities(deps),
  });
  const spark = await Worker.create({
    connection,
    namespace: temporal.namespace,
    taskQueue: sparkTaskQueue(temporal.taskQueue),
    activities: createSparkActivities(deps.config),
    maxConcurrentActivityTaskExecutions: CONCURRENT_SPARK_JOBS,
    // Cancellation reaches an activity with a heartbeat's answer: sent often enough, a cancelled job dies in seconds.
    maxHeartbeatThrottleInterval: '5 seconds',
  });
  return [main, spark];
}
