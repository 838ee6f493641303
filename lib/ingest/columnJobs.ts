import type { IngestProgress, SparkJobProgress } from './contracts.js';

/** A Spark job's share of a run's columns: buckets [from, to). */
export interface ColumnJob {
  from: number;
  to: number;
}

export interface ColumnJobSizing {
  /** Jobs of one wave (started side by side). */
  jobs: number;
  /** Columns a job takes at most, in whole buckets (a bucket over it is a job alone). */
  columnsPerJob: number;
  /** A fixed number of buckets per job instead: how runs started before jobs were sized by columns plan theirs. */
  bucketsPerJob?: number | undefined;
  /** A re-run: a job over buckets without columns may still mark columns of the previous run deleted. */
  rerun: boolean;
  /** Buckets no job takes (their state is reused from the previous run): a job ends before one. */
  skip?: ReadonlySet<number>;
}

/**
 * The next wave's Spark jobs, from bucket `start`, and the bucket the wave after it starts at. Each job pays a Spark
 * application's start and its fixed steps (tens of seconds on a small box), so jobs follow the size of the extract:
 * consecutive buckets are gathered until the next would take a job over `columnsPerJob`, and a source of a few thousand
 * columns is one job. On a first run a job without columns is left out (there is nothing to write or delete).
 */
export function nextColumnJobs(
  columnsPerBucket: readonly number[],
  start: number,
  sizing: ColumnJobSizing,
): { jobs: ColumnJob[]; next: number } {
  const buckets = columnsPerBucket.length;
  const jobs: ColumnJob[] = [];
  const skipped = (bucket: number) => sizing.skip?.has(bucket) === true;
  let from = start;
  while (from < buckets && jobs.length < sizing.jobs) {
    if (skipped(from)) {
      from++;
      continue;
    }
    const end = sizing.bucketsPerJob === undefined ? buckets : Math.min(buckets, from + sizing.bucketsPerJob);
    let to = from + 1;
    let columns = columnsPerBucket[from]!;
    const fits = (bucket: number) =>
      sizing.bucketsPerJob !== undefined || columns + columnsPerBucket[bucket]! <= sizing.columnsPerJob;
    while (to < end && !skipped(to) && fits(to)) columns += columnsPerBucket[to++]!;
    if (sizing.rerun || columns > 0) jobs.push({ from, to });
    from = to;
  }
  return { jobs, next: from };
}

/** The steps of a columns job, in order, as it names them in its progress (spark/load_columns.py). */
const COLUMN_JOB_STEPS = ['read and map', 'diff', 'write rejections', 'write changes', 'write state', 'stop'];
const WRITING = COLUMN_JOB_STEPS.indexOf('write changes');

/**
 * How many of a running job's columns to show as written: none before it writes its changes, the share of rows it
 * has written while it does, all of them after (its state and stop are left). An estimate for a progress bar: the
 * job's result is what counts them.
 */
export function columnsWrittenSoFar(columns: number, progress: SparkJobProgress | undefined): number {
  const step = progress ? COLUMN_JOB_STEPS.indexOf(progress.step) : -1;
  if (!progress || step < WRITING) return 0;
  if (step > WRITING) return columns;
  if (progress.rowsToWrite === 0) return 0;
  return Math.min(columns, Math.floor((columns * progress.rowsWritten) / progress.rowsToWrite));
}

/** The run's columns written so far: the finished jobs' and what the running ones have written. */
export const columnsWrittenNow = ({ columns }: IngestProgress): number =>
  columns.done + (columns.running ?? []).reduce((total, job) => total + (job.written ?? 0), 0);
