import {
  ApplicationFailure,
  CancellationScope,
  defineQuery,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, SparkActivities } from '../activities/index.js';
import type { RunStatus, SkeletonCompletedPayload, SkeletonInput } from '../lib/ingest/contracts.js';
import { sparkTaskQueue } from '../lib/temporal/taskQueues.js';

/** Kafka commands for a run that already exists arrive here instead of starting it again. */
export const skeletonRequested = defineSignal<[{ eventId: string }]>('skeletonRequested');
export const skeletonStatus = defineQuery<{ step: string; requestedBy: string[] }>('status');

const { writeSampleEstate, publishEvent, recordRun } = proxyActivities<Activities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', maximumInterval: '30 seconds', maximumAttempts: 10 },
});

/**
 * The walking skeleton: one run through every hop. A sample estate goes to S3, a Spark job loads it into
 * Cassandra, a completion event goes out on Kafka, and the run is recorded in PostgreSQL.
 */
export async function skeletonRun(input: SkeletonInput): Promise<SkeletonCompletedPayload> {
  const { workflowId, taskQueue } = workflowInfo();
  const { tenant, runId } = input;
  const spark = proxyActivities<SparkActivities>({
    taskQueue: sparkTaskQueue(taskQueue),
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '5 seconds', maximumAttempts: 3 },
  });
  const requestedBy = new Set<string>();
  let step = 'starting';
  setHandler(skeletonRequested, ({ eventId }) => void requestedBy.add(eventId));
  setHandler(skeletonStatus, () => ({ step, requestedBy: [...requestedBy] }));
  const record = (status: RunStatus, counts: Record<string, number> = {}) =>
    recordRun({ tenant, runId, kind: 'skeleton', workflowId, status, counts });

  try {
    await record('running');

    step = 'writing the sample estate to S3';
    const object = await writeSampleEstate(input);

    step = 'loading it into Cassandra with Spark';
    const loaded = await spark.runSparkJob({
      job: 'load_assets',
      label: `${tenant}-${runId}`,
      args: { tenant, 'run-id': runId },
      objects: { input: object.key },
    });
    if (loaded.written + loaded.rejected !== object.assets) {
      throw ApplicationFailure.nonRetryable(
        `Spark accounted for ${loaded.written + loaded.rejected} of ${object.assets} assets`,
      );
    }

    step = 'publishing the completion event';
    const result: SkeletonCompletedPayload = {
      runId,
      objectKey: object.key,
      assetsWritten: loaded.written,
      assetsRejected: loaded.rejected,
    };
    await publishEvent({
      id: `${workflowId}/completed`,
      type: 'skeleton.completed',
      version: 1,
      tenant,
      source: 'metasync/skeleton',
      occurredAt: new Date().toISOString(),
      payload: result,
    });

    step = 'recording the run';
    await record('completed', { assets: object.assets, written: loaded.written, rejected: loaded.rejected });
    step = 'completed';
    return result;
  } catch (error) {
    step = isCancellation(error) ? 'cancelled' : 'failed';
    await CancellationScope.nonCancellable(() => record(isCancellation(error) ? 'cancelled' : 'failed'));
    throw error;
  }
}
