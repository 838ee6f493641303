import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { changeOutcome, requestAnnotation } from '../../control/annotate.js';
import { SourceConnection } from '../../lib/extractors/index.js';
import { ensureTopic } from '../../lib/kafka/ensureTopic.js';
import { inboundTopic } from '../../lib/kafka/topics.js';
import { serveMetrics } from '../../lib/platform/metrics.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { saveSubscription } from '../../lib/stores/subscriptions.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import {
  panelQueries,
  resolveVariables,
  withoutZeroFallback,
  type PanelQuery,
} from '../../observability/panelQueries.js';
import { grafanaDir } from '../../starters/dashboards.js';
import { createIncidentBridge } from '../../workers/incidentBridge.js';
import { ingestEstate } from '../../workflows/index.js';
import { startTestApi } from '../support/api.js';
import { eventually, freePort, testConfig, testGroup, uniqueId, uniqueTenant } from '../support/harness.js';
import { incidentEvent, produceIncidentEvents, tenantWithMonteCarlo } from '../support/incidents.js';
import { sourceLogin } from '../support/postgresCluster.js';
import {
  addScrapeTargets,
  loadedAlerts,
  queryRange,
  scrapedSince,
  type RangeQuery,
} from '../support/prometheusServer.js';
import { openStack } from '../support/stack.js';

/**
 * The dashboards are true: after an ingestion (with its Spark jobs), an incident (and a malformed one, dead-lettered),
 * a propagation delivered to an enforcement subscriber and a few API calls, every panel query of every committed
 * dashboard (observability/grafana/dashboards/) runs against the live Prometheus without error and returns series
 * (a stat's `or vector(0)`, which shows 0 for no data, is left out: the series it stands in for must be there).
 *
 * The components run in-process, so their metrics are this process's: served on a port of the test's own, and the
 * Temporal SDK's on another, both registered with Prometheus through a file_sd targets file removed at the end.
 */

const config = testConfig({ METASYNC_TEMPORAL_METRICS_PORT: String(await freePort()) });
const run = uniqueId('dashboards');
const tenant = uniqueTenant('dashboards');
const connectionId = 'shop';
const database = `dash_${run.slice('dashboards-'.length).replace(/-/g, '_')}`;
const stack = openStack(config);
const { postgres, temporal, cassandra } = stack;
const login = sourceLogin(config);
const startedMs = Date.now();
const alertsFile = new URL('../../observability/alerts.yml', import.meta.url);

/** Every panel query of the committed dashboards. */
function committedQueries(): PanelQuery[] {
  const folder = `${grafanaDir}dashboards/`;
  return readdirSync(folder)
    .filter((file) => file.endsWith('.json'))
    .flatMap((file) => panelQueries(JSON.parse(readFileSync(folder + file, 'utf8')) as unknown));
}

describe('every dashboard panel answers from the live Prometheus after the main flows', () => {
  before(async () => {
    const metricsServer = await serveMetrics(0);
    stack.defer(() => metricsServer.close());

    await tenantWithMonteCarlo(config, postgres, tenant);
    stack.dropTopicsAtClose(tenant);
    await stack.sourceDatabase(
      database,
      `CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
       CREATE VIEW customer_contacts AS SELECT id, name, email FROM customers;`,
    );
    const source = SourceConnection.parse({ type: 'postgres', ...login, database });
    await saveConnection(postgres, config.secretsKey, tenant, connectionId, source);
    // A Kafka sink, the simplest the subscribers deliver to: the tenant's own sink topic.
    const sinkTopic = `metasync.sink.${tenant}.dashboards`;
    await ensureTopic(stack.kafka, sinkTopic);
    stack.defer(async () => {
      const admin = stack.kafka.admin();
      await admin.connect();
      await admin.deleteTopics({ topics: [sinkTopic] }).finally(() => admin.disconnect());
    });
    await saveSubscription(postgres, tenant, 'dashboards-out', { sink: { type: 'kafka', topic: sinkTopic } });
    stack.defer(() => postgres.query('DELETE FROM subscriptions WHERE tenant = $1', [tenant]));

    await stack.workers();
    await stack.bridge(createIncidentBridge, testGroup('dashboards-incidents'), { tenants: [tenant] });
    await stack.subscribers({ tenants: [tenant], pollMs: 500 });

    const removeTargets = await addScrapeTargets(run, [
      { address: `127.0.0.1:${metricsServer.port}`, job: 'metasync-test' },
      { address: `127.0.0.1:${config.metrics.temporalPort}`, job: 'temporal-sdk' },
    ]);
    stack.defer(removeTargets);
  });

  after(() => stack.close());

  it('runs the flows the dashboards watch', async () => {
    const api = await startTestApi(stack);
    const key = await api.keyOf(tenant, ['read']);
    assert.equal((await api.call(key, 'GET', `/v1/tenants/${tenant}`)).statusCode, 200);
    assert.equal((await api.call(undefined, 'GET', `/v1/tenants/${tenant}`)).statusCode, 401);

    // The ingestion's Spark job takes the longest: the incident goes meanwhile.
    const ingestion = await temporal.workflow.start(ingestEstate, {
      workflowId: ingestWorkflowId(tenant, connectionId, 'run-1'),
      taskQueue: config.temporal.taskQueue,
      args: [
        {
          tenant,
          connectionId,
          runId: 'run-1',
          options: {
            buckets: 1,
            containerConcurrency: 1,
            columnsPerJob: 1_000_000,
            childrenPerWave: 1,
            wavesPerRun: 1,
          },
        },
      ],
      typedSearchAttributes: runSearchAttributes(tenant, 'ingest', connectionId),
    });

    const incidentId = uniqueId('inc');
    const producer = await stack.producer();
    await produceIncidentEvents(producer, [incidentEvent(tenant, incidentId, 0)]);
    await producer.send({ topic: inboundTopic(tenant, 'incidents'), messages: [{ key: 'x', value: '{not json' }] });
    const incidents = incidentStore(cassandra);
    await eventually(
      async () => (await incidents.get(tenant, incidentId))?.eventsApplied,
      30_000,
      'the incident applied to its asset',
    );

    assert.equal((await ingestion.result()).phase, 'completed');

    const change = {
      qualifiedName: `postgres://${connectionId}/${database}/public/customers/email`,
      op: 'add',
      attribute: 'classification',
      value: 'PII',
      actor: 'test',
    } as const;
    const ids = await requestAnnotation(temporal, config.temporal, tenant, change, randomUUID());
    const outcome = await changeOutcome(temporal, ids.changeWorkflowId, 120_000);
    assert.equal(outcome.reached, 2, 'the column and the view column copying it');
  });

  it('answers every panel query with series', async () => {
    const queries = committedQueries();
    assert.ok(queries.length > 20, `only ${queries.length} panel queries found`);
    // Rates need two scrapes after the last change: wait for a scrape that began after the flows ended, then retry
    // what has no series yet for a while (a counter's first sample gives a rate only with its second).
    const flowsEnded = Date.now();
    await scrapedSince(run, flowsEnded, 2);
    const deadline = Date.now() + 45_000;
    let failing: { query: PanelQuery; result: RangeQuery }[];
    let pending = queries;
    do {
      const results = await Promise.all(
        pending.map(async (query) => ({
          query,
          result: await queryRange(withoutZeroFallback(resolveVariables(query.expr, 600)), startedMs, Date.now()),
        })),
      );
      const errors = results.filter(({ result }) => !result.ok);
      assert.deepEqual(
        errors.map(
          ({ query, result }) => `${query.dashboard} / ${query.panel}: ${query.expr}: ${JSON.stringify(result)}`,
        ),
        [],
        'panel queries Prometheus refuses',
      );
      failing = results.filter(({ result }) => result.ok && result.series === 0);
      pending = failing.map(({ query }) => query);
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 5000));
    } while (pending.length > 0 && Date.now() < deadline);
    assert.deepEqual(
      failing.map(({ query }) => `${query.dashboard} / ${query.panel} (${query.refId}): ${query.expr}`),
      [],
      'panel queries that return no series',
    );
  });

  it('evaluates every alerting rule of observability/alerts.yml on the live data without error', async () => {
    const declared = [...readFileSync(alertsFile, 'utf8').matchAll(/^\s+- alert: (\w+)/gm)].map((match) => match[1]);
    // Prometheus evaluates every 5 s: give it one round after the flows' series arrived.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const loaded = await loadedAlerts();
    assert.deepEqual(
      loaded.map((rule) => rule.name).sort(),
      [...declared].sort(),
      'the running Prometheus has other rules than observability/alerts.yml: `bash stack/up.sh prometheus` reloads them',
    );
    assert.deepEqual(
      loaded.filter((rule) => rule.health !== 'ok').map((rule) => `${rule.name}: ${rule.health} ${rule.lastError}`),
      [],
    );
  });
});
