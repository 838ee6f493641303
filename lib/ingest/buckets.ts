import type { RawRecord } from './contracts.js';
import type { IngestPhase } from '../platform/objectKeys.js';

/**
 * Columns are the 90%: they go through Spark. Everything else lands first: containers, and lineage records, which
 * are edges for the containers phase to write (the Spark job maps assets only).
 */
export const phaseOf = (record: RawRecord): IngestPhase => (record.kind === 'column' ? 'columns' : 'containers');

/**
 * The bucket of a record: a hash of its table's path (its own path for containers above tables), so a table,
 * its columns and its foreign keys always share a bucket, run after run. A lineage record has its view's path, so a
 * view and what it reads share one too, and the next run diffs the view's edges in the same bucket.
 */
export function bucketOf(record: RawRecord, buckets: number): number {
  const owner = record.kind === 'column' || record.kind === 'foreign_key' ? record.path.slice(0, -1) : record.path;
  return fnv1a32(owner.join('\u0000')) % buckets;
}

/** FNV-1a, 32 bit, over UTF-16 code units: fast, stable across processes and Node versions. */
function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
