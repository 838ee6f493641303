import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { isEstateAssetType } from '../ingest/contracts.js';
import { TenantId } from './ids.js';

/**
 * The process's Prometheus metrics: one registry, the default process metrics, and every metric of the catalog
 * (docs/observability.md, "Metrics"), defined here once. Labels never carry an asset name or id: every label value
 * has a type that only a bounded set of values (or a checked tenant id) can have, made by the functions below.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

// Label values. A branded string can only come from its maker, so a free string (an asset name) cannot slip in.
declare const bounded: unique symbol;
type Bounded<Name extends string> = string & { readonly [bounded]: Name };

export type TenantLabel = Bounded<'tenant'>;
/** A tenant id as a label: tenants are a bounded, operator-created set. Anything else is `invalid`. */
export const tenantLabel = (tenant: string): TenantLabel =>
  (TenantId.safeParse(tenant).success ? tenant : 'invalid') as TenantLabel;

export type AssetTypeLabel = Bounded<'asset_type'>;
/** The estate's asset types and lineage; a kind a source made up (a dump's own) counts as `other`. */
export const assetTypeLabel = (type: string): AssetTypeLabel =>
  (isEstateAssetType(type) || type === 'lineage' ? type : 'other') as AssetTypeLabel;

export type RouteLabel = Bounded<'route'>;
/** The Fastify route pattern (/v1/tenants/:tenant/runs), never the URL; a request no route matched is `unmatched`. */
export const routeLabel = (pattern: string | undefined): RouteLabel => (pattern || 'unmatched') as RouteLabel;

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
export type MethodLabel = Bounded<'method'>;
export const methodLabel = (method: string): MethodLabel => (METHODS.has(method) ? method : 'OTHER') as MethodLabel;

export type AttributeLabel = 'classification' | 'tag' | 'owner' | 'description';
export type Phase = 'containers' | 'columns';
export type RunOutcome = 'completed' | 'failed' | 'cancelled';
export type SparkJob = 'load_assets' | 'load_columns';
export type SparkOutcome = 'succeeded' | 'failed';
export type SinkLabel = 'kafka' | 'postgres-enforcement';
export type SubscriberOutcome = 'delivered' | 'dead_lettered' | 'retried';
export type DeadLetterKind = 'commands' | 'incidents' | 'lineage' | 'outbound' | 'sink' | 'api';

/**
 * Why something was dead-lettered, as a code: the reasons themselves quote what was refused (names, values), so
 * they go to the dead letter and the log, and the metric gets the first matching code.
 */
const REASON_CODES = [
  ['oversized', /^oversized /],
  ['empty', /^empty /],
  ['not_utf8', /^not UTF-8/],
  ['malformed_json', /^malformed JSON/],
  ['invalid', /^invalid /],
  ['tenant_mismatch', /^tenant mismatch/],
  ['key_mismatch', /^key mismatch/],
  ['unknown_tenant', /^unknown tenant/],
  ['tenant_suspended', /^tenant "[^"]*" is suspended/],
  ['temporal_refused', /^Temporal refused/],
  ['not_applicable', /^could not apply/],
  ['lineage_invalid', /^a lineage edge of this event is invalid/],
] as const;
export type ReasonCode = (typeof REASON_CODES)[number][0] | 'sink_refused' | 'other';

export const reasonCode = (reason: string): ReasonCode =>
  REASON_CODES.find(([, pattern]) => pattern.test(reason))?.[0] ?? 'other';

/** A metric whose labels are typed: `inc`/`observe`/`set` take exactly its labels, each of its bounded type. */
function counter<L extends Record<string, string>>(
  name: string,
  help: string,
  labelNames: readonly (keyof L & string)[],
) {
  const metric = new Counter({ name, help, labelNames, registers: [registry] });
  return { inc: (labels: L, value = 1) => metric.inc(labels, value), metric };
}
function histogram<L extends Record<string, string>>(
  name: string,
  help: string,
  labelNames: readonly (keyof L & string)[],
  buckets: number[],
) {
  const metric = new Histogram({ name, help, labelNames, buckets, registers: [registry] });
  return { observe: (labels: L, seconds: number) => metric.observe(labels, seconds), metric };
}
function gauge<L extends Record<string, string>>(
  name: string,
  help: string,
  labelNames: readonly (keyof L & string)[],
) {
  const metric = new Gauge({ name, help, labelNames, registers: [registry] });
  return {
    inc: (labels: L) => metric.inc(labels),
    dec: (labels: L) => metric.dec(labels),
    set: (labels: L, value: number) => metric.set(labels, value),
    remove: (labels: L) => metric.remove(labels),
    metric,
  };
}

/** Seconds, from 5 ms to 30 s: an incident takes tens of milliseconds, an alert fires over a second. */
const FAST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds, from a second to six hours: runs and Spark jobs. */
const SLOW_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600];
const API_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export const metrics = {
  assetsWritten: counter<{ tenant: TenantLabel; asset_type: AssetTypeLabel; phase: Phase }>(
    'metasync_assets_written_total',
    'Assets written to the lake (added or updated), per type and ingestion phase',
    ['tenant', 'asset_type', 'phase'],
  ),
  runDuration: histogram<{ outcome: RunOutcome }>(
    'metasync_ingest_run_duration_seconds',
    'Ingestion runs, from start to end, per outcome',
    ['outcome'],
    SLOW_BUCKETS,
  ),
  containersReady: histogram<{ outcome: RunOutcome }>(
    'metasync_ingest_containers_ready_seconds',
    "Ingestion runs, from start to the end of the containers phase, per the run's outcome",
    ['outcome'],
    SLOW_BUCKETS,
  ),
  sparkJobsRunning: gauge<{ job: SparkJob }>('metasync_spark_jobs_running', 'Spark jobs this worker runs now', ['job']),
  sparkJobRows: counter<{ job: SparkJob }>(
    'metasync_spark_job_rows_total',
    'Rows written by finished Spark jobs (rows/s = rate)',
    ['job'],
  ),
  sparkJobDuration: histogram<{ job: SparkJob; outcome: SparkOutcome }>(
    'metasync_spark_job_duration_seconds',
    'Spark jobs, from spark-submit to its exit, per outcome',
    ['job', 'outcome'],
    SLOW_BUCKETS,
  ),
  incidentLatency: histogram<{ source: Bounded<'source'> }>(
    'metasync_incident_latency_seconds',
    "Incident events, from their Kafka message's produce time to the assets updated in the lake",
    ['source'],
    FAST_BUCKETS,
  ),
  incidentsApplied: counter<{ tenant: TenantLabel }>(
    'metasync_incidents_applied_total',
    'Incident states written onto their assets',
    ['tenant'],
  ),
  propagationReached: counter<{ tenant: TenantLabel; attribute: AttributeLabel }>(
    'metasync_propagation_assets_reached_total',
    'Downstream assets a propagation walk reached',
    ['tenant', 'attribute'],
  ),
  propagationWalkDuration: histogram<Record<never, string>>(
    'metasync_propagation_walk_duration_seconds',
    'Propagation walks: one expandLevel activity (a level, or a slice of one, and what follows it from memory)',
    [],
    FAST_BUCKETS,
  ),
  outboundEvents: counter<{ tenant: TenantLabel; type: Bounded<'event_type'> }>(
    'metasync_outbound_events_total',
    'Events produced to the tenants’ outbound topics (metasync.outbound.<tenant>)',
    ['tenant', 'type'],
  ),
  subscriberEvents: counter<{ sink: SinkLabel; outcome: SubscriberOutcome }>(
    'metasync_subscriber_events_total',
    'Changes the subscribers handed to their sinks, per outcome (retried: one failed attempt)',
    ['sink', 'outcome'],
  ),
  deadLetters: counter<{ kind: DeadLetterKind; reason: ReasonCode }>(
    'metasync_dead_letters_total',
    'Messages and bodies dead-lettered (or, for the API past its quota, refused unkept), per kind and reason code',
    ['kind', 'reason'],
  ),
  rejectedBodiesUnkept: counter<{ reason: ReasonCode }>(
    'metasync_rejected_bodies_unkept_total',
    'Bodies the API refused but did not keep, its tenant being over its daily dead-letter quota',
    ['reason'],
  ),
  apiRequests: counter<{ route: RouteLabel; method: MethodLabel; status: Bounded<'status'> }>(
    'metasync_api_requests_total',
    'API requests answered, per route pattern, method and status',
    ['route', 'method', 'status'],
  ),
  apiRequestDuration: histogram<{ route: RouteLabel; method: MethodLabel }>(
    'metasync_api_request_duration_seconds',
    'API requests, from arrival to answer, per route pattern and method',
    ['route', 'method'],
    API_BUCKETS,
  ),
  consumerLag: gauge<{ group: Bounded<'group'>; topic: Bounded<'topic'>; partition: Bounded<'partition'> }>(
    'metasync_kafka_consumer_lag',
    "Messages behind: a partition's end offset minus the group's committed offset",
    ['group', 'topic', 'partition'],
  ),
};

/** The outbound event types MetaSync produces; a code of three digits as a status. */
export const eventTypeLabel = (type: 'asset.annotation-changed') => type as Bounded<'event_type'>;
export const statusLabel = (status: number) => String(Math.trunc(status)).slice(0, 3) as Bounded<'status'>;
/** Where an incident event came from: Monte Carlo's webhook (through the API), or a tenant's own Kafka producer. */
export const incidentSourceLabel = (from: 'monte-carlo-webhook' | 'kafka') => from as Bounded<'source'>;
/**
 * Consumer groups and topics are MetaSync's own (a bridge per kind, a subscription per tenant's subscription), and
 * per-tenant topics are bounded by tenants; partitions by the topic's partition count.
 */
export const lagLabels = (group: string, topic: string, partition: number) => ({
  group: group as Bounded<'group'>,
  topic: topic as Bounded<'topic'>,
  partition: String(partition) as Bounded<'partition'>,
});

/** Seconds since `startedMs` (Date.now() then). */
export const secondsSince = (startedMs: number): number => Math.max(0, (Date.now() - startedMs) / 1000);

/** Which kind of dead letter a message from `topic` is: inbound kinds by their topic, the API's bodies by source. */
export function deadLetterKind(topic: string): DeadLetterKind {
  const inbound = /^metasync\.inbound\.[a-z][a-z0-9-]{1,62}\.(commands|incidents|lineage)$/.exec(topic);
  if (inbound) return inbound[1] as DeadLetterKind;
  if (topic.startsWith('metasync.outbound.')) return 'outbound';
  if (topic.startsWith('http.')) return 'api';
  return 'sink';
}

export interface MetricsServer {
  /** The port it listens on (the one asked for, or the one given for 0 in tests). */
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus's text format) on its own port, apart from the API's public one: it needs no
 * tenant's key, so it listens on the loopback by default and only what scrapes it should reach it.
 */
export async function serveMetrics(port: number, host = '127.0.0.1'): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
