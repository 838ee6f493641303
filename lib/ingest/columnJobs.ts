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
