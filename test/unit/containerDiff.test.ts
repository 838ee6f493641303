import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RawRecord } from '../../lib/ingest/contracts.js';
import { containerDiff, readContainerState, type ContainerChanges } from '../../lib/ingest/containerDiff.js';
import { loadDefaultRules } from '../../lib/mapping/index.js';

const context = { sourceType: 'postgres', connectionId: 'warehouse', rules: loadDefaultRules() } as const;
const pg = (...path: string[]) => `postgres://warehouse/${path.join('/')}`;

const database: RawRecord = { kind: 'database', path: ['shop'], attributes: {} };
const schema: RawRecord = { kind: 'schema', path: ['shop', 'public'], attributes: {} };
const orders: RawRecord = { kind: 'table', path: ['shop', 'public', 'orders'], attributes: { comment: 'all orders' } };
const customers: RawRecord = { kind: 'table', path: ['shop', 'public', 'customers'], attributes: {} };
const bigOrders: RawRecord = { kind: 'view', path: ['shop', 'public', 'big_orders'], attributes: {} };
/** big_orders reads orders: one table-level edge. */
const bigOrdersReads: RawRecord = {
  kind: 'lineage',
  path: ['shop', 'public', 'big_orders'],
  attributes: {
    downstream_type: 'view',
    upstream_schema: 'public',
    upstream_table: 'orders',
    columns: '[]',
    upstream_columns: '[]',
  },
};
const readsEdge = { upstream: pg('shop', 'public', 'orders'), downstream: pg('shop', 'public', 'big_orders') };

/** One bucket's load: `lines` fed in order (as part p, line 1, 2, ...) against what `previous` saved. */
function load(lines: readonly (RawRecord | string)[], previous: readonly string[] = []): ContainerChanges {
  const diff = containerDiff(context, readContainerState(previous, context.connectionId));
  lines.forEach((line, i) => diff.add(typeof line === 'string' ? line : JSON.stringify(line), `p:${i + 1}`));
  return diff.finish();
}

const names = (changes: ContainerChanges) => changes.changed.map(({ asset }) => asset.qualifiedName);

describe('the containers of a bucket, diffed against the previous run', () => {
  const first = load([database, schema, orders, customers, bigOrders, bigOrdersReads]);

  it('adds everything on a first run, with the edges its lineage records state', () => {
    assert.equal(first.records, 6);
    assert.deepEqual(names(first), [
      pg('shop'),
      pg('shop', 'public'),
      pg('shop', 'public', 'orders'),
      pg('shop', 'public', 'customers'),
      pg('shop', 'public', 'big_orders'),
    ]);
    assert.deepEqual(first.counts.table, { added: 2, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });
    assert.deepEqual(first.counts.lineage, { added: 1, updated: 0, unchanged: 0, deleted: 0, rejected: 0 });
    assert.deepEqual(
      first.edges.changed.map(({ upstream, downstream, origin }) => ({ upstream, downstream, origin })),
      [{ ...readsEdge, origin: 'catalog:warehouse' }],
    );
    assert.deepEqual(first.gone, []);
    assert.deepEqual(first.rejections, []);
    // Five assets and one edge to diff the next run against; a lineage record is no asset.
    assert.equal(first.state.length, 6);
  });

  it('writes nothing again when nothing changed', () => {
    const again = load([database, schema, orders, customers, bigOrders, bigOrdersReads], first.state);
    assert.deepEqual(again.changed, []);
    assert.deepEqual(again.gone, []);
    assert.deepEqual(again.edges, { changed: [], gone: [] });
    assert.deepEqual(again.counts.table, { added: 0, updated: 0, unchanged: 2, deleted: 0, rejected: 0 });
    assert.deepEqual(again.counts.lineage, { added: 0, updated: 0, unchanged: 1, deleted: 0, rejected: 0 });
    assert.deepEqual(again.state, first.state);
  });

  it('updates what changed and marks deleted what the source no longer has, edges too', () => {
    const renamed = { ...orders, attributes: { comment: 'every order' } };
    const next = load([database, schema, renamed], first.state);
    assert.deepEqual(names(next), [pg('shop', 'public', 'orders')]);
    assert.equal(next.changed[0]?.asset.comment, 'every order');
    assert.deepEqual(next.gone, [
      { qualifiedName: pg('shop', 'public', 'customers'), parent: pg('shop', 'public') },
      { qualifiedName: pg('shop', 'public', 'big_orders'), parent: pg('shop', 'public') },
    ]);
    assert.deepEqual(next.counts.table, { added: 0, updated: 1, unchanged: 0, deleted: 1, rejected: 0 });
    assert.deepEqual(next.counts.view, { added: 0, updated: 0, unchanged: 0, deleted: 1, rejected: 0 });
    assert.deepEqual(
      next.edges.gone.map(({ upstream, downstream }) => ({ upstream, downstream })),
      [readsEdge],
    );
    assert.deepEqual(next.counts.lineage, { added: 0, updated: 0, unchanged: 0, deleted: 1, rejected: 0 });
    assert.equal(next.state.length, 3);
  });

  it('keeps rejected lines with where they were read and why, and counts them by kind', () => {
    const changes = load([database, '{not json', { kind: 'table', path: [], attributes: {} }]);
    assert.deepEqual(
      changes.rejections.map(({ sourceRef, kind, path }) => ({ sourceRef, kind, path })),
      [
        { sourceRef: 'p:2', kind: 'unknown', path: '' },
        { sourceRef: 'p:3', kind: 'table', path: '[]' },
      ],
    );
    assert.match(changes.rejections[0]!.reason, /^malformed JSON: /);
    assert.equal(changes.rejections[0]!.record, '{not json');
    assert.equal(changes.counts.unknown?.rejected, 1);
    assert.equal(changes.counts.table?.rejected, 1);
    assert.equal(changes.records, 3);
  });

  it('cuts a rejected record short in its rejection', () => {
    const long = JSON.stringify({ kind: 'table', path: [], attributes: { comment: 'x'.repeat(20_000) } });
    assert.equal(load([long]).rejections[0]!.record.length, 10_000);
  });

  it('does not take a record that fails the rules for a deletion: the asset the lake has stays, and so do its edges', () => {
    const column: RawRecord = {
      kind: 'column',
      path: ['shop', 'public', 'orders', 'id'],
      attributes: { data_type: 'int' },
    };
    const before = load([orders, column, bigOrdersReads]);
    const typeless = { ...column, attributes: {} };
    const broken = { ...bigOrdersReads, attributes: { downstream_type: 'view' } };
    const next = load([orders, typeless, broken], before.state);
    assert.deepEqual(next.gone, []);
    assert.deepEqual(next.edges, { changed: [], gone: [] });
    assert.deepEqual(next.counts.column, { added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 1 });
    assert.deepEqual(next.counts.lineage, { added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 1 });
    // Saved again as they were, so the run after this one still has them to diff against.
    assert.deepEqual([...next.state].sort(), [...before.state].sort());
  });
});
