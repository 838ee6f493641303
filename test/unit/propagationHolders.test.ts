import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Reached, StoredCopy, WalkScope } from '../../lib/propagation/contracts.js';
import {
  afterRetract,
  changeEvent,
  onlySource,
  planGive,
  planRetract,
  retractCandidates,
  stillOnlyOurs,
  type Holders,
} from '../../lib/propagation/holders.js';
import { loadDefaultPolicy, resolvePropagation } from '../../lib/propagation/policy.js';

const scope: WalkScope = {
  tenant: 'acme',
  source: 's',
  attribute: 'classification',
  value: 'PII',
  changeId: 'change-2',
  rule: resolvePropagation(loadDefaultPolicy(), 'classification', 'PII'),
};
const reached = (name: string): Reached => ({
  qualifiedName: name,
  depth: 1,
  path: ['s', name],
  terminal: false,
  assetType: 'table',
});
const stored = (name: string, changeId: string | null): StoredCopy => ({
  qualifiedName: name,
  depth: 1,
  path: ['s', name],
  terminal: false,
  changeId,
});
/** `{ asset: { source: change } }` as the holders map the store reads. */
const holders = (held: Record<string, Record<string, string | null>>): Holders =>
  new Map(Object.entries(held).map(([name, sources]) => [name, new Map(Object.entries(sources))]));
const names = (copies: readonly { qualifiedName: string }[]) => copies.map((c) => c.qualifiedName);

describe('giving a value: who gains it', () => {
  const before = holders({
    done: { s: 'change-2' }, // this change reached it already (a retry)
    earlier: { s: 'change-1' }, // an earlier change of this source
    shared: { other: 'x' }, // another source gives it
    both: { s: 'change-1', other: 'x' },
  });
  const plan = planGive(['new', 'done', 'earlier', 'shared', 'both'].map(reached), before, scope);

  it('leaves out what this change reached already, so a retry walks on from where it was', () => {
    assert.deepEqual(names(plan.fresh), ['new', 'earlier', 'shared', 'both']);
  });

  it('publishes at once only for assets no source held', () => {
    assert.deepEqual(names(plan.newlyHeld), ['new']);
  });

  it('holds back the assets only other sources held, for a second look', () => {
    assert.deepEqual(names(plan.contested), ['shared']);
    // The other source let go while this one took hold: this one is now the only holder, and says so.
    const after = holders({ shared: { s: 'change-2' } });
    assert.deepEqual(names(stillOnlyOurs(plan.contested, after, 's')), ['shared']);
    // It did not: nothing changes for the tools outside.
    const still = holders({ shared: { s: 'change-2', other: 'x' } });
    assert.deepEqual(stillOnlyOurs(plan.contested, still, 's'), []);
  });
});

describe('taking a value back: who loses it', () => {
  const page = [stored('old', 'change-1'), stored('current', 'change-2'), stored('shared', 'change-1')];

  it('takes back every copy on a removal, and only the stale ones after an addition', () => {
    assert.deepEqual(names(retractCandidates(page, 'change-2', false)), ['old', 'current', 'shared']);
    assert.deepEqual(names(retractCandidates(page, 'change-2', true)), ['old', 'shared']);
  });

  it('publishes a removal where this source was the last holder, and looks again where others held it', () => {
    const before = holders({ old: { s: 'change-1' }, shared: { s: 'change-1', other: 'x' } });
    const plan = planRetract(retractCandidates(page, 'change-2', true), before, scope, true);
    assert.deepEqual(names(plan.ours), ['old', 'shared']);
    assert.deepEqual(names(plan.lastHolder), ['old']);
    assert.deepEqual(names(plan.othersHeld), ['shared']);

    // Meanwhile the other source let go of shared, and a third took hold of old.
    const after = holders({ old: { third: 'y' } });
    const { nowGone, heldAgain } = afterRetract(plan, after);
    assert.deepEqual(names(nowGone), ['shared']);
    assert.deepEqual(names(heldAgain), ['old']);
  });

  it('leaves alone what the source does not hold, and (stale only) what this change gave again meanwhile', () => {
    const before = holders({ old: { s: 'change-2' }, shared: { other: 'x' } });
    assert.deepEqual(planRetract(page, before, scope, true).ours, []);
    assert.deepEqual(names(planRetract(page, before, scope, false).ours), ['old']);
  });
});

describe('the outbound event of a copy', () => {
  it('names the asset, the value, and where it came from', () => {
    assert.deepEqual(changeEvent(scope, reached('t'), 'table', 'added'), {
      qualifiedName: 't',
      assetType: 'table',
      attribute: 'classification',
      value: 'PII',
      change: 'added',
      attribution: { source: 's', path: ['s', 't'], depth: 1 },
      changeId: 'change-2',
    });
  });

  it('takes a sole holder for the only source', () => {
    assert.equal(onlySource(new Map([['s', null]]), 's'), true);
    assert.equal(onlySource(new Map([['other', null]]), 's'), false);
    assert.equal(onlySource(undefined, 's'), false);
  });
});
