import { createHash } from 'node:crypto';
import type { ChangeCounts } from '../ingest/contracts.js';
import type { LineageEdge } from './contracts.js';
import type { EdgeKey } from '../stores/lineage.js';

/** What a later statement of the same edges is diffed against: the edge's identity and a digest of the rest. */
export interface EdgeState extends EdgeKey {
  fingerprint: string;
  /** What stated the edge (a foreign key's or a view's qualified name), when the source keeps that apart. */
  owner?: string;
}

export const edgeKey = (edge: EdgeKey): string => JSON.stringify([edge.upstream, edge.downstream, edge.origin]);

export const edgeFingerprint = (edge: LineageEdge): string =>
  createHash('sha256')
    .update(JSON.stringify([edge.level, edge.kind, edge.propagates, edge.transformation, edge.downstreamType]))
    .digest('hex')
    .slice(0, 32);

/**
 * One edge per identity, the first statement winning: two foreign keys between the same tables make one
 * table-level edge, named after the first key in the source's order (which is fixed, so every run picks the same).
 */
export function distinctEdges<T extends { edge: LineageEdge }>(stated: readonly T[]): T[] {
  const seen = new Set<string>();
  return stated.filter(({ edge }) => {
    const key = edgeKey(edge);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export interface EdgeDiff {
  /** New or different since the previous statement: to upsert. */
  changed: LineageEdge[];
  /** Stated before and not now: to delete. */
  gone: EdgeState[];
  /** Stated before, not now, and kept all the same (see `keep`). */
  kept: EdgeState[];
  counts: ChangeCounts;
}

/**
 * Diffs what a source states now (distinct edges) against what it stated last time. `keep` spares a previous edge
 * that is not restated, e.g. because the record that stated it was rejected this time: bad input is not a deletion.
 */
export function diffEdges(
  previous: Iterable<EdgeState>,
  next: readonly LineageEdge[],
  keep: (state: EdgeState) => boolean = () => false,
): EdgeDiff {
  const before = new Map<string, EdgeState>();
  for (const state of previous) before.set(edgeKey(state), state);
  const counts: ChangeCounts = { added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0 };
  const changed: LineageEdge[] = [];
  for (const edge of next) {
    const key = edgeKey(edge);
    const state = before.get(key);
    before.delete(key);
    if (state?.fingerprint === edgeFingerprint(edge)) {
      counts.unchanged++;
      continue;
    }
    if (state) counts.updated++;
    else counts.added++;
    changed.push(edge);
  }
  const gone: EdgeState[] = [];
  const kept: EdgeState[] = [];
  for (const state of before.values()) (keep(state) ? kept : gone).push(state);
  counts.deleted = gone.length;
  return { changed, gone, kept, counts };
}
