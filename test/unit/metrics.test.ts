import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { partitionLags } from '../../lib/kafka/consumerLag.js';
import { writtenByType } from '../../lib/ingest/counts.js';
import {
  assetTypeLabel,
  deadLetterKind,
  lagLabels,
  methodLabel,
  metrics,
  reasonCode,
  registry,
  routeLabel,
  serveMetrics,
  statusLabel,
  tenantLabel,
} from '../../lib/platform/metrics.js';

/** The catalog (docs/observability.md): each metric's type and label names, as DASHBOARDS builds on them. */
const CATALOG: Record<string, { type: string; labels: string[] }> = {
  metasync_assets_written_total: { type: 'counter', labels: ['tenant', 'asset_type', 'phase'] },
  metasync_ingest_run_duration_seconds: { type: 'histogram', labels: ['outcome'] },
  metasync_ingest_containers_ready_seconds: { type: 'histogram', labels: ['outcome'] },
  metasync_spark_jobs_running: { type: 'gauge', labels: ['job'] },
  metasync_spark_job_rows_total: { type: 'counter', labels: ['job'] },
  metasync_spark_job_duration_seconds: { type: 'histogram', labels: ['job', 'outcome'] },
  metasync_incident_latency_seconds: { type: 'histogram', labels: ['source'] },
  metasync_incidents_applied_total: { type: 'counter', labels: ['tenant'] },
  metasync_propagation_assets_reached_total: { type: 'counter', labels: ['tenant', 'attribute'] },
  metasync_propagation_walk_duration_seconds: { type: 'histogram', labels: [] },
  metasync_outbound_events_total: { type: 'counter', labels: ['tenant', 'type'] },
  metasync_subscriber_events_total: { type: 'counter', labels: ['sink', 'outcome'] },
  metasync_dead_letters_total: { type: 'counter', labels: ['kind', 'reason'] },
  metasync_rejected_bodies_unkept_total: { type: 'counter', labels: ['reason'] },
  metasync_api_requests_total: { type: 'counter', labels: ['route', 'method', 'status'] },
  metasync_api_request_duration_seconds: { type: 'histogram', labels: ['route', 'method'] },
  metasync_kafka_consumer_lag: { type: 'gauge', labels: ['group', 'topic', 'partition'] },
};

const registered = (name: string) => registry.getSingleMetric(name);

describe('metrics registry', () => {
  it('holds every metric of the catalog, of its type, with exactly its labels', async () => {
    for (const [name, { type, labels }] of Object.entries(CATALOG)) {
      const metric = registered(name);
      assert.ok(metric, `${name} is registered`);
      const { type: actualType } = await metric.get();
      assert.equal(actualType, type, `${name} is a ${type}`);
      assert.deepEqual((metric as unknown as { labelNames: string[] }).labelNames, labels, `${name}'s labels`);
    }
  });

  it('carries the default process metrics', async () => {
    const text = await registry.metrics();
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_eventloop_lag_seconds /m);
  });

  it('has incident latency buckets from 5 ms to 30 s', () => {
    const { upperBounds } = metrics.incidentLatency.metric as unknown as { upperBounds: number[] };
    assert.equal(upperBounds[0], 0.005);
    assert.equal(upperBounds.at(-1), 30);
  });

  it('serves the registry as Prometheus text at GET /metrics, and nothing else', async () => {
    metrics.deadLetters.inc({ kind: 'api', reason: 'malformed_json' });
    const server = await serveMetrics(0);
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
      assert.match(await response.text(), /^metasync_dead_letters_total\{kind="api",reason="malformed_json"\} \d+$/m);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/`)).status, 404);
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('metric labels stay bounded', () => {
  it('takes a tenant id as a tenant, and nothing else', () => {
    assert.equal(tenantLabel('acme-eu'), 'acme-eu');
    assert.equal(tenantLabel('postgres://warehouse/analytics/prod/orders'), 'invalid');
    assert.equal(tenantLabel('Acme'), 'invalid');
    assert.equal(tenantLabel('a'.repeat(64)), 'invalid');
  });

  it('names asset types of the estate, and any other kind other', () => {
    for (const type of ['database', 'schema', 'table', 'view', 'column', 'lineage']) {
      assert.equal(assetTypeLabel(type), type);
    }
    assert.equal(assetTypeLabel('orders'), 'other');
    assert.equal(assetTypeLabel('postgres://warehouse/analytics/prod/orders'), 'other');
  });

  it('labels API requests by route pattern, a known method and a three-digit status', () => {
    assert.equal(routeLabel('/v1/tenants/:tenant/assets/:qualifiedName'), '/v1/tenants/:tenant/assets/:qualifiedName');
    assert.equal(routeLabel(undefined), 'unmatched');
    assert.equal(routeLabel(''), 'unmatched');
    assert.equal(methodLabel('POST'), 'POST');
    assert.equal(methodLabel('PROPFIND'), 'OTHER');
    assert.equal(statusLabel(404), '404');
  });

  it('codes the reasons dead letters give, whatever they quote', () => {
    const cases: [string, string][] = [
      ['oversized message: 2000000 bytes > 1048576', 'oversized'],
      ['empty message: expected a JSON event envelope', 'empty'],
      ['not UTF-8: the bytes are not valid UTF-8 text', 'not_utf8'],
      ['malformed JSON: Unexpected token } in JSON at position 4', 'malformed_json'],
      ['invalid message: payload.incidentId: expected string', 'invalid'],
      ['tenant mismatch: the event claims "umbrella" on tenant "acme"\'s topic', 'tenant_mismatch'],
      ['key mismatch: message key is "acme/x" but the event\'s key is "acme/y"', 'key_mismatch'],
      ['unknown tenant "ghost"', 'unknown_tenant'],
      ['tenant "acme" is suspended: its events are kept here until it is resumed', 'tenant_suspended'],
      ['Temporal refused the event: 3 INVALID_ARGUMENT: too big', 'temporal_refused'],
      ['could not apply the event: Cassandra refused the incident', 'not_applicable'],
      ['a lineage edge of this event is invalid: outputs.0.name: too long', 'lineage_invalid'],
      ['postgres://shop/shop/public/orders/email: no such column', 'other'],
    ];
    for (const [reason, code] of cases) assert.equal(reasonCode(reason), code, reason);
  });

  it('tells the kind of a dead letter from where it came from', () => {
    assert.equal(deadLetterKind('metasync.inbound.acme.commands'), 'commands');
    assert.equal(deadLetterKind('metasync.inbound.acme.incidents'), 'incidents');
    assert.equal(deadLetterKind('metasync.inbound.acme.lineage'), 'lineage');
    assert.equal(deadLetterKind('metasync.outbound.acme'), 'outbound');
    assert.equal(deadLetterKind('http.monte-carlo'), 'api');
    assert.equal(deadLetterKind('http.openlineage'), 'api');
  });

  it('makes consumer lag labels of group, topic and partition number', () => {
    assert.deepEqual(lagLabels('metasync-incident-bridge', 'metasync.inbound.acme.incidents', 1), {
      group: 'metasync-incident-bridge',
      topic: 'metasync.inbound.acme.incidents',
      partition: '1',
    });
  });

  it('refuses, at compile time, a free string where a bounded label goes', () => {
    // Each would put an arbitrary string (an asset name) into a label: the type checker refuses it.
    const name = 'postgres://warehouse/analytics/prod/orders';
    const asTenant: Parameters<typeof metrics.incidentsApplied.inc>[0] = {
      // @ts-expect-error a tenant label comes from tenantLabel only
      tenant: name,
    };
    const asType: Parameters<typeof metrics.assetsWritten.inc>[0] = {
      tenant: tenantLabel('acme'),
      // @ts-expect-error an asset type comes from assetTypeLabel only
      asset_type: name,
      phase: 'containers',
    };
    const asAttribute: Parameters<typeof metrics.propagationReached.inc>[0] = {
      tenant: tenantLabel('acme'),
      // @ts-expect-error an attribute is one of the four annotation attributes
      attribute: name,
    };
    assert.ok(asTenant && asType && asAttribute);
  });
});

describe('flow metric arithmetic', () => {
  it('counts an asset written when it was added or updated', () => {
    const counts = {
      table: { added: 3, updated: 1, unchanged: 5, deleted: 2, rejected: 1 },
      view: { added: 0, updated: 0, unchanged: 4, deleted: 0, rejected: 0 },
      column: { added: 0, updated: 7, unchanged: 0, deleted: 0, rejected: 0 },
    };
    assert.deepEqual(writtenByType(counts), [
      ['table', 4],
      ['column', 7],
    ]);
    assert.deepEqual(writtenByType(undefined), []);
  });

  it('measures lag from the committed offset, or from the start when nothing is committed', () => {
    const ends = [
      { partition: 0, low: '0', high: '10' },
      { partition: 1, low: '4', high: '9' },
      { partition: 2, low: '0', high: '0' },
    ];
    assert.deepEqual(
      partitionLags(ends, [
        { partition: 0, offset: '7' },
        { partition: 1, offset: '-1' },
      ]),
      [
        { partition: 0, lag: 3 },
        { partition: 1, lag: 5 },
        { partition: 2, lag: 0 },
      ],
    );
  });
});
