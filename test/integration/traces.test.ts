import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ResultPromise } from 'execa';
import { MONTE_CARLO_SIGNATURE_HEADER, signMonteCarloBody } from '../../lib/incidents/monteCarlo/index.js';
import { saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { eventually, freePort, testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { MONTE_CARLO_ACCOUNT, tenantWithMonteCarlo } from '../support/incidents.js';
import { spawnApp, untilLogged } from '../support/processes.js';
import { openStack } from '../support/stack.js';
import { ancestry, spanTree, traceWhere, zipkinSpansEndpoint, type ZipkinSpan } from '../support/zipkin.js';

/**
 * One trace per request, across processes: the API, the bridge and the worker run as the stack runs them (their own
 * processes, instrumentations preloaded, exporting to the stack's Zipkin), and the test reads the trace back through
 * Zipkin's API. In-process components would not do: the test runner has loaded pg, kafkajs and cassandra-driver
 * before any test could install the instrumentations.
 */
const tenant = uniqueTenant('traces');
const config = testConfig({
  METASYNC_TASK_QUEUE: uniqueId('metasync-traces'),
  METASYNC_KAFKA_GROUP_PREFIX: uniqueId('metasync-test-traces'),
  METASYNC_BRIDGE_TENANTS: tenant,
});
const stack = openStack(config);
const { postgres, cassandra } = stack;
const secret = randomBytes(42).toString('base64url');

/** Monte Carlo's anomaly webhook, for this test's account (so its tables map to the tenant's connection). */
function webhookBody(incidentId: string): Buffer {
  const body = JSON.parse(
    readFileSync(new URL('../fixtures/montecarlo/anomaly-incident.json', import.meta.url), 'utf8'),
  ) as { account: { id: string }; payload: { incident_id: string; url: string } };
  body.account.id = MONTE_CARLO_ACCOUNT;
  body.payload.incident_id = incidentId;
  body.payload.url = `https://getmontecarlo.com/incidents/${incidentId}`;
  return Buffer.from(JSON.stringify(body));
}

const of = (service: string, spans: ZipkinSpan[]) => spans.filter((s) => s.localEndpoint.serviceName === service);
const named = (pattern: RegExp, spans: ZipkinSpan[]) => spans.filter((s) => pattern.test(s.name));
/** Zipkin keeps span names lowercase. */
const isCassandra = (s: ZipkinSpan) => s.tags['db.system.name'] === 'cassandra';

describe('traces: one trace from the Monte Carlo webhook to Cassandra', () => {
  const processes: ResultPromise[] = [];
  let base = '';

  before(async () => {
    stack.dropTopicsAtClose(tenant);
    await tenantWithMonteCarlo(config, postgres, tenant);
    await saveMonteCarloSecret(postgres, config.secretsKey, tenant, secret);
    const port = await freePort();
    const run = (entry: 'workers/worker.ts' | 'workers/bridge.ts' | 'api/main.ts', ready: string) => {
      const name = uniqueId(`test-traced-${entry.replace(/\W/g, '-')}`);
      const child = spawnApp(entry, config, name, {
        tracesUrl: zipkinSpansEndpoint,
        // A workflow's span ends, and is exported, when the workflow does: the incident's ends after 3 quiet seconds.
        // Every trace kept (production samples a share of them: docs/observability.md).
        env: {
          METASYNC_API_PORT: String(port),
          METASYNC_INCIDENT_QUIET_SECONDS: '3',
          METASYNC_TRACES_SAMPLE_RATIO: '1',
        },
      });
      processes.push(child);
      return untilLogged(child, name, ready);
    };
    await Promise.all([
      run('workers/worker.ts', 'worker running'),
      run('workers/bridge.ts', 'bridge consuming'),
      run('api/main.ts', 'api listening'),
    ]);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    for (const child of processes) child.kill('SIGTERM');
    await Promise.all(processes);
    await stack.close();
  });

  it('links the webhook, its Kafka message, the bridge, the incident workflow, its activities and Cassandra', async (t) => {
    const incidentId = crypto.randomUUID();
    const body = webhookBody(incidentId);
    const response = await fetch(`${base}/v1/tenants/${tenant}/webhooks/monte-carlo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [MONTE_CARLO_SIGNATURE_HEADER]: signMonteCarloBody(body, secret) },
      body,
    });
    assert.equal(response.status, 202, await response.text());
    await eventually(() => incidentStore(cassandra).get(tenant, incidentId), 60_000, 'the incident in the lake');

    // The trace is complete once the workflow has ended (its span is exported then) and its last write has arrived.
    const spans = await traceWhere(
      'metasync-worker',
      (trace) =>
        trace.some((s) => s.tags['temporal.workflow_id']?.includes(incidentId)) &&
        named(/^runworkflow:incidentlifecycle$/, trace).length > 0 &&
        of('metasync-worker', trace).some(isCassandra),
      `the trace of incident ${incidentId} in Zipkin`,
    );
    t.diagnostic(`\n${spanTree(spans)}`);

    const roots = spans.filter((s) => s.parentId === undefined);
    assert.equal(roots.length, 1, `one root:\n${spanTree(spans)}`);
    const [root] = roots;
    assert.equal(root?.localEndpoint.serviceName, 'metasync-api');
    assert.equal(root?.kind, 'SERVER');
    assert.match(root?.name ?? '', /webhooks\/monte-carlo/);

    const expected: [string, string, (s: ZipkinSpan) => boolean][] = [
      ['the webhook produced to Kafka', 'metasync-api', (s) => s.kind === 'PRODUCER'],
      ['the bridge consumed the message', 'metasync-bridge', (s) => s.kind === 'CONSUMER'],
      [
        'the bridge signalled the workflow',
        'metasync-bridge',
        (s) => s.name === 'signalwithstartworkflow:incidentlifecycle',
      ],
      ['the workflow ran', 'metasync-worker', (s) => s.name === 'runworkflow:incidentlifecycle'],
      ['the workflow took the signal', 'metasync-worker', (s) => s.name === 'handlesignal:incidentevent'],
      ['the workflow scheduled an activity', 'metasync-worker', (s) => s.name === 'startactivity:saveincident'],
      ['the activity ran', 'metasync-worker', (s) => s.name === 'runactivity:saveincident'],
      [
        'the activity wrote to Cassandra',
        'metasync-worker',
        (s) => isCassandra(s) && ancestry(s, spans).chain.some((a) => a.name === 'runactivity:saveincident'),
      ],
    ];
    for (const [what, service, matches] of expected) {
      const span = of(service, spans).find(matches);
      assert.ok(span, `${what}: no such span of ${service} in\n${spanTree(spans)}`);
      const { chain, missing } = ancestry(span, spans);
      assert.equal(missing, undefined, `${what}: its parent ${missing} is not in the trace`);
      assert.equal(chain.at(-1), root, `${what}: its parents lead to the webhook request`);
    }
  });
});
