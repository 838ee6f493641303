import { Context } from '@temporalio/activity';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import pLimit from 'p-limit';
import { reusableColumnBuckets, type MappingIdentity, type PreviousColumnJob } from '../lib/ingest/columnReuse.js';
import { ColumnJobRecord, ExtractManifest, type SourceType } from '../lib/ingest/contracts.js';
import { runObjectKeys } from '../lib/platform/objectKeys.js';
import type { ObjectStore } from '../lib/platform/objectStore.js';

/** The columns job's code, in the order spark/load_columns.py digests it (its `engine_digest`). */
const ENGINE_FILES = ['metasync_rules.py', 'column_frames.py', 'load_columns.py'];
/** Where a run keeps the state it took over from the previous run (a folder like the jobs' j<from>-<to>). */
const REUSED_DIR = 'jreused';
const COPIES_AT_ONCE = 16;

export interface ReuseInput {
  tenant: string;
  connectionId: string;
  runId: string;
  previousRunId: string;
  sourceType: SourceType;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

let engineDigest: Promise<string> | undefined;
/** The digest of the columns job this worker submits (the same files, from the same checkout). */
function columnsEngineDigest(): Promise<string> {
  engineDigest ??= Promise.all(
    ENGINE_FILES.map((name) => readFile(fileURLToPath(new URL(`../spark/${name}`, import.meta.url)))),
  ).then((files) => sha256(Buffer.concat(files)));
  return engineDigest;
}

export function createColumnReuseActivities(deps: { store: ObjectStore }) {
  const { store } = deps;

  /** The previous run's complete columns jobs (state written whole, and their record beside it). */
  async function previousJobs(statePrefix: string): Promise<PreviousColumnJob[]> {
    const dirs = new Map<string, Set<string>>();
    for await (const key of store.list(statePrefix)) {
      const [dir, name] = key.slice(statePrefix.length).split('/');
      if (!dir || !name) continue;
      dirs.set(dir, (dirs.get(dir) ?? new Set()).add(name));
    }
    const jobs: PreviousColumnJob[] = [];
    for (const [dir, names] of dirs) {
      if (!names.has('_SUCCESS') || !names.has('buckets.json')) continue;
      const record = ColumnJobRecord.safeParse(await store.getJson(`${statePrefix}${dir}/buckets.json`));
      if (record.success) jobs.push({ dir: `${statePrefix}${dir}/`, record: record.data });
    }
    return jobs;
  }

  return {
    /**
     * Takes over the previous run's column state of every bucket whose columns did not change (same lines, same
     * mapping, nothing refused: lib/ingest/columnReuse.ts), so no Spark job loads them again: their state files are
     * copied into this run's state, with a record and a _SUCCESS written last, as a job would. Returns those buckets.
     * Copies are keyed like the originals, so a retry writes the same objects.
     */
    async reuseUnchangedColumns(input: ReuseInput): Promise<{ buckets: number[] }> {
      const keys = runObjectKeys(input.tenant, input.connectionId, input.runId);
      const previousKeys = runObjectKeys(input.tenant, input.connectionId, input.previousRunId);
      const [manifest, previousManifest, rules, engine] = await Promise.all([
        store.getJson(keys.manifest).then((value) => ExtractManifest.parse(value)),
        store.getJson(previousKeys.manifest).then((value) => ExtractManifest.safeParse(value).data),
        store.getText(keys.rules),
        columnsEngineDigest(),
      ]);
      if (!manifest.columnDigests || rules === undefined) return { buckets: [] };
      const current: MappingIdentity = {
        engine,
        rules: sha256(rules),
        sourceType: input.sourceType,
        connectionId: input.connectionId,
      };
      const reusable = reusableColumnBuckets({
        current,
        digests: manifest.columnDigests,
        previousDigests: previousManifest?.columnDigests,
        previousJobs: await previousJobs(`${previousKeys.prefix}state/columns/`),
      });
      if (reusable.size === 0) return { buckets: [] };

      const target = `${keys.prefix}state/columns/${REUSED_DIR}/`;
      const context = Context.current();
      const limit = pLimit(COPIES_AT_ONCE);
      const copies: Promise<void>[] = [];
      for (const [bucket, dir] of reusable) {
        for await (const key of store.list(`${dir}bucket=${bucket}/`)) {
          copies.push(
            limit(async () => {
              await store.copy(key, `${target}${key.slice(dir.length)}`);
              context.heartbeat();
            }),
          );
        }
      }
      await Promise.all(copies);
      const buckets = [...reusable.keys()].sort((a, b) => a - b);
      const record: ColumnJobRecord = { ...current, rejected: Object.fromEntries(buckets.map((b) => [String(b), 0])) };
      await store.putJson(`${target}buckets.json`, record);
      await store.putJson(`${target}_SUCCESS`, { reusedFrom: input.previousRunId });
      return { buckets };
    },
  };
}
