import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LineageEdge } from '../../lib/lineage/contracts.js';
import { loadDefaultPolicy, resolvePropagation } from '../../lib/propagation/policy.js';
import type { Copy } from '../../lib/propagation/contracts.js';
import { extendPath, MAX_PATH, nextCopies } from '../../lib/propagation/walk.js';

const rule = resolvePropagation(loadDefaultPolicy(), 'classification', 'PII');
const at = (name: string, depth = 0, path = [name]): Copy => ({ qualifiedName: name, depth, path, terminal: false });
const edge = (upstream: string, downstream: string, extra: Partial<LineageEdge> = {}): LineageEdge => ({
  upstream,
  downstream,
  level: 'table',
  kind: 'view',
  origin: 'catalog:c',
  propagates: true,
  transformation: null,
  downstreamType: 'table',
  ...extra,
});

describe('one step of the propagation walk', () => {
  it('passes the value along propagating edges, with the path and depth', () => {
    const next = nextCopies([at('a')], [edge('a', 'b'), edge('a', 'c')], rule, new Set(['a']));
    assert.deepEqual(
      next.map((c) => [c.qualifiedName, c.depth, c.path]),
      [
        ['b', 1, ['a', 'b']],
        ['c', 1, ['a', 'c']],
      ],
    );
  });

  it('leaves out self-edges, assets already seen, and gives an asset reached twice one copy', () => {
    const frontier = [at('a', 1, ['s', 'a']), at('b', 1, ['s', 'b'])];
    const edges = [edge('a', 'a'), edge('a', 's'), edge('a', 'x'), edge('b', 'x')];
    const next = nextCopies(frontier, edges, rule, new Set(['s', 'a', 'b']));
    assert.deepEqual(
      next.map((c) => c.qualifiedName),
      ['x'],
    );
  });

  it('stops at non-propagating edges; a manual mark overrides every other origin', () => {
    const edges = [
      edge('a', 'fk', { propagates: false, kind: 'foreign_key' }),
      edge('a', 'both', { kind: 'dbt', origin: 'dbt:p' }),
      edge('a', 'both', { kind: 'manual', origin: 'manual', propagates: false }),
      edge('a', 'either', { propagates: false, kind: 'foreign_key' }),
      edge('a', 'either', { kind: 'openlineage', origin: 'openlineage:ns/job' }),
    ];
    assert.deepEqual(
      nextCopies([at('a')], edges, rule, new Set()).map((c) => c.qualifiedName),
      ['either'],
    );
  });

  it('honours max depth, levels, stop-at and excluded asset types', () => {
    const edges = [
      edge('a', 'dash', { downstreamType: 'dashboard' }),
      edge('a', 'schema', { downstreamType: 'schema' }),
      edge('a', 'col', { level: 'column', downstreamType: 'column' }),
      edge('a', 'unknown', { downstreamType: null }),
    ];
    const next = nextCopies([at('a')], edges, { ...rule, levels: ['table'] }, new Set());
    assert.deepEqual(
      next.map((c) => [c.qualifiedName, c.terminal]),
      [
        ['dash', true],
        ['unknown', false],
      ],
    );
    assert.deepEqual(nextCopies([{ ...at('dash'), terminal: true }], [edge('dash', 'z')], rule, new Set()), []);
    assert.deepEqual(nextCopies([at('a', 3)], [edge('a', 'b')], { ...rule, maxDepth: 3 }, new Set()), []);
  });

  it('keeps a deep path bounded: the source and the last hops', () => {
    let path = ['s'];
    for (let i = 0; i < 500; i++) path = extendPath(path, `n${i}`);
    assert.equal(path.length, MAX_PATH);
    assert.equal(path[0], 's');
    assert.equal(path.at(-1), 'n499');
  });
});

describe('the propagation policy', () => {
  it('resolves the first matching rule over the defaults; no rule means no propagation', () => {
    const policy = loadDefaultPolicy();
    assert.equal(resolvePropagation(policy, 'classification', 'GDPR').propagate, true);
    assert.equal(resolvePropagation(policy, 'description', 'text').propagate, false);
    assert.equal(resolvePropagation(policy, 'owner', 'ana@example.com').maxDepth, 1);
    const custom = { ...policy, rules: [{ attribute: 'tag' as const, values: ['x'], propagate: true, maxDepth: 2 }] };
    assert.equal(resolvePropagation(custom, 'tag', 'x').maxDepth, 2);
    assert.equal(resolvePropagation(custom, 'tag', 'y').propagate, false);
  });
});
