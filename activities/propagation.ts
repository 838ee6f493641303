import { Context } from '@temporalio/activity';
import type cassandra from 'cassandra-driver';
import type pg from 'pg';
import type {
  AnnotationAttribute,
  Copy,
  ExpandInput,
  ExpandResult,
  Reached,
  ResolvedPropagation,
  RetractInput,
  RetractResult,
  WalkScope,
} from '../lib/propagation/contracts.js';
import {
  afterRetract,
  changeEvent,
  planGive,
  planRetract,
  retractCandidates,
  stillOnlyOurs,
} from '../lib/propagation/holders.js';
import type { OutboundPublisher } from '../lib/kafka/outbound.js';
import { resolvePropagation, tenantPolicy } from '../lib/propagation/policy.js';
import { nextCopies } from '../lib/propagation/walk.js';
import { metrics, secondsSince, tenantLabel } from '../lib/platform/metrics.js';
import type { AnnotationStore } from '../lib/stores/annotations.js';
import { chunked } from '../lib/stores/cql.js';
import { readAssetType } from '../lib/stores/lake.js';
import type { LineageStore } from '../lib/stores/lineage.js';

/** Targets written at once: enough to batch the writes, small enough to keep memory and retries modest. */
const CHUNK = 2_000;

export function createPropagationActivities(deps: {
  postgres: pg.Pool;
  cassandra: cassandra.Client;
  annotations: AnnotationStore;
  lineage: LineageStore;
  outbound: OutboundPublisher;
}) {
  const { annotations, outbound } = deps;

  const names = (copies: readonly Copy[]) => copies.map((c) => c.qualifiedName);

  /**
   * Gives the value to the reached assets this change has not reached yet, and returns those (the next frontier).
   * The order makes a retry safe: copies first (so the walk and a later removal find them), then the outbound
   * events, then the assets' own rows (which mark them done). An asset another source already gives the value to
   * publishes nothing, unless that source let go meanwhile, which the second look catches (lib/propagation/holders.ts).
   */
  async function give(scope: WalkScope, reached: readonly Reached[]): Promise<{ fresh: Reached[]; published: number }> {
    const { tenant, source, attribute, value, changeId } = scope;
    const plan = planGive(reached, await annotations.holders(tenant, names(reached), attribute, value), scope);
    await annotations.writeCopies(tenant, source, attribute, value, plan.fresh, changeId);
    await outbound.publish(
      tenant,
      plan.newlyHeld.map((r) => changeEvent(scope, r, r.assetType, 'added')),
    );
    await annotations.markHeld(tenant, source, attribute, value, plan.fresh, changeId);
    let published = plan.newlyHeld.length;
    if (plan.contested.length) {
      const after = await annotations.holders(tenant, names(plan.contested), attribute, value);
      const ours = stillOnlyOurs(plan.contested, after, source);
      await outbound.publish(
        tenant,
        ours.map((r) => changeEvent(scope, r, r.assetType, 'added')),
      );
      published += ours.length;
    }
    return { fresh: plan.fresh, published };
  }

  /** Expands a frontier in chunks: reads its edges, applies the rule, gives the value on. */
  async function step(scope: WalkScope, frontier: readonly Copy[], seen: Set<string>, budget: number) {
    const edges = await deps.lineage.downstreamOfMany(
      scope.tenant,
      frontier.filter((copy) => !copy.terminal).map((copy) => copy.qualifiedName),
    );
    const candidates = nextCopies(frontier, edges, scope.rule, seen);
    const reached = candidates.slice(0, Math.max(0, budget));
    const next: Reached[] = [];
    let published = 0;
    for (const chunk of chunked(reached, CHUNK)) {
      const given = await give(scope, chunk);
      next.push(...given.fresh);
      published += given.published;
      Context.current().heartbeat({ reached: next.length });
    }
    return { next, published, truncated: reached.length < candidates.length };
  }

  return {
    async propagationRule(input: {
      tenant: string;
      attribute: AnnotationAttribute;
      value: string;
    }): Promise<ResolvedPropagation> {
      return resolvePropagation(await tenantPolicy(deps.postgres, input.tenant), input.attribute, input.value);
    },

    /** Values of the attribute set on the asset itself (not propagated to it). */
    async directValues(input: { tenant: string; qualifiedName: string; attribute: AnnotationAttribute }) {
      const held = await annotations.annotationsOf(input.tenant, input.qualifiedName);
      return held
        .filter((a) => a.attribute === input.attribute && a.attributions.some((b) => b.source === input.qualifiedName))
        .map((a) => a.value);
    },

    /** The source's own copy (depth 0): the value set on the asset itself. Returns whether it is new there. */
    async annotateSource(scope: WalkScope): Promise<{ published: number; inCatalog: boolean }> {
      const assetType = await readAssetType(deps.cassandra, scope.tenant, scope.source);
      const copy: Reached = { qualifiedName: scope.source, depth: 0, path: [scope.source], terminal: false, assetType };
      const { published } = await give(scope, [copy]);
      return { published, inCatalog: assetType !== null };
    },

    /**
     * Walks one level's range of the frontier (the source's copies at `range.depth`) one page at a time, and, when
     * the level was small and whole, the levels after it from memory.
     */
    async expandLevel(input: ExpandInput): Promise<ExpandResult> {
      const { range } = input;
      const started = Date.now();
      let reached = 0;
      let published = 0;
      let truncated = false;
      let pageState: string | null = null;
      // The next level, kept while it stays small enough to walk on from memory; null once it is not.
      let carried: Reached[] | null = [];
      do {
        const page = await annotations.copiesAt(
          input.tenant,
          input.source,
          input.attribute,
          input.value,
          range,
          input.pageSize,
          pageState,
        );
        const seenOnPage = new Set(page.items.map((c) => c.qualifiedName));
        const stepped = await step(input, page.items, seenOnPage, input.budget - reached);
        reached += stepped.next.length;
        published += stepped.published;
        truncated ||= stepped.truncated;
        if (carried && carried.length + stepped.next.length <= input.deepenUpTo) carried.push(...stepped.next);
        else carried = null;
        pageState = page.next;
      } while (pageState && !truncated);

      let depth = range.depth + 1;
      const whole = range.from === null && range.to === null;
      const seen = new Set<string>();
      while (
        whole &&
        !truncated &&
        carried !== null &&
        carried.length > 0 &&
        carried.length <= input.deepenUpTo &&
        Date.now() - started < input.deepenForMs
      ) {
        for (const copy of carried) seen.add(copy.qualifiedName);
        const stepped = await step(input, carried, seen, input.budget - reached);
        reached += stepped.next.length;
        published += stepped.published;
        truncated ||= stepped.truncated;
        carried = stepped.next;
        depth++;
      }
      metrics.propagationReached.inc({ tenant: tenantLabel(input.tenant), attribute: input.attribute }, reached);
      metrics.propagationWalkDuration.observe({}, secondsSince(started));
      return { reached, published, nextDepth: depth, truncated };
    },

    /** How many copies a level has, and where to cut it into slices of about `step` each. */
    async levelSlices(input: WalkScope & { depth: number; step: number }) {
      return annotations.sliceBounds(input.tenant, input.source, input.attribute, input.value, input.depth, input.step);
    },

    /**
     * Takes back one page of the source's copies: every copy when the value is removed at the source, or (with
     * `staleOnly`) those an earlier change made and this one did not reach, because lineage changed since.
     * An asset loses the value (and an outbound event says so) only when no other source still gives it.
     */
    async retractCopies(input: RetractInput): Promise<RetractResult> {
      const { tenant, source, attribute, value, changeId, staleOnly } = input;
      const page = await annotations.allCopies(tenant, source, attribute, value, input.pageSize, input.pageState);
      const candidates = retractCandidates(page.items, changeId, staleOnly);
      const before = await annotations.holders(tenant, names(candidates), attribute, value);
      const plan = planRetract(candidates, before, input, staleOnly);
      // Published before the rows go, so a retry after a crash publishes again rather than never.
      await outbound.publish(
        tenant,
        plan.lastHolder.map((c) => changeEvent(input, c, null, 'removed')),
      );
      await annotations.unmarkHeld(tenant, source, attribute, value, names(plan.ours));
      if (staleOnly) await annotations.deleteCopies(tenant, source, attribute, value, candidates);

      // A second look: another source may have let go (or taken hold) while this one did.
      const after = await annotations.holders(tenant, names(plan.ours), attribute, value);
      const { nowGone, heldAgain } = afterRetract(plan, after);
      await outbound.publish(tenant, [
        ...nowGone.map((c) => changeEvent(input, c, null, 'removed')),
        ...heldAgain.map((c) => changeEvent(input, c, null, 'added')),
      ]);
      Context.current().heartbeat({ retracted: plan.ours.length });
      return {
        retracted: plan.ours.length,
        published: plan.lastHolder.length + nowGone.length + heldAgain.length,
        next: page.next,
      };
    },

    /** After a removal has retracted every copy: one partition delete for the whole list. */
    async dropCopies(scope: WalkScope): Promise<void> {
      await annotations.dropCopies(scope.tenant, scope.source, scope.attribute, scope.value);
    },
  };
}
