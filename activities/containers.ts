import { Context } from '@temporalio/activity';
import type { ContainerBucketInput, CountsByType } from '../lib/ingest/contracts.js';
import { containerDiff, readContainerState, type ContainerState } from '../lib/ingest/containerDiff.js';
import { RuleSet } from '../lib/mapping/index.js';
import { runObjectKeys } from '../lib/platform/objectKeys.js';
import { writtenByType } from '../lib/ingest/counts.js';
import { assetTypeLabel, metrics, tenantLabel } from '../lib/platform/metrics.js';
import type { ObjectStore } from '../lib/platform/objectStore.js';
import type { LakeWriter } from '../lib/stores/lake.js';
import type { LineageStore } from '../lib/stores/lineage.js';

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

  /** What the previous run saved of the bucket; nothing on a first run. */
  async function previousState(input: ContainerBucketInput): Promise<ContainerState> {
    const lines: string[] = [];
    if (input.previousRunId) {
      const key = runObjectKeys(input.tenant, input.connectionId, input.previousRunId).containerState(input.bucket);
      if (await deps.store.exists(key)) for await (const line of deps.store.lines(key)) lines.push(line);
    }
    return readContainerState(lines, input.connectionId);
  }

  return {
    /**
     * Loads one bucket of containers: reads its raw parts and the previous run's state of the bucket, diffs them
     * (lib/ingest/containerDiff.ts), and writes the result: the assets and edges that are new or changed, the ones
     * gone, the rejections with their reason, and the bucket's state for the next run. Every write is an upsert, so
     * a retry is harmless.
     */
    async loadContainerBucket(input: ContainerBucketInput): Promise<{ records: number; counts: CountsByType }> {
      const keys = runObjectKeys(input.tenant, input.connectionId, input.runId);
      const diff = containerDiff(
        { sourceType: input.sourceType, connectionId: input.connectionId, rules: await rulesOf(keys) },
        await previousState(input),
      );
      for await (const partKey of deps.store.list(keys.rawBucketPrefix('containers', input.bucket))) {
        // Relative to the run, as the Spark job names its own: unique across buckets, so none overwrites another.
        const partRef = partKey.slice(keys.prefix.length);
        let lineNumber = 0;
        for await (const line of deps.store.lines(partKey)) diff.add(line, `${partRef}:${++lineNumber}`);
        Context.current().heartbeat({ records: diff.records });
      }

      const changes = diff.finish();
      await deps.lake.upsertAssets(input.tenant, input.connectionId, input.runId, changes.changed);
      await deps.lake.markDeleted(input.tenant, input.runId, changes.gone);
      await deps.lineage.upsertEdges(input.tenant, changes.edges.changed);
      await deps.lineage.deleteEdges(input.tenant, changes.edges.gone);
      await deps.lake.recordRejections(input.tenant, input.runId, changes.rejections);
      await deps.store.putNdjsonGz(keys.containerState(input.bucket), changes.state);
      // Counted once the bucket is whole; a retry of the activity counts its bucket again (its writes are upserts).
      for (const [type, written] of writtenByType(changes.counts)) {
        const labels = {
          tenant: tenantLabel(input.tenant),
          asset_type: assetTypeLabel(type),
          phase: 'containers',
        } as const;
        metrics.assetsWritten.inc(labels, written);
      }
      return { records: changes.records, counts: changes.counts };
    },
  };
}
