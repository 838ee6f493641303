import type { AnnotationChangedPayload, Copy, StoredCopy, WalkScope } from './contracts.js';

/**
 * Who holds a value, and what giving or taking back one source's copies changes for the tools outside: an asset
 * gains a value when no source gave it before, and loses it when its last source lets go. Two sources may take hold
 * of and let go of one value at the same moment, so each also looks again after writing. Pure: the propagation
 * activities (activities/propagation.ts) read the holders, ask these, and write and publish what they say.
 */

/** For each asset, the sources that give it the value and the change that last gave it; absent: held by none. */
export type Holders = ReadonlyMap<string, ReadonlyMap<string, string | null>>;

/** Only the source holds it: the copies of every other source are gone. */
export const onlySource = (holders: ReadonlyMap<string, string | null> | undefined, source: string): boolean =>
  holders !== undefined && holders.size === 1 && holders.has(source);

/** The outbound event of a copy that was given (`added`) or taken back (`removed`); sequenced when published. */
export const changeEvent = (
  scope: WalkScope,
  copy: Copy,
  assetType: string | null,
  change: 'added' | 'removed',
): Omit<AnnotationChangedPayload, 'sequence'> => ({
  qualifiedName: copy.qualifiedName,
  assetType,
  attribute: scope.attribute,
  value: scope.value,
  change,
  attribution: { source: scope.source, path: copy.path, depth: copy.depth },
  changeId: scope.changeId,
});

export interface GivePlan<T> {
  /** Not reached by this change yet: to write, and the next frontier. A retry finds these done and stops. */
  fresh: T[];
  /** Held by no source before: each gains the value, an `added` event. */
  newlyHeld: T[];
  /** Held by other sources, not this one: an event only if the others let go meanwhile (`stillOnlyOurs`). */
  contested: T[];
}

/** How giving the source's value to the reached assets plays out, by who held it `before` the copies are written. */
export function planGive<T extends Copy>(
  reached: readonly T[],
  before: Holders,
  scope: Pick<WalkScope, 'source' | 'changeId'>,
): GivePlan<T> {
  const { source, changeId } = scope;
  const fresh = reached.filter((r) => before.get(r.qualifiedName)?.get(source) !== changeId);
  return {
    fresh,
    newlyHeld: fresh.filter((r) => !before.has(r.qualifiedName)),
    contested: fresh.filter((r) => {
      const holders = before.get(r.qualifiedName);
      return holders !== undefined && !holders.has(source);
    }),
  };
}

/** The contested assets the source alone holds `after` its copies were written: the others let go meanwhile. */
export const stillOnlyOurs = <T extends Copy>(contested: readonly T[], after: Holders, source: string): T[] =>
  contested.filter((r) => onlySource(after.get(r.qualifiedName), source));

/**
 * The copies of a page to take back: all of them when the value is removed at the source, or (`staleOnly`) those an
 * earlier change made and this one did not reach.
 */
export const retractCandidates = (copies: readonly StoredCopy[], changeId: string, staleOnly: boolean): StoredCopy[] =>
  staleOnly ? copies.filter((c) => c.changeId !== changeId) : [...copies];

export interface RetractPlan {
  /** Held from this source (and, when staleOnly, not by this change): to let go of. */
  ours: StoredCopy[];
  /** This source is the only holder: the asset loses the value, a `removed` event (before the rows go). */
  lastHolder: StoredCopy[];
  /** Other sources hold it too: no event, unless they let go meanwhile (`afterRetract`). */
  othersHeld: StoredCopy[];
}

/** How taking back the candidates plays out, by who held the value `before`. */
export function planRetract(
  candidates: readonly StoredCopy[],
  before: Holders,
  scope: Pick<WalkScope, 'source' | 'changeId'>,
  staleOnly: boolean,
): RetractPlan {
  const { source, changeId } = scope;
  const ours = candidates.filter((c) => {
    const held = before.get(c.qualifiedName)?.get(source);
    return held !== undefined && (!staleOnly || held !== changeId);
  });
  return {
    ours,
    lastHolder: ours.filter((c) => onlySource(before.get(c.qualifiedName), source)),
    othersHeld: ours.filter((c) => !onlySource(before.get(c.qualifiedName), source)),
  };
}

/**
 * The second look, by who holds the value `after` the source let go: an asset the others let go of meanwhile is gone
 * after all (`removed`); one another source took hold of meanwhile is held again (`added`).
 */
export function afterRetract(
  plan: Pick<RetractPlan, 'lastHolder' | 'othersHeld'>,
  after: Holders,
): { nowGone: StoredCopy[]; heldAgain: StoredCopy[] } {
  return {
    nowGone: plan.othersHeld.filter((c) => !after.has(c.qualifiedName)),
    heldAgain: plan.lastHolder.filter((c) => after.has(c.qualifiedName)),
  };
}
