import type { ChangeCounts, CountsByType, LoadedAsset, RawRecord, Rejection, SourceType } from './contracts.js';
import type { LineageEdge } from '../lineage/contracts.js';
import { catalogEdges, catalogOrigin, type StatedEdges } from '../lineage/catalog.js';
import { diffEdges, distinctEdges, edgeFingerprint, type EdgeState } from '../lineage/edges.js';
import { namingContext, type NamingContext } from '../lineage/names.js';
import { mapUntrustedRecord, recordShapeProblem, type MapResult, type RuleSet } from '../mapping/index.js';

/**
 * The containers phase of a run, for one bucket: every raw record mapped with the run's rules and diffed against
 * what the previous run saved of the same bucket. Pure: the activity (activities/containers.ts) reads the raw parts
 * and the previous state, hands them here line by line, and writes what `finish` returns.
 */

/** One asset's line in a bucket's state: q its qualified name, t its type, f its fingerprint, p its parent. */
interface AssetStateLine {
  q: string;
  t: string;
  f: string;
  p: string | null;
}

/**
 * An edge's line in the same state: t is 'lineage', q the upstream, d the downstream, r what stated it (a foreign
 * key's or a view's qualified name). The origin is always the connection's catalog.
 */
interface EdgeStateLine {
  t: 'lineage';
  q: string;
  d: string;
  f: string;
  r: string | null;
}

/** What the previous run saved of a bucket, read back. */
export interface ContainerState {
  assets: Map<string, AssetStateLine>;
  edges: EdgeState[];
}

/** The counts key of the edges a run states: lineage is not an asset type. */
const LINEAGE = 'lineage' as const;
/** A rejection keeps at most this much of its record. */
const REJECTED_RECORD_CHARS = 10_000;

const emptyCounts = (): ChangeCounts => ({ added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });

/** A bucket's saved state, from its lines (as the previous run's `state` wrote them); no lines, no state. */
export function readContainerState(lines: Iterable<string>, connectionId: string): ContainerState {
  const assets = new Map<string, AssetStateLine>();
  const edges: EdgeState[] = [];
  const origin = catalogOrigin(connectionId);
  for (const line of lines) {
    const entry = JSON.parse(line) as AssetStateLine | EdgeStateLine;
    if (entry.t === LINEAGE) {
      const { q, d, f, r } = entry as EdgeStateLine;
      edges.push({ upstream: q, downstream: d, origin, fingerprint: f, owner: r ?? undefined });
    } else {
      assets.set(entry.q, entry as AssetStateLine);
    }
  }
  return { assets, edges };
}

/** What one bucket's load writes. Every write is an upsert, so writing it twice (a retry) changes nothing. */
export interface ContainerChanges {
  /** Raw records read. */
  records: number;
  counts: CountsByType;
  /** New or changed since the previous run: to upsert. */
  changed: LoadedAsset[];
  /** In the previous run and not in this one: gone from the source, to mark deleted. */
  gone: { qualifiedName: string; parent: string | null }[];
  edges: {
    /** Stated now and new or different: to upsert. */
    changed: LineageEdge[];
    /** Stated before and no longer: to delete. */
    gone: EdgeState[];
  };
  /** Records kept with the reason they were refused. */
  rejections: Rejection[];
  /** The bucket's state for the next run to diff against, one JSON line each. */
  state: string[];
}

export interface ContainerDiffContext {
  sourceType: SourceType;
  connectionId: string;
  /** The rules the run froze when it started. */
  rules: RuleSet;
}

/**
 * Diffs one bucket's raw container records, fed one line at a time, against `previous` (which it takes over).
 * An asset new or changed since the previous run is to write; one the previous run had and this one did not see is
 * gone; a record that fails the rules is rejected, and an asset the lake already has for it stays as it was (bad
 * input is not a deletion). Lineage records and foreign keys also state edges, diffed the same way: an edge no
 * longer stated (its view was dropped) is gone, and a rejected record's edges stay.
 */
export function containerDiff(context: ContainerDiffContext, previous: ContainerState) {
  const naming = namingContext(context.sourceType, context.connectionId, context.rules);
  const counts: CountsByType = {};
  const countsOf = (type: string) => (counts[type] ??= emptyCounts());
  const changed: LoadedAsset[] = [];
  const rejections: Rejection[] = [];
  const state: AssetStateLine[] = [];
  const stated: { edge: LineageEdge; owner: string }[] = [];
  const rejectedOwners = new Set<string>();
  let records = 0;

  /** One raw line; `sourceRef` says where it was read, for its rejection if it is refused. */
  function add(line: string, sourceRef: string): void {
    records++;
    const reject = (kind: string, path: string | undefined, reason: string) => {
      countsOf(kind).rejected++;
      rejections.push({ sourceRef, kind, path: path ?? '', reason, record: line.slice(0, REJECTED_RECORD_CHARS) });
    };
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      reject('unknown', undefined, `malformed JSON: ${(error as Error).message}`);
      return;
    }
    const edges = statedEdges(value, naming);
    if (edges) {
      if (edges.ok) stated.push(...edges.edges.map((edge) => ({ edge, owner: edges.owner })));
      else reject(LINEAGE, JSON.stringify(edges.record.path), edges.reason);
      if (!edges.ok && edges.owner !== undefined) rejectedOwners.add(edges.owner);
      if (edges.record.kind === LINEAGE) return;
    }

    const mapped = mapValue(value, context);
    if (!mapped.ok) {
      reject(mapped.kind ?? 'unknown', mapped.path, mapped.reason);
      const known = mapped.qualifiedName === undefined ? undefined : previous.assets.get(mapped.qualifiedName);
      if (known) {
        previous.assets.delete(known.q);
        state.push(known);
      }
      return;
    }
    const { asset, fingerprint } = mapped;
    const before = previous.assets.get(asset.qualifiedName);
    previous.assets.delete(asset.qualifiedName);
    if (!before) countsOf(asset.assetType).added++;
    else if (before.f !== fingerprint) countsOf(asset.assetType).updated++;
    else countsOf(asset.assetType).unchanged++;
    if (before?.f !== fingerprint) changed.push({ asset, fingerprint });
    state.push({ q: asset.qualifiedName, t: asset.assetType, f: fingerprint, p: asset.parentQualifiedName });
  }

  /** Once every line is in: what to write. */
  function finish(): ContainerChanges {
    // What the previous run had and this one did not see is gone from the source.
    const gone = [...previous.assets.values()];
    for (const entry of gone) countsOf(entry.t).deleted++;

    const edges = distinctEdges(stated);
    const diff = diffEdges(
      previous.edges,
      edges.map(({ edge }) => edge),
      // A rejected record's edges stay as they were, as its asset does.
      (edge) => edge.owner !== undefined && rejectedOwners.has(edge.owner),
    );
    const lineageCounts = { ...diff.counts, rejected: counts[LINEAGE]?.rejected ?? 0 };
    if (Object.values(lineageCounts).some((count) => count > 0)) counts[LINEAGE] = lineageCounts;
    const edgeState: EdgeStateLine[] = [
      ...edges.map(({ edge, owner }) => ({
        t: LINEAGE,
        q: edge.upstream,
        d: edge.downstream,
        f: edgeFingerprint(edge),
        r: owner,
      })),
      ...diff.kept.map(({ upstream, downstream, fingerprint, owner }) => ({
        t: LINEAGE,
        q: upstream,
        d: downstream,
        f: fingerprint,
        r: owner ?? null,
      })),
    ];
    return {
      records,
      counts,
      changed,
      gone: gone.map((entry) => ({ qualifiedName: entry.q, parent: entry.p })),
      edges: { changed: diff.changed, gone: diff.gone },
      rejections,
      state: [...state, ...edgeState].map((entry) => JSON.stringify(entry)),
    };
  }

  return {
    add,
    finish,
    /** Raw records read so far. */
    get records() {
      return records;
    },
  };
}

interface LineRejection {
  ok: false;
  reason: string;
  qualifiedName?: string;
  kind?: string;
  path?: string;
}

/** Maps one parsed line; a rejection says what it can of the record (kind, path, qualified name) for the report. */
function mapValue(value: unknown, context: ContainerDiffContext): Extract<MapResult, { ok: true }> | LineRejection {
  const mapped = mapUntrustedRecord(value, context, context.rules);
  if (mapped.ok) return mapped;
  const { kind, path } = (value ?? {}) as { kind?: unknown; path?: unknown };
  return {
    ...mapped,
    kind: typeof kind === 'string' ? kind : undefined,
    path: Array.isArray(path) ? JSON.stringify(path) : undefined,
  };
}

/** What a well-formed lineage or foreign key record states, with the record; undefined for any other line. */
function statedEdges(value: unknown, naming: NamingContext): (StatedEdges & { record: RawRecord }) | undefined {
  if (recordShapeProblem(value) !== null) return undefined;
  const record = value as RawRecord;
  if (record.kind !== 'lineage' && record.kind !== 'foreign_key') return undefined;
  return { ...catalogEdges(record, naming), record };
}
