import { Context } from '@temporalio/activity';
import type { ChangeCounts, CountsByType, EstateAsset, SourceType } from '../lib/contracts.js';
import { mapUntrustedRecord, RuleSet, type MapResult } from '../lib/mapping/index.js';
import { runObjectKeys } from '../lib/objectKeys.js';
import type { ObjectStore } from '../lib/s3Objects.js';
import type { LakeWriter, LoadedAsset, Rejection } from '../lib/stores/lake.js';

export interface ContainerBucketInput {
  tenant: string;
  connectionId: string;
  sourceType: SourceType;
  runId: string;
  previousRunId: string | null;
  bucket: number;
}

/** One line of a bucket's state: what the next run diffs against. */
interface StateLine {
  q: string;
  t: string;
  f: string;
  p: string | null;
}

const emptyCounts = (): ChangeCounts => ({ added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });

export function createContainerActivities(deps: { store: ObjectStore; lake: LakeWriter }) {
  const rulesByRun = new Map<string, RuleSet>();
  async function rulesOf(keys: ReturnType<typeof runObjectKeys>): Promise<RuleSet> {
    let rules = rulesByRun.get(keys.rules);
    if (!rules) {
      rules = RuleSet.parse(await deps.store.getJson(keys.rules));
      rulesByRun.set(keys.rules, rules);
    }
    return rules;
  }

  async function previousState(input: ContainerBucketInput): Promise<Map<string, StateLine>> {
    const state = new Map<string, StateLine>();
    if (!input.previousRunId) return state;
    const key = runObjectKeys(input.tenant, input.connectionId, input.previousRunId).containerState(input.bucket);
    if (!(await deps.store.exists(key))) return state;
    for await (const line of deps.store.lines(key)) {
      const entry = JSON.parse(line) as StateLine;
      state.set(entry.q, entry);
    }
    return state;
  }

  return {
    /**
     * Loads one bucket of containers: maps every raw record with the run's rules, writes what is new or changed
     * since the previous run, marks what disappeared as deleted, keeps rejections with their reason, and saves
     * the bucket's state for the next run. Every write is an upsert, so a retry is harmless.
     */
    async loadContainerBucket(input: ContainerBucketInput): Promise<{ records: number; counts: CountsByType }> {
      const keys = runObjectKeys(input.tenant, input.connectionId, input.runId);
      const rules = await rulesOf(keys);
      const previous = await previousState(input);
      const counts: CountsByType = {};
      const countsOf = (type: string) => (counts[type] ??= emptyCounts());
      const changed: LoadedAsset[] = [];
      const rejections: Rejection[] = [];
      const state: StateLine[] = [];
      let records = 0;

      for await (const partKey of deps.store.list(keys.rawBucketPrefix('containers', input.bucket))) {
        // Relative to the run, as the Spark job names its own: unique across buckets, so none overwrites another.
        const partRef = partKey.slice(keys.prefix.length);
        let lineNumber = 0;
        for await (const line of deps.store.lines(partKey)) {
          lineNumber++;
          records++;
          const mapped = mapLine(line, input, rules);
          if (!mapped.ok) {
            const kind = mapped.kind ?? 'unknown';
            countsOf(kind).rejected++;
            rejections.push({
              sourceRef: `${partRef}:${lineNumber}`,
              kind,
              path: mapped.path ?? '',
              reason: mapped.reason,
              record: line.slice(0, 10_000),
            });
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

      await deps.lake.upsertAssets(input.tenant, input.connectionId, input.runId, changed);
      await deps.lake.markDeleted(
        input.tenant,
        input.runId,
        gone.map((g) => ({ qualifiedName: g.q, parent: g.p })),
      );
      await deps.lake.recordRejections(input.tenant, input.runId, rejections);
      await deps.store.putNdjsonGz(
        keys.containerState(input.bucket),
        state.map((entry) => JSON.stringify(entry)),
      );
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

/** Maps one raw line; a rejection says what it can of the record (kind, path, qualified name) for the report. */
function mapLine(
  line: string,
  input: ContainerBucketInput,
  rules: RuleSet,
): Extract<MapResult, { ok: true }> | LineRejection {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  const mapped = mapUntrustedRecord(value, { sourceType: input.sourceType, connectionId: input.connectionId }, rules);
  if (mapped.ok) return mapped;
  const { kind, path } = (value ?? {}) as { kind?: unknown; path?: unknown };
  return {
    ...mapped,
    kind: typeof kind === 'string' ? kind : undefined,
    path: Array.isArray(path) ? JSON.stringify(path) : undefined,
  };
}
