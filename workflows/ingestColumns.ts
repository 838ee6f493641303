import { ActivityCancellationType, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { SparkActivities } from '../activities/index.js';
import type { CountsByType, SourceType } from '../lib/ingest/contracts.js';
import { connectionRunPrefix } from '../lib/platform/objectKeys.js';
import { sparkTaskQueue } from '../lib/temporal/taskQueues.js';

export interface ColumnsInput {
  tenant: string;
  connectionId: string;
  sourceType: SourceType;
  runId: string;
  previousRunId: string | null;
  /** Buckets [from, to) of the run's raw columns. */
  from: number;
  to: number;
}

/**
 * The columns of a group of buckets, loaded by one Spark job. The job reads the raw parts from S3, applies the
 * run's mapping rules, diffs against the previous run's state and writes to Cassandra. Cancelling this workflow
 * cancels the activity, which kills spark-submit and with it the job.
 */
export async function ingestColumns(
  input: ColumnsInput,
): Promise<{ written: number; rejected: number; counts?: CountsByType }> {
  const { runSparkJob } = proxyActivities<SparkActivities>({
    taskQueue: sparkTaskQueue(workflowInfo().taskQueue),
    startToCloseTimeout: '6 hours',
    // A lost worker is noticed within this; its job has ended by then too (the job exits with its owner).
    heartbeatTimeout: '30 seconds',
    retry: { initialInterval: '10 seconds', maximumAttempts: 5 },
    // A cancelled run ends only once spark-submit is killed, so nothing of it still writes afterwards.
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const runPrefix = (runId: string) => connectionRunPrefix(input.tenant, input.connectionId, runId).replace(/\/$/, '');
  return runSparkJob({
    job: 'load_columns',
    label: `${input.tenant}-${input.connectionId}-${input.runId}-b${input.from}-${input.to}`,
    args: {
      tenant: input.tenant,
      'connection-id': input.connectionId,
      'source-type': input.sourceType,
      'run-id': input.runId,
      buckets: `${input.from}-${input.to}`,
    },
    objects: {
      'run-prefix': runPrefix(input.runId),
      ...(input.previousRunId ? { 'previous-run-prefix': runPrefix(input.previousRunId) } : {}),
      rules: `${runPrefix(input.runId)}/rules.json`,
    },
  });
}
