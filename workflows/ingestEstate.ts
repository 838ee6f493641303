import {
  CancellationScope,
  continueAsNew,
  defineQuery,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import type { ExtractManifest, IngestInput, IngestProgress, PreparedRun, RunStatus } from '../lib/ingest/contracts.js';
import { nextColumnJobs, type ColumnJob } from '../lib/ingest/columnJobs.js';
import { addCounts } from '../lib/ingest/counts.js';
import { rootCause } from '../lib/temporal/failures.js';
import { ContainersReadyAttribute } from '../lib/temporal/searchAttributes.js';
import { ingestColumns } from './ingestColumns.js';

/** What a run carries into its next incarnation: small and bounded, whatever the size of the estate. */
export interface IngestCarry {
  prepared: PreparedRun;
  manifest: ExtractManifest;
  nextBucket: number;
  progress: IngestProgress;
  /** When the containers phase ended (workflow time), for the run's containers-ready metric at its end. */
  containersReadyAt?: string;
  /** Buckets whose column state was taken over from the previous run: no job loads them. */
  reusedBuckets?: number[];
}

export const ingestProgress = defineQuery<IngestProgress>('progress');

const { recordRun, prepareIngestRun, loadContainerBucket, reuseUnchangedColumns } = proxyActivities<Activities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '1 second', maximumInterval: '1 minute', maximumAttempts: 10 },
});
const { extractToS3 } = proxyActivities<Activities>({
  startToCloseTimeout: '12 hours',
  heartbeatTimeout: '1 minute',
  retry: { initialInterval: '5 seconds', maximumInterval: '1 minute', maximumAttempts: 5 },
});

/**
 * 80-20 estate ingestion of one connection. The source's catalog is extracted to S3 once; the containers
 * (databases, schemas, tables, views, keys: ~10%) are loaded first by activities, and the run reports
 * containersReady; the columns (~90%) follow through Spark jobs, one child workflow per group of buckets,
 * launched in waves. The parent continues as new between waves, so its history stays bounded.
 */
export async function ingestEstate(input: IngestInput, carry?: IngestCarry): Promise<IngestProgress> {
  const { tenant, connectionId, runId, options } = input;
  const { workflowId } = workflowInfo();
  const progress: IngestProgress = carry?.progress ?? {
    phase: 'preparing',
    containersReady: false,
    containers: { done: 0, total: 0 },
    columns: { done: 0, total: 0, running: [] },
    counts: {},
    continuedAsNew: 0,
  };
  setHandler(ingestProgress, () => progress);
  const run = { tenant, runId, kind: 'ingest' as const, workflowId, connectionId, requestedBy: input.requestedBy };
  let containersReadyAt = carry?.containersReadyAt;
  const record = (status: RunStatus, error?: string) =>
    recordRun({ ...run, status, counts: progress.counts, error, ...(containersReadyAt && { containersReadyAt }) });

  try {
    let prepared: PreparedRun;
    let manifest: ExtractManifest;
    let reusedBuckets: number[] = carry?.reusedBuckets ?? [];
    if (carry) {
      ({ prepared, manifest } = carry);
    } else {
      await record('running');
      prepared = await prepareIngestRun({ tenant, connectionId, runId });

      progress.phase = 'extracting';
      manifest = await extractToS3({ tenant, connectionId, runId, buckets: options.buckets });
      progress.containers.total = manifest.containers.records;
      progress.columns.total = manifest.columns.records;
      addCounts(progress.counts, manifest.rejected ? { unreadable: rejectedOnly(manifest.rejected) } : undefined);

      progress.phase = 'containers';
      await forEachLimited(range(0, manifest.buckets), options.containerConcurrency, async (bucket) => {
        const loaded = await loadContainerBucket({ tenant, connectionId, runId, bucket, ...prepared });
        progress.containers.done += loaded.records;
        addCounts(progress.counts, loaded.counts);
      });
      progress.containersReady = true;
      containersReadyAt = new Date().toISOString(); // deterministic: the workflow task's time
      upsertSearchAttributes([{ key: ContainersReadyAttribute, value: true }]);
      progress.phase = 'columns';

      // A re-run takes over the state of the buckets whose columns did not change: no Spark job for them (and none at
      // all when nothing changed). Their columns are all unchanged, none refused (or they would not qualify).
      if (prepared.previousRunId !== null && patched('reuse-unchanged-column-buckets')) {
        const { previousRunId, sourceType } = prepared;
        const reuse = { tenant, connectionId, runId, previousRunId, sourceType };
        ({ buckets: reusedBuckets } = await reuseUnchangedColumns(reuse));
        for (const bucket of reusedBuckets) {
          const columns = manifest.columnsPerBucket[bucket] ?? 0;
          progress.columns.done += columns;
          addCounts(progress.counts, { column: { added: 0, updated: 0, unchanged: columns, deleted: 0, rejected: 0 } });
        }
      }
    }

    let bucket = carry?.nextBucket ?? 0;
    for (let wave = 0; bucket < manifest.buckets; wave++) {
      if (wave === options.wavesPerRun || workflowInfo().continueAsNewSuggested) {
        const next: IngestCarry = {
          prepared,
          manifest,
          nextBucket: bucket,
          progress: { ...progress, continuedAsNew: progress.continuedAsNew + 1 },
          ...(containersReadyAt && { containersReadyAt }),
          ...(reusedBuckets.length > 0 && { reusedBuckets }),
        };
        await continueAsNew<typeof ingestEstate>(input, next);
      }
      const { jobs: groups, next } = nextColumnJobs(manifest.columnsPerBucket, bucket, {
        jobs: options.childrenPerWave,
        columnsPerJob: options.columnsPerJob,
        bucketsPerJob: options.bucketsPerColumnsJob,
        rerun: prepared.previousRunId !== null,
        skip: new Set(reusedBuckets),
      });
      const jobWorkflowId = ({ from, to }: ColumnJob) => `${workflowId}/columns/${from}-${to}`;
      progress.columns.running = groups.map((job) => ({
        workflowId: jobWorkflowId(job),
        columns: sum(manifest.columnsPerBucket.slice(job.from, job.to)),
      }));
      const results = await Promise.all(
        groups.map(({ from, to }) =>
          executeChild(ingestColumns, {
            workflowId: jobWorkflowId({ from, to }),
            args: [
              {
                tenant,
                connectionId,
                runId,
                sourceType: prepared.sourceType,
                previousRunId: prepared.previousRunId,
                from,
                to,
              },
            ],
            typedSearchAttributes: workflowInfo().typedSearchAttributes,
          }),
        ),
      );
      for (const [index, { from, to }] of groups.entries()) {
        addCounts(progress.counts, results[index]?.counts);
        progress.columns.done += sum(manifest.columnsPerBucket.slice(from, to));
      }
      progress.columns.running = [];
      // Runs begun before jobs were sized by columns (all with a fixed bucketsPerColumnsJob) replay their waves as
      // they were; the others go on where this wave's jobs ended.
      bucket = patched('column-jobs-sized-by-columns')
        ? next
        : Math.min(manifest.buckets, bucket + options.childrenPerWave * (options.bucketsPerColumnsJob ?? 16));
    }

    progress.phase = 'completed';
    await record('completed');
    return progress;
  } catch (error) {
    const cancelled = isCancellation(error);
    progress.phase = cancelled ? 'cancelled' : 'failed';
    progress.columns.running = [];
    await CancellationScope.nonCancellable(() =>
      cancelled ? record('cancelled') : record('failed', rootCause(error)),
    );
    throw error;
  }
}

const rejectedOnly = (rejected: number) => ({ added: 0, updated: 0, unchanged: 0, deleted: 0, rejected });
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/** Runs `work` over `items`, at most `limit` at a time (deterministic: workflow code). */
async function forEachLimited<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}
