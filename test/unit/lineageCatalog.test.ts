import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RawRecord } from '../../lib/ingest/contracts.js';
import type { LineageEdge } from '../../lib/lineage/contracts.js';
import { catalogEdges } from '../../lib/lineage/catalog.js';
import { diffEdges, distinctEdges, edgeFingerprint, type EdgeState } from '../../lib/lineage/edges.js';
import { namingContext } from '../../lib/lineage/names.js';
import { loadDefaultRules, mergeRules } from '../../lib/mapping/index.js';

const postgres = namingContext('postgres', 'warehouse', loadDefaultRules());
const pg = (...path: string[]) => `postgres://warehouse/${path.join('/')}`;

function edgesOf(record: RawRecord, context = postgres): LineageEdge[] {
  const stated = catalogEdges(record, context);
  assert.ok(stated.ok, stated.ok ? '' : stated.reason);
  return stated.edges;
}

const view: RawRecord = {
  kind: 'lineage',
  path: ['shop', 'public', 'Big Orders'],
  attributes: {
    downstream_type: 'view',
    upstream_schema: 'public',
    upstream_table: 'orders',
    columns: '["Order Id","total"]',
    upstream_columns: '["id","total"]',
  },
};

const foreignKey: RawRecord = {
  kind: 'foreign_key',
  path: ['shop', 'public', 'order_notes', 'notes_order'],
  attributes: {
    columns: '["order_line","order_id"]',
    referenced_schema: 'public',
    referenced_table: 'orders',
    referenced_columns: '["line","id"]',
    update_rule: 'RESTRICT',
    delete_rule: 'NO ACTION',
  },
};

describe('lineage from a catalog: views', () => {
  it('states the relation read -> the view, and each copied column -> its view column', () => {
    const common = { kind: 'view', origin: 'catalog:warehouse', propagates: true, transformation: null } as const;
    assert.deepEqual(edgesOf(view), [
      {
        ...common,
        upstream: pg('shop', 'public', 'orders'),
        downstream: pg('shop', 'public', 'Big%20Orders'),
        level: 'table',
        downstreamType: 'view',
      },
      {
        ...common,
        upstream: pg('shop', 'public', 'orders', 'id'),
        downstream: pg('shop', 'public', 'Big%20Orders', 'Order%20Id'),
        level: 'column',
        downstreamType: 'column',
      },
      {
        ...common,
        upstream: pg('shop', 'public', 'orders', 'total'),
        downstream: pg('shop', 'public', 'Big%20Orders', 'total'),
        level: 'column',
        downstreamType: 'column',
      },
    ]);
  });

  it('states only the table-level edge of a view whose columns are all expressions', () => {
    const expressions = { ...view.attributes, columns: '[]', upstream_columns: '[]' };
    const edges = edgesOf({ ...view, attributes: expressions });
    assert.deepEqual(
      edges.map((edge) => edge.level),
      ['table'],
    );
  });

  it('names a materialized view as such, and applies the rules’ name case', () => {
    const lower = namingContext(
      'postgres',
      'warehouse',
      mergeRules(loadDefaultRules(), { sources: { postgres: { nameCase: 'lower' } } }),
    );
    const [table, column] = edgesOf(
      { ...view, attributes: { ...view.attributes, downstream_type: 'materialized_view' } },
      lower,
    );
    assert.equal(table?.downstreamType, 'materialized_view');
    assert.equal(column?.downstream, pg('shop', 'public', 'big%20orders', 'order%20id'));
  });

  it('reads a relation in another database when the record names it', () => {
    const mysql = namingContext('mysql', 'shopdb', loadDefaultRules());
    const [edge] = edgesOf(
      {
        kind: 'lineage',
        path: ['reports', 'daily'],
        attributes: { upstream_database: 'shop', upstream_table: 'orders', downstream_type: 'view' },
      },
      mysql,
    );
    assert.equal(edge?.upstream, 'mysql://shopdb/shop/orders');
    assert.equal(edge?.downstream, 'mysql://shopdb/reports/daily');
  });
});

describe('lineage from a catalog: foreign keys', () => {
  it('relates the tables without propagation, and copies the referenced columns into the referencing ones', () => {
    const transformation = 'foreign key notes_order';
    const common = { kind: 'foreign_key', origin: 'catalog:warehouse', transformation } as const;
    assert.deepEqual(edgesOf(foreignKey), [
      {
        ...common,
        upstream: pg('shop', 'public', 'orders'),
        downstream: pg('shop', 'public', 'order_notes'),
        level: 'table',
        propagates: false,
        downstreamType: 'table',
      },
      {
        ...common,
        upstream: pg('shop', 'public', 'orders', 'line'),
        downstream: pg('shop', 'public', 'order_notes', 'order_line'),
        level: 'column',
        propagates: true,
        downstreamType: 'column',
      },
      {
        ...common,
        upstream: pg('shop', 'public', 'orders', 'id'),
        downstream: pg('shop', 'public', 'order_notes', 'order_id'),
        level: 'column',
        propagates: true,
        downstreamType: 'column',
      },
    ]);
    const stated = catalogEdges(foreignKey, postgres);
    assert.equal(stated.owner, `${pg('shop', 'public', 'order_notes')}#fk/notes_order`);
  });

  it('leaves out the table-level loop of a self-referencing key', () => {
    const edges = edgesOf({
      kind: 'foreign_key',
      path: ['shop', 'public', 'staff', 'staff_manager'],
      attributes: {
        columns: '["manager_id"]',
        referenced_schema: 'public',
        referenced_table: 'staff',
        referenced_columns: '["id"]',
      },
    });
    assert.deepEqual(
      edges.map((edge) => [edge.level, edge.upstream, edge.downstream]),
      [['column', pg('shop', 'public', 'staff', 'id'), pg('shop', 'public', 'staff', 'manager_id')]],
    );
  });

  it('reads a MySQL key, whose referenced table is named by database', () => {
    const mysql = namingContext('mysql', 'shopdb', loadDefaultRules());
    const [table] = edgesOf(
      {
        kind: 'foreign_key',
        path: ['shop', 'orders', 'orders_customer'],
        attributes: {
          columns: '["customer_id"]',
          referenced_database: 'crm',
          referenced_table: 'customers',
          referenced_columns: '["id"]',
        },
      },
      mysql,
    );
    assert.equal(table?.upstream, 'mysql://shopdb/crm/customers');
  });
});

describe('lineage from a catalog: bad records', () => {
  const rejected: [string, RawRecord, RegExp][] = [
    [
      'no upstream table',
      { ...view, attributes: { ...view.attributes, upstream_table: null } },
      /upstream_table must be a non-empty name, got null/,
    ],
    [
      'no upstream schema where paths have one',
      { ...view, attributes: { ...view.attributes, upstream_schema: '' } },
      /upstream_schema must be a non-empty name/,
    ],
    [
      'columns that are not JSON',
      { ...foreignKey, attributes: { ...foreignKey.attributes, columns: 'order_line,order_id' } },
      /columns must be a JSON array of non-empty names, got "order_line,order_id"/,
    ],
    [
      'column lists of different lengths',
      { ...foreignKey, attributes: { ...foreignKey.attributes, referenced_columns: '["line"]' } },
      /columns has 2 names but referenced_columns has 1: they go in pairs/,
    ],
    [
      'a name too long for a key',
      { ...view, attributes: { ...view.attributes, upstream_table: 'x'.repeat(3000) } },
      /^lineage \["shop","public","Big Orders"\]: upstream: Too big/,
    ],
    ['a path too short', { ...view, path: ['orders'] }, /needs a path of at least 2 non-empty names/],
  ];
  for (const [what, record, reason] of rejected) {
    it(`refuses ${what}, saying why`, () => {
      const stated = catalogEdges(record, postgres);
      assert.equal(stated.ok, false);
      if (!stated.ok) assert.match(stated.reason, reason);
      assert.ok(stated.owner, 'the owner is named, so the edges it stated before can be kept');
    });
  }

  it('states no edges for other kinds', () => {
    assert.deepEqual(edgesOf({ kind: 'table', path: ['shop', 'public', 'orders'], attributes: {} }), []);
  });
});

describe('diffing edges against what a source stated before', () => {
  const [table, first, second] = edgesOf(view);
  const state = (edge: LineageEdge, owner = 'v'): EdgeState => ({ ...edge, fingerprint: edgeFingerprint(edge), owner });

  it('counts added, updated, unchanged and deleted edges, and keeps what `keep` spares', () => {
    const diff = diffEdges(
      [state(table!), state({ ...first!, propagates: false }), state(second!, 'gone')],
      [table!, first!],
    );
    assert.deepEqual(diff.counts, { added: 0, updated: 1, unchanged: 1, deleted: 1, rejected: 0 });
    assert.deepEqual(diff.changed, [first]);
    assert.equal(diff.gone[0]?.downstream, second!.downstream);

    const kept = diffEdges([state(second!, 'rejected')], [], (edge) => edge.owner === 'rejected');
    assert.deepEqual([kept.gone.length, kept.kept.length, kept.counts.deleted], [0, 1, 0]);
  });

  it('keeps the first statement of an edge stated twice', () => {
    const again = { edge: { ...table!, transformation: 'again' } };
    assert.deepEqual(distinctEdges([{ edge: table! }, again]), [{ edge: table! }]);
  });
});
