import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ResultPromise } from 'execa';
import { changeOutcome } from '../../control/annotate.js';
import { MONTE_CARLO_SIGNATURE_HEADER, signMonteCarloBody } from '../../lib/incidents/monteCarlo/index.js';
import type { IngestInput, IngestProgress } from '../../lib/ingest/contracts.js';
import { ensureTopic } from '../../lib/kafka/ensureTopic.js';
import { withKafkaAdmin } from '../../lib/kafka/provisioning.js';
import { inboundTopic, outboundTopic } from '../../lib/kafka/topics.js';
import type { LineageEdge } from '../../lib/lineage/contracts.js';
import { serveMetrics, type MetricsServer } from '../../lib/platform/metrics.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { saveSubscription } from '../../lib/stores/subscriptions.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import { ingestEstate } from '../../workflows/index.js';
import { subscriptionGroupId } from '../../workers/subscriptions.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { estateSize, generateEstate } from '../support/estateGenerator.js';
import { eventually, freePort, testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { tenantWithMonteCarlo } from '../support/incidents.js';
import { spawnApp } from '../support/processes.js';
import { scrape, series, total, type Sample } from '../support/prometheus.js';
import { openStack } from '../support/stack.js';

/**
 * Every process serves its metrics, and the flows record theirs where the work happens. The worker and the bridge
 * run as their own processes (as the stack runs them), each on its own metrics port, so each registry holds only
 * what that process did; the API and the subscribers run in this process, whose registry serves on a port too.
 * One incident webhook, one small ingestion (NDJSON, 2 buckets, one Spark job), one annotation propagated and
 * delivered to a Kafka sink, and two dead letters (a bad webhook body, a bad Kafka message) are then read back.
 */

const tenant = uniqueTenant('metrics');
const ports = { worker: await freePort(), sdk: await freePort(), bridge: await freePort() };
const config = testConfig({
  METASYNC_TASK_QUEUE: uniqueId('metasync-metrics'),
  METASYNC_KAFKA_GROUP_PREFIX: uniqueId('metasync-test-metrics'),
  METASYNC_BRIDGE_TENANTS: tenant,
  METASYNC_KAFKA_LAG_SECONDS: '1',
  METASYNC_METRICS_PORT: String(ports.worker),
  METASYNC_TEMPORAL_METRICS_PORT: String(ports.sdk),
});
const bridgeConfig = testConfig({
  METASYNC_TASK_QUEUE: config.temporal.taskQueue,
  METASYNC_KAFKA_GROUP_PREFIX: config.kafka.groupPrefix,
  METASYNC_BRIDGE_TENANTS: tenant,
  METASYNC_KAFKA_LAG_SECONDS: '1',
  METASYNC_METRICS_PORT: String(ports.bridge),
});
const stack = openStack(config);
const { postgres, cassandra, temporal } = stack;
const secret = randomBytes(32).toString('base64url');
const sinkTopic = `metasync.sink.${tenant}.feed`;
const connectionId = 'warehouse';
const shape = { databases: 1, schemasPerDatabase: 1, tablesPerSchema: 3, columnsPerTable: 4 };
const options: IngestInput['options'] = {
  buckets: 2,
  containerConcurrency: 2,
  columnsPerJob: 1_000_000,
  bucketsPerColumnsJob: 2, // several small jobs, whatever their size
  childrenPerWave: 1,
  wavesPerRun: 1,
};

const prefix = `postgres://shop-${tenant}/shop/public`;
const source = `${prefix}/customers/email`;
const downstream = [`${prefix}/report_a/email`, `${prefix}/report_b/email`];
const edge = (to: string): LineageEdge => ({
  upstream: source,
  downstream: to,
  level: 'column',
  kind: 'manual',
  origin: 'manual',
  propagates: true,
  transformation: null,
  downstreamType: 'column',
});

/** A process this test spawned: stopped (SIGTERM, then waited for) at close. */
function spawned(child: ResultPromise): void {
  stack.defer(async () => {
    child.kill('SIGTERM');
    await child;
  });
}

/** Scrapes until `ready` holds (a process's metrics come in as its work ends), or fails naming `what`. */
const scrapeUntil = (port: number, ready: (samples: Sample[]) => boolean, what: string) =>
  eventually(
    async () => {
      const samples = await scrape(port).catch(() => undefined);
      return samples && ready(samples) ? samples : undefined;
    },
    60_000,
    what,
  );

describe('Prometheus metrics of every process and flow', () => {
  let api: TestApi;
  let base: string;
  let local: MetricsServer;
  let progress: IngestProgress;

  before(async () => {
    stack.dropTopicsAtClose(tenant);
    await tenantWithMonteCarlo(config, postgres, tenant);
    await saveMonteCarloSecret(postgres, config.secretsKey, tenant, secret);
    stack.defer(async () => {
      await postgres.query('DELETE FROM subscriptions WHERE tenant = $1', [tenant]);
      await withKafkaAdmin(config, async (admin) => {
        await admin.deleteTopics({ topics: [sinkTopic] }).catch(() => undefined);
        const groups = ['command-bridge', 'incident-bridge', 'lineage-bridge'].map(
          (kind) => `${config.kafka.groupPrefix}-${kind}`,
        );
        await admin
          .deleteGroups([...groups, subscriptionGroupId(config.kafka.groupPrefix, tenant, 'feed')])
          .catch(() => undefined);
      });
    });
    await ensureTopic(stack.kafka, sinkTopic);
    await lineageStore(cassandra).upsertEdges(tenant, downstream.map(edge));
    await saveSubscription(postgres, tenant, 'feed', { sink: { type: 'kafka', topic: sinkTopic } });

    // This process: the API (listening, so its hooks see real requests) and the subscribers, on one registry.
    local = await serveMetrics(0);
    stack.defer(() => local.close());
    api = await startTestApi(stack, []);
    base = await api.app.listen({ host: '127.0.0.1', port: 0 });
    await stack.subscribers({ tenants: [tenant], pollMs: 500 });

    spawned(spawnApp('workers/worker.ts', config, `test-worker-${tenant}`));
    spawned(spawnApp('workers/bridge.ts', bridgeConfig, `test-bridge-${tenant}`));
    // Both are up once they serve their metrics (the worker's SDK metrics once its workers run).
    await scrapeUntil(ports.bridge, (s) => series(s, 'metasync_kafka_consumer_lag').length > 0, 'the bridge up');
    await scrapeUntil(ports.sdk, (s) => s.some((sample) => sample.name.startsWith('temporal_')), 'the worker up');
  });

  after(() => stack.close());

  it('times an incident from its webhook’s Kafka message to its assets, in the worker', async () => {
    const body = readFileSync(new URL('../fixtures/montecarlo/anomaly-incident.json', import.meta.url));
    const webhook = (bytes: Buffer) =>
      fetch(`${base}/v1/tenants/${tenant}/webhooks/monte-carlo`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          [MONTE_CARLO_SIGNATURE_HEADER]: signMonteCarloBody(bytes, secret),
        },
        body: bytes,
      });
    assert.equal((await webhook(body)).status, 202);
    // Signed, but not what the contract says a webhook is: refused and dead-lettered.
    const bad = Buffer.from(JSON.stringify({ ...(JSON.parse(body.toString()) as object), account: { name: 'no id' } }));
    assert.equal((await webhook(bad)).status, 400);

    const worker = await scrapeUntil(
      ports.worker,
      (s) => total(s, 'metasync_incident_latency_seconds_count') > 0,
      'the incident applied',
    );
    const latency = { source: 'monte-carlo-webhook' };
    assert.equal(total(worker, 'metasync_incident_latency_seconds_count', latency), 1);
    const seconds = total(worker, 'metasync_incident_latency_seconds_sum', latency);
    assert.ok(seconds > 0 && seconds < 30, `incident latency ${seconds} s`);
    // Buckets down to 5 ms: the histogram can tell 70 ms from 1.8 s.
    assert.ok(series(worker, 'metasync_incident_latency_seconds_bucket', { ...latency, le: '0.005' }).length === 1);
    assert.equal(total(worker, 'metasync_incidents_applied_total', { tenant }), 1);
    assert.ok(await incidentStore(cassandra).get(tenant, 'f83867b6-8f25-428b-807c-08518f63384c'));

    const here = await scrape(local.port);
    const route = '/v1/tenants/:tenant/webhooks/monte-carlo';
    assert.equal(total(here, 'metasync_api_requests_total', { route, method: 'POST', status: '202' }), 1);
    assert.equal(total(here, 'metasync_api_requests_total', { route, method: 'POST', status: '400' }), 1);
    assert.equal(total(here, 'metasync_api_request_duration_seconds_count', { route, method: 'POST' }), 2);
    assert.equal(
      total(here, 'metasync_dead_letters_total', { kind: 'api', reason: 'invalid' }),
      1,
      JSON.stringify(series(here, 'metasync_dead_letters_total')),
    );
    // No label carries a URL, hence no tenant's name in a route.
    for (const sample of series(here, 'metasync_api_requests_total'))
      assert.doesNotMatch(sample.labels['route']!, /metrics-/);
  });

  it('counts a bad Kafka message dead-lettered by the bridge, by kind and reason code', async () => {
    const producer = await stack.producer();
    await producer.send({
      topic: inboundTopic(tenant, 'incidents'),
      acks: -1,
      messages: [{ key: `${tenant}/x`, value: '{"not": "an event"' }],
    });
    const bridge = await scrapeUntil(
      ports.bridge,
      (s) => total(s, 'metasync_dead_letters_total') > 0,
      'the bad message dead-lettered',
    );
    assert.equal(total(bridge, 'metasync_dead_letters_total', { kind: 'incidents', reason: 'malformed_json' }), 1);
    // The bridge's lag: its incident group on each partition of the tenant's topic, caught up once it committed.
    const lag = await scrapeUntil(
      ports.bridge,
      (s) =>
        series(s, 'metasync_kafka_consumer_lag', { topic: inboundTopic(tenant, 'incidents') }).length ===
          config.kafka.tenantPartitions &&
        total(s, 'metasync_kafka_consumer_lag', { topic: inboundTopic(tenant, 'incidents') }) === 0,
      'the incident bridge caught up',
    );
    for (const sample of series(lag, 'metasync_kafka_consumer_lag', { topic: inboundTopic(tenant, 'incidents') })) {
      assert.equal(sample.labels['group'], `${config.kafka.groupPrefix}-incident-bridge`);
      assert.match(sample.labels['partition']!, /^\d+$/);
    }
    assert.ok(series(lag, 'process_cpu_seconds_total').length === 1, 'default process metrics');
  });

  it('counts an ingestion’s assets per type and phase, its Spark job and its run, as the run counted them', async (t) => {
    const records = [...generateEstate(shape)];
    await objectStore(stack.s3, config.s3.bucket).putNdjsonGz(
      `tenants/${tenant}/dumps/estate.ndjson.gz`,
      records.map((record) => JSON.stringify(record)),
    );
    const runId = 'run-1';
    progress = await temporal.workflow.execute(ingestEstate, {
      workflowId: ingestWorkflowId(tenant, connectionId, runId),
      taskQueue: config.temporal.taskQueue,
      args: [{ tenant, connectionId, runId, options }],
      typedSearchAttributes: runSearchAttributes(tenant, 'ingest', connectionId),
    });
    assert.equal(progress.phase, 'completed');
    assert.equal(progress.counts['column']?.added, estateSize(shape).columns);

    const worker = await scrape(ports.worker);
    for (const [type, counts] of Object.entries(progress.counts)) {
      const phase = type === 'column' ? 'columns' : 'containers';
      assert.equal(
        total(worker, 'metasync_assets_written_total', { tenant, asset_type: type, phase }),
        counts.added + counts.updated,
        `${type} written in the ${phase} phase`,
      );
    }
    const completed = { outcome: 'completed' };
    assert.equal(total(worker, 'metasync_ingest_run_duration_seconds_count', completed), 1);
    assert.equal(total(worker, 'metasync_ingest_containers_ready_seconds_count', completed), 1);
    const runSeconds = total(worker, 'metasync_ingest_run_duration_seconds_sum', completed);
    const readySeconds = total(worker, 'metasync_ingest_containers_ready_seconds_sum', completed);
    assert.ok(readySeconds > 0 && readySeconds < runSeconds, `containers ready ${readySeconds} s, run ${runSeconds} s`);
    const sparkSeconds = total(worker, 'metasync_spark_job_duration_seconds_sum');
    t.diagnostic(
      `run ${runSeconds.toFixed(1)} s, containers ready ${readySeconds.toFixed(1)} s, Spark job ${sparkSeconds.toFixed(1)} s`,
    );

    const job = { job: 'load_columns' };
    assert.equal(total(worker, 'metasync_spark_jobs_running', job), 0);
    assert.equal(total(worker, 'metasync_spark_job_rows_total', job), estateSize(shape).columns);
    assert.equal(total(worker, 'metasync_spark_job_duration_seconds_count', { ...job, outcome: 'succeeded' }), 1);
  });

  it('counts a propagation’s reach, its walk, its outbound events and their delivery to a sink', async () => {
    const key = await api.keyOf(tenant, ['annotate']);
    const response = await api.call(key, 'POST', `/v1/tenants/${tenant}/annotations`, {
      qualifiedName: source,
      op: 'add',
      attribute: 'classification',
      value: 'PII',
    });
    assert.equal(response.statusCode, 202, response.body);
    const outcome = await changeOutcome(
      temporal,
      response.json<{ changeWorkflowId: string }>().changeWorkflowId,
      60_000,
    );
    assert.equal(outcome.reached, 3, 'the source and its two downstream columns');

    const worker = await scrape(ports.worker);
    assert.equal(
      total(worker, 'metasync_propagation_assets_reached_total', { tenant, attribute: 'classification' }),
      downstream.length,
    );
    assert.ok(total(worker, 'metasync_propagation_walk_duration_seconds_count') >= 1);
    assert.equal(
      total(worker, 'metasync_outbound_events_total', { tenant, type: 'asset.annotation-changed' }),
      downstream.length + 1,
    );

    const here = await scrapeUntil(
      local.port,
      (s) => total(s, 'metasync_subscriber_events_total', { sink: 'kafka', outcome: 'delivered' }) === 3,
      'the three changes delivered to the Kafka sink',
    );
    const group = subscriptionGroupId(config.kafka.groupPrefix, tenant, 'feed');
    const lag = await scrapeUntil(
      local.port,
      (s) => series(s, 'metasync_kafka_consumer_lag', { group, topic: outboundTopic(tenant) }).length > 0,
      'the subscription’s lag',
    );
    assert.ok(series(lag, 'metasync_kafka_consumer_lag', { group }).length === config.kafka.tenantPartitions);
    assert.equal(total(here, 'metasync_subscriber_events_total', { outcome: 'dead_lettered' }), 0);
  });

  it('serves the Temporal SDK’s own worker metrics from the worker, on their port', async () => {
    const sdk = await scrape(ports.sdk);
    const names = new Set(sdk.map((sample) => sample.name));
    assert.ok(
      [...names].some((name) => name.startsWith('temporal_workflow_task')),
      `workflow task metrics among ${[...names].slice(0, 20).join(', ')}`,
    );
    assert.ok(
      series(sdk, 'temporal_worker_task_slots_available', { task_queue: config.temporal.taskQueue }).length > 0,
    );
  });
});
