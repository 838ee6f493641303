import { Context } from '@temporalio/activity';
import type {
  ChangeCounts,
  ContainerBucketInput,
  CountsByType,
  EstateAsset,
  RawRecord,
} from '../lib/ingest/contracts.js';
import type { LineageEdge } from '../lib/lineage/contracts.js';
import { catalogEdges, catalogOrigin, type StatedEdges } from '../lib/lineage/catalog.js';
import { diffEdges, distinctEdges, edgeFingerprint, type EdgeState } from '../lib/lineage/edges.js';
import { namingContext, type NamingContext } from '../lib/lineage/names.js';
import { mapUntrustedRecord, recordShapeProblem, RuleSet, type MapResult } from '../lib/mapping/index.js';
import { runObjectKeys } from '../lib/platform/objectKeys.js';
import type { ObjectStore } from '../lib/platform/objectStore.js';
import type { LakeWriter, LoadedAsset, Rejection } from '../lib/stores/lake.js';
import type { LineageStore } from '../lib/stores/lineage.js';

/** One line of a bucket's state: what the next run diffs against. */
interface StateLine {
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

/** The counts key of the edges a run states: lineage is not an asset type. */
const LINEAGE = 'lineage' as const;

const emptyCounts = (): ChangeCounts => ({ added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });

export function createContainerActivities(deps: { store: ObjectStore; lake: LakeWriter; lineage: LineageStore }) {
  const rulesByRun = new Map<string, RuleSet>();
  async function rulesOf(keys: ReturnType<typeof runObjectKeys>): Promise<RuleSet> {
    let rules = rulesByRun.get(keys.rules);
    if (!rules) {
      rules = RuleSet.parse(await deps.store.getJson(keys.rules));
      rulesByRun.set(keys.rules, rules);
    }
    return rules;
  }

  async function previousState(input: ContainerBucketInput) {
    const assets = new Map<string, StateLine>();
    const edges: EdgeState[] = [];
    if (!input.previousRunId) return { assets, edges };
    const key = runObjectKeys(input.tenant, input.connectionId, input.previousRunId).containerState(input.bucket);
    if (!(await deps.store.exists(key))) return { assets, edges };
    const origin = catalogOrigin(input.connectionId);
    for await (const line of deps.store.lines(key)) {
      const entry = JSON.parse(line) as StateLine | EdgeStateLine;
      if (entry.t === LINEAGE) {
        const { q, d, f, r } = entry as EdgeStateLine;
        edges.push({ upstream: q, downstream: d, origin, fingerprint: f, owner: r ?? undefined });
      } else {
        assets.set(entry.q, entry as StateLine);
      }
    }
    return { assets, edges };
  }

  return {
    /**
     * Loads one bucket of containers: maps every raw record with the run's rules, writes what is new or changed
     * since the previous run, marks what disappeared as deleted, keeps rejections with their reason, and saves
     * the bucket's state for the next run. Lineage records and foreign keys also state edges, diffed the same way:
     * an edge no longer stated (its view was dropped) is deleted. Every write is an upsert, so a retry is harmless.
     */
    async loadContainerBucket(input: ContainerBucketInput): Promise<{ records: number; counts: CountsByType }> {
      const keys = runObjectKeys(input.tenant, input.connectionId, input.runId);
      const rules = await rulesOf(keys);
      const naming = namingContext(input.sourceType, input.connectionId, rules);
      const { assets: previous, edges: previousEdges } = await previousState(input);
      const counts: CountsByType = {};
      const countsOf = (type: string) => (counts[type] ??= emptyCounts());
      const changed: LoadedAsset[] = [];
      const rejections: Rejection[] = [];
      const state: StateLine[] = [];
      const stated: { edge: LineageEdge; owner: string }[] = [];
      const rejectedOwners = new Set<string>();
      let records = 0;

      for await (const partKey of deps.store.list(keys.rawBucketPrefix('containers', input.bucket))) {
        // Relative to the run, as the Spark job names its own: unique across buckets, so none overwrites another.
        const partRef = partKey.slice(keys.prefix.length);
        let lineNumber = 0;
        for await (const line of deps.store.lines(partKey)) {
          lineNumber++;
          records++;
          const reject = (kind: string, path: string | undefined, reason: string) => {
            countsOf(kind).rejected++;
            rejections.push({
              sourceRef: `${partRef}:${lineNumber}`,
              kind,
              path: path ?? '',
              reason,
              record: line.slice(0, 10_000),
            });
          };
          let value: unknown;
          try {
            value = JSON.parse(line);
          } catch (error) {
            reject('unknown', undefined, `malformed JSON: ${(error as Error).message}`);
            continue;
          }
          const edges = statedEdges(value, naming);
          if (edges) {
            if (edges.ok) stated.push(...edges.edges.map((edge) => ({ edge, owner: edges.owner })));
            else reject(LINEAGE, JSON.stringify(edges.record.path), edges.reason);
            if (!edges.ok && edges.owner !== undefined) rejectedOwners.add(edges.owner);
            if (edges.record.kind === LINEAGE) continue;
          }

          const mapped = mapValue(value, input, rules);
          if (!mapped.ok) {
            reject(mapped.kind ?? 'unknown', mapped.path, mapped.reason);
            // An asset the lake already has stays as it was: a record that fails the rules is not a deletion.
            const known = mapped.qualifiedName === undefined ? undefined : previous.get(mapped.qualifiedName);
            if (known) {
              previous.delete(known.q);
              state.push(known);
            }
            continue;
          }
          const asset: EstateAsset = mapped.asset;
          const before = previous.get(asset.qualifiedName);
          previous.delete(asset.qualifiedName);
          if (!before) countsOf(asset.assetType).added++;
          else if (before.f !== mapped.fingerprint) countsOf(asset.assetType).updated++;
          else countsOf(asset.assetType).unchanged++;
          if (!before || before.f !== mapped.fingerprint) changed.push({ asset, fingerprint: mapped.fingerprint });
          state.push({
            q: asset.qualifiedName,
            t: asset.assetType,
            f: mapped.fingerprint,
            p: asset.parentQualifiedName,
          });
        }
        Context.current().heartbeat({ records });
      }

      // What the previous run had and this one did not see is gone from the source.
      const gone = [...previous.values()];
      for (const entry of gone) countsOf(entry.t).deleted++;

      const edges = distinctEdges(stated);
      const diff = diffEdges(
        previousEdges,
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

      await deps.lake.upsertAssets(input.tenant, input.connectionId, input.runId, changed);
      await deps.lake.markDeleted(
        input.tenant,
        input.runId,
        gone.map((g) => ({ qualifiedName: g.q, parent: g.p })),
      );
      await deps.lineage.upsertEdges(input.tenant, diff.changed);
      await deps.lineage.deleteEdges(input.tenant, diff.gone);
      await deps.lake.recordRejections(input.tenant, input.runId, rejections);
      await deps.store.putNdjsonGz(keys.containerState(input.bucket), [
        ...state.map((entry) => JSON.stringify(entry)),
        ...edgeState.map((entry) => JSON.stringify(entry)),
      ]);
      return { records, counts };
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
function mapValue(
  value: unknown,
  input: ContainerBucketInput,
  rules: RuleSet,
): Extract<MapResult, { ok: true }> | LineRejection {
  const mapped = mapUntrustedRecord(value, { sourceType: input.sourceType, connectionId: input.connectionId }, rules);
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
