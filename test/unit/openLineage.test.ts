import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { OpenLineageReceived, OpenLineageRunEvent } from '../../lib/lineage/contracts.js';
import { datasetResolver, openLineageEdges } from '../../lib/lineage/openLineage.js';
import { loadDefaultRules } from '../../lib/mapping/index.js';
import type { ConnectionEndpoint } from '../../lib/stores/connections.js';

const sparkComplete = z
  .record(z.string(), z.unknown())
  .parse(JSON.parse(readFileSync(new URL('../fixtures/openlineage/spark-complete.json', import.meta.url), 'utf8')));

const connections: ConnectionEndpoint[] = [
  { connectionId: 'lake', sourceType: 'ndjson', host: null, port: null, database: null },
  { connectionId: 'other-db', sourceType: 'postgres', host: 'db.example.com', port: 5432, database: 'hr' },
  { connectionId: 'warehouse', sourceType: 'postgres', host: 'db.example.com', port: 5432, database: 'sales' },
  { connectionId: 'shop', sourceType: 'mysql', host: 'mysql.example.com', port: 3306, database: null },
];
const resolve = datasetResolver(connections, loadDefaultRules());
const parse = (value: unknown) => OpenLineageRunEvent.parse(value);
const edgesOf = (value: unknown) => {
  const result = openLineageEdges(parse(value), resolve);
  assert.ok(result.ok, result.ok ? '' : result.reason);
  return result.edges;
};

const orders = 'postgres://warehouse/sales/public/orders';
const facts = 'postgres://warehouse/sales/analytics/Order%20Facts';
const rates = 'openlineage://s3a%3A%2F%2Fraw-zone/%2Fexchange_rates%2F2026-11-24';

describe('OpenLineage run events: the contract', () => {
  it('accepts a real Spark COMPLETE event, with facets it does not know', () => {
    const event = parse(sparkComplete);
    assert.equal(event.eventType, 'COMPLETE');
    assert.ok(event.run.facets?.['processing_engine'], 'unknown facets pass untouched');
  });

  const violations: [string, (event: Record<string, unknown>) => unknown, RegExp][] = [
    ['a missing runId', (event) => ({ ...event, run: {} }), /run\.runId/],
    ['a runId that is not a UUID', (event) => ({ ...event, run: { runId: 'run-42' } }), /runId is a UUID/],
    ['an eventTime without offset', (event) => ({ ...event, eventTime: '2026-11-24T09:15:42' }), /eventTime/],
    ['an eventTime that is no date', (event) => ({ ...event, eventTime: 'yesterday' }), /eventTime/],
    ['an unknown eventType', (event) => ({ ...event, eventType: 'DONE' }), /eventType/],
    ['no producer', (event) => ({ ...event, producer: undefined }), /producer/],
    ['a job without name', (event) => ({ ...event, job: { namespace: 'spark-prod' } }), /job\.name/],
    [
      'a columnLineage facet without inputFields',
      (event) => ({
        ...event,
        outputs: [{ namespace: 'x', name: 'y', facets: { columnLineage: { fields: { a: {} } } } }],
      }),
      /outputs\[0\]\.facets\.columnLineage\.fields\.a\.inputFields/,
    ],
  ];
  for (const [what, change, path] of violations) {
    it(`refuses ${what}, naming the field`, () => {
      const parsed = OpenLineageRunEvent.safeParse(change(sparkComplete));
      assert.ok(!parsed.success);
      assert.match(z.prettifyError(parsed.error), path);
    });
  }

  it('travels in the envelope as lineage.openlineage version 1', () => {
    const envelope = {
      id: 'openlineage-1',
      type: 'lineage.openlineage',
      version: 1,
      tenant: 'acme',
      source: 'http.openlineage',
      occurredAt: '2026-11-24T09:15:43.000Z',
      payload: sparkComplete,
    };
    assert.ok(OpenLineageReceived.safeParse(envelope).success);
    assert.equal(OpenLineageReceived.safeParse({ ...envelope, type: 'lineage.other' }).success, false);
  });
});

describe('OpenLineage run events as lineage edges', () => {
  it('names datasets as ingestion does on the matching connection, and the rest under openlineage://', () => {
    const edges = edgesOf(sparkComplete);
    const origin = 'openlineage:spark-prod/order_facts.execute_insert_into_hadoop_fs_relation_command';
    assert.ok(edges.every((edge) => edge.kind === 'openlineage' && edge.origin === origin));
    assert.deepEqual(
      edges.map((edge) => [edge.level, edge.upstream, edge.downstream, edge.propagates, edge.transformation]),
      [
        ['table', orders, facts, true, null],
        ['table', rates, facts, true, null],
        ['column', `${orders}/id`, `${facts}/order_id`, true, 'DIRECT/IDENTITY'],
        // A masked value (a hash of the email) keeps the lineage but does not carry the classification.
        [
          'column',
          `${orders}/customer_email`,
          `${facts}/email_hash`,
          false,
          'DIRECT/TRANSFORMATION (masking) sha2(customer_email)',
        ],
        ['column', `${orders}/total`, `${facts}/total_eur`, true, 'DIRECT/TRANSFORMATION'],
        ['column', `${rates}/rate`, `${facts}/total_eur`, true, 'DIRECT/TRANSFORMATION'],
        ['column', `${orders}/status`, `${facts}/total_eur`, false, "INDIRECT/FILTER status = 'paid'"],
      ],
    );
    assert.ok(edges.every((edge) => edge.downstreamType === (edge.level === 'column' ? 'column' : null)));
  });

  it('asserts edges on COMPLETE and RUNNING only', () => {
    for (const eventType of ['START', 'FAIL', 'ABORT', 'OTHER', undefined]) {
      assert.deepEqual(edgesOf({ ...sparkComplete, eventType }), [], `${eventType} asserts nothing`);
    }
    assert.equal(edgesOf({ ...sparkComplete, eventType: 'RUNNING' }).length, 7);
  });

  it('names a MySQL table database.table, and leaves out a job reading and writing the same table', () => {
    const event = {
      ...sparkComplete,
      inputs: [{ namespace: 'mysql://mysql.example.com:3306', name: 'shop.orders' }],
      outputs: [
        { namespace: 'mysql://mysql.example.com', name: 'shop.orders' },
        { namespace: 'mysql://mysql.example.com', name: 'reports.daily.v2' },
      ],
    };
    assert.deepEqual(
      edgesOf(event).map((edge) => `${edge.upstream} -> ${edge.downstream}`),
      ['mysql://shop/shop/orders -> mysql://shop/reports/daily.v2'],
    );
  });

  it('does not match a connection on another port or database', () => {
    const named = (namespace: string, name: string) => resolve(namespace, name).table;
    assert.equal(
      named('postgres://db.example.com:6432', 'sales.public.orders'),
      'openlineage://postgres%3A%2F%2Fdb.example.com%3A6432/sales.public.orders',
    );
    assert.equal(named('postgres://db.example.com:5432', 'hr.public.staff'), 'postgres://other-db/hr/public/staff');
    assert.equal(
      named('postgres://db.example.com:5432', 'crm.public.x'),
      'openlineage://postgres%3A%2F%2Fdb.example.com%3A5432/crm.public.x',
    );
    assert.equal(
      named('postgres://db.example.com:5432', 'orders'),
      'openlineage://postgres%3A%2F%2Fdb.example.com%3A5432/orders',
    );
  });

  it('refuses an event whose names are too long for the lake, saying so', () => {
    const result = openLineageEdges(
      parse({ ...sparkComplete, outputs: [{ namespace: 'x', name: 'é'.repeat(800) }] }),
      resolve,
    );
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /^a lineage edge of this event is invalid: downstream: Too big/);
  });
});
