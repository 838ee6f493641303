import type { ColumnJobRecord } from './contracts.js';

/** The code and rules a run maps its columns with, as its jobs record them. */
export type MappingIdentity = Omit<ColumnJobRecord, 'rejected'>;

/** A complete columns job of the previous run: its state folder and what it recorded. */
export interface PreviousColumnJob {
  dir: string;
  record: ColumnJobRecord;
}

/**
 * The buckets whose columns a re-run need not load again, each with the previous run's state folder that holds it.
 * A bucket qualifies when its column lines are the same bytes in the same order as in the previous run, the job that
 * loaded it mapped with the same code, rules, source type and connection, and refused none of its lines: the same job
 * would then find every column unchanged and write nothing but the same state (and no rejection, so the run's counts
 * stay exact). A bucket that two previous jobs claim is left to a job.
 */
export function reusableColumnBuckets(input: {
  current: MappingIdentity;
  digests: readonly string[];
  previousDigests: readonly string[] | undefined;
  previousJobs: readonly PreviousColumnJob[];
}): Map<number, string> {
  const { current, digests, previousDigests } = input;
  const reusable = new Map<number, string>();
  if (!previousDigests || previousDigests.length !== digests.length) return reusable;
  const claimed = new Map<number, number>();
  for (const { record } of input.previousJobs) {
    for (const bucket of Object.keys(record.rejected))
      claimed.set(Number(bucket), (claimed.get(Number(bucket)) ?? 0) + 1);
  }
  for (const { dir, record } of input.previousJobs) {
    const same =
      record.engine === current.engine &&
      record.rules === current.rules &&
      record.sourceType === current.sourceType &&
      record.connectionId === current.connectionId;
    if (!same) continue;
    for (const [key, rejected] of Object.entries(record.rejected)) {
      const bucket = Number(key);
      if (!Number.isInteger(bucket) || bucket < 0 || bucket >= digests.length) continue;
      if (rejected === 0 && claimed.get(bucket) === 1 && digests[bucket] === previousDigests[bucket]) {
        reusable.set(bucket, dir);
      }
    }
  }
  return reusable;
}
