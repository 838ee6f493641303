import type { ChangeCounts, CountsByType } from './contracts.js';

/** Adds `more` into `total`, type by type. Pure, so workflows can use it. */
export function addCounts(total: CountsByType, more: CountsByType | undefined): CountsByType {
  for (const [type, counts] of Object.entries(more ?? {})) {
    const into: ChangeCounts = (total[type] ??= { added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });
    into.added += counts.added;
    into.updated += counts.updated;
    into.unchanged += counts.unchanged;
    into.deleted += counts.deleted;
    into.rejected += counts.rejected;
  }
  return total;
}

/** Assets written to the lake per type: those added or updated (unchanged ones are not written again). */
export function writtenByType(counts: CountsByType | undefined): [type: string, written: number][] {
  return Object.entries(counts ?? {})
    .map(([type, { added, updated }]): [string, number] => [type, added + updated])
    .filter(([, written]) => written > 0);
}
