import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { ResultPromise } from 'execa';
import { assetPropagationId } from '../../control/annotate.js';
import { MONTE_CARLO_SIGNATURE_HEADER, signMonteCarloBody } from '../../lib/incidents/monteCarlo/index.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { createApiKey } from '../../lib/stores/apiKeys.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { saveSubscription } from '../../lib/stores/subscriptions.js';
import { changeWorkflowId, ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import { estateSize, generateEstate, type EstateShape } from '../support/estateGenerator.js';
import { eventually, freePort, testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { MONTE_CARLO_ACCOUNT, tenantWithMonteCarlo } from '../support/incidents.js';
import { lakeRows, qualifiedNames } from '../support/lake.js';
import { asSuperuser, queryAs, sourceLogin } from '../support/postgresCluster.js';
import { spawnApp, untilLogged } from '../support/processes.js';
import { openStack } from '../support/stack.js';
import {
  assertLinked,
  named,
  of,
  rootOf,
  spanTree,
  tracesOf,
  traceWhere,
  under,
  zipkinSpansEndpoint,
  zipkinUrl,
  type Expected,
  type ZipkinSpan,
} from '../support/zipkin.js';

/**
 * One trace per request, across processes: the API, the bridge, the worker and the subscribers run as the stack runs
 * them (their own processes, instrumentations preloaded, exporting to the stack's Zipkin), and the tests read the
 * traces back through Zipkin's API: an incident from its webhook (and a second event of it), an ingestion run from
 * its API request to its Spark job, and an annotation change from its API request to the enforcement statement in
 * a downstream PostgreSQL (and a second change of the same asset). In-process components would not do: the test
 * runner has loaded pg, kafkajs and cassandra-driver before any test could install the instrumentations.
 */
const tenant = uniqueTenant('traces');
const config = testConfig({
  METASYNC_TASK_QUEUE: uniqueId('metasync-traces'),
  METASYNC_KAFKA_GROUP_PREFIX: uniqueId('metasync-test-traces'),
  // The bridge and the subscribers serve this tenant only.
  METASYNC_BRIDGE_TENANTS: tenant,
});
const stack = openStack(config);
const { postgres, cassandra } = stack;
const secret = randomBytes(42).toString('base64url');
/** The ingestion's estate: one Spark job. */
const shape: EstateShape = { databases: 1, schemasPerDatabase: 1, tablesPerSchema: 3, columnsPerTable: 4 };
const estate = [...generateEstate(shape)];
/** The enforcement's downstream database, owned by the stack's source role, and the role that loses SELECT. */
const unique = uniqueId('').replace(/\W/g, '_').toLowerCase();
const shopDb = `traces_shop${unique}`;
const analyst = `traces_analyst${unique}`;
/** The annotated column; its lineage leads to the downstream's customers.email. */
const sourceColumn = `test://${unique}/crm/public/users/email`;

/** Monte Carlo's anomaly webhook, for this test's account (so its tables map to the tenant's connection). */
function webhookBody(incidentId: string, owner?: string): Buffer {
  const body = JSON.parse(
    readFileSync(new URL('../fixtures/montecarlo/anomaly-incident.json', import.meta.url), 'utf8'),
  ) as { account: { id: string }; payload: { incident_id: string; url: string; owner?: string } };
  body.account.id = MONTE_CARLO_ACCOUNT;
  body.payload.incident_id = incidentId;
  body.payload.url = `https://getmontecarlo.com/incidents/${incidentId}`;
  if (owner) body.payload.owner = owner;
  return Buffer.from(JSON.stringify(body));
}

const isCassandra = (s: ZipkinSpan) => s.tags['db.system.name'] === 'cassandra';
/** The workflow run a workflow span was made in. */
const runOf = (name: string, spans: ZipkinSpan[]) => named(name, spans)[0]?.tags['temporal.run_id'];

describe('traces: one trace per request, across the processes', () => {
  const processes: ResultPromise[] = [];
  let base = '';
  let key = '';
  const api = (method: 'GET' | 'POST', path: string, body?: unknown) =>
    fetch(`${base}/v1/tenants/${tenant}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });

  /** Monte Carlo's webhook call; `traceparent` as a caller that decided on its trace already sends it. */
  const send = async (body: Buffer, traceparent?: string) => {
    const response = await fetch(`${base}/v1/tenants/${tenant}/webhooks/monte-carlo`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [MONTE_CARLO_SIGNATURE_HEADER]: signMonteCarloBody(body, secret),
        ...(traceparent && { traceparent }),
      },
      body,
    });
    assert.equal(response.status, 202, await response.text());
  };

  before(async () => {
    stack.dropTopicsAtClose(tenant);
    await tenantWithMonteCarlo(config, postgres, tenant); // its `warehouse` connection reads the dump below
    await saveMonteCarloSecret(postgres, config.secretsKey, tenant, secret);
    await objectStore(stack.s3, config.s3.bucket).putNdjsonGz(
      `tenants/${tenant}/dumps/estate.ndjson.gz`,
      estate.map((record) => JSON.stringify(record)),
    );
    key = (await createApiKey(postgres, { tenant, name: 'traces', scopes: ['ingest', 'read', 'annotate'] })).key;
    // The downstream, as enforcement.test.ts sets it up; its role goes once the database (holding its grants) has.
    stack.defer(() => asSuperuser(`DROP ROLE IF EXISTS ${analyst}`));
    stack.defer(async () => {
      for (const table of ['subscriptions', 'enforcement_restrictions', 'enforcement_baselines']) {
        await postgres.query(`DELETE FROM ${table} WHERE tenant = $1`, [tenant]);
      }
    });
    await asSuperuser(`CREATE ROLE ${analyst} LOGIN PASSWORD 'analyst'`);
    await stack.sourceDatabase(
      shopDb,
      `CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
       GRANT SELECT ON customers TO ${analyst};`,
    );
    await saveConnection(postgres, config.secretsKey, tenant, 'shop', {
      type: 'postgres',
      host: '127.0.0.1',
      port: 5432,
      database: shopDb,
      user: sourceLogin(config).user,
      password: sourceLogin(config).password,
      connectTimeoutSeconds: 5,
    });
    await saveSubscription(postgres, tenant, 'enforce-shop', {
      sink: { type: 'postgres-enforcement', connectionId: 'shop', restrictedRoles: [analyst] },
    });

    const port = await freePort();
    type Entry = Parameters<typeof spawnApp>[0];
    const run = (entry: Entry, ready: string) => {
      const name = uniqueId(`test-traced-${entry.replace(/\W/g, '-')}`);
      const child = spawnApp(entry, config, name, {
        tracesUrl: zipkinSpansEndpoint,
        // A workflow's span ends, and is exported, when the workflow does: the incident's after 10 quiet seconds,
        // long enough for its second event to find it running. Every trace kept (production samples a share).
        env: {
          METASYNC_API_PORT: String(port),
          METASYNC_INCIDENT_QUIET_SECONDS: '10',
          METASYNC_TRACES_SAMPLE_RATIO: '1',
        },
      });
      processes.push(child);
      return untilLogged(child, name, ready);
    };
    await Promise.all([
      run('workers/worker.ts', 'worker running'),
      run('workers/bridge.ts', 'bridge consuming'),
      run('workers/subscribers.ts', 'subscribers running'),
      run('api/main.ts', 'api listening'),
    ]);
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    // The asset's propagation workflow waits a minute for more changes; no worker is left to end it.
    await stack.temporal.workflow
      .getHandle(assetPropagationId(tenant, sourceColumn))
      .terminate('the trace test is over')
      .catch(() => undefined);
    for (const child of processes) child.kill('SIGTERM');
    await Promise.all(processes);
    await stack.close();
  });

  it("links an incident's webhook, Kafka message, bridge, partition workflow's activity and Cassandra; a second event too", async (t) => {
    const incidentId = crypto.randomUUID();
    await send(webhookBody(incidentId));
    await eventually(() => incidentStore(cassandra).get(tenant, incidentId), 60_000, 'the incident in the lake');
    // The second event goes to the same partition workflow, in a delivery of its own, traced in its own trace.
    await send(webhookBody(incidentId, 'second@example.com'));
    const owner = async () => (await incidentStore(cassandra).get(tenant, incidentId))?.owner;
    await eventually(async () => (await owner()) === 'second@example.com' || undefined, 60_000, 'the 2nd event');

    const applied = (trace: ZipkinSpan[]) =>
      named('incident events applied', trace).some((s) => s.tags['metasync.incident_ids']?.includes(incidentId));
    const wrote = (trace: ZipkinSpan[]) => of('metasync-worker', trace).some(isCassandra);
    /** An event's hand-over and its work, in its own trace. */
    const expected = (trace: ZipkinSpan[]): Expected[] => [
      ['the webhook produced to Kafka', 'metasync-api', (s) => s.kind === 'PRODUCER'],
      ['the bridge consumed the message', 'metasync-bridge', (s) => s.kind === 'CONSUMER'],
      ['the bridge delivered it to its partition workflow', 'metasync-bridge', (s) => s.name === 'incidents delivered'],
      [
        "the workflow's activity applied it",
        'metasync-worker',
        (s) => s.name === 'incident events applied' && s.tags['metasync.incident_ids']?.includes(incidentId) === true,
      ],
      [
        'the activity wrote to Cassandra',
        'metasync-worker',
        (s) => isCassandra(s) && under('incident events applied', trace)(s),
      ],
    ];
    const first = await traceWhere(
      'metasync-worker',
      (trace) => applied(trace) && wrote(trace),
      `the trace of incident ${incidentId} in Zipkin`,
    );
    t.diagnostic(`\n${spanTree(first)}`);
    assertLinked(first, rootOf(first, /webhooks\/monte-carlo/), expected(first));

    const second = await traceWhere(
      'metasync-worker',
      (trace) => applied(trace) && wrote(trace) && trace[0]?.traceId !== first[0]?.traceId,
      `the trace of incident ${incidentId}'s second event in Zipkin`,
    );
    t.diagnostic(`\n${spanTree(second)}`);
    assertLinked(second, rootOf(second, /webhooks\/monte-carlo/), expected(second));
  });

  it('applies an incident whose trace is not kept, and no process records a span of it', async () => {
    // A caller's decision not to keep its trace (traceparent's sampled flag off) holds at every hop: the bridge's
    // spans, the delivery and the activity that applies the event all follow it, and record nothing.
    const unkeptTraceId = randomBytes(16).toString('hex');
    const unkept = crypto.randomUUID();
    await send(webhookBody(unkept), `00-${unkeptTraceId}-${randomBytes(8).toString('hex')}-00`);
    await eventually(() => incidentStore(cassandra).get(tenant, unkept), 60_000, 'the unkept incident in the lake');
    // A kept incident after it: once its spans are in Zipkin, every process has exported whatever it had before them.
    const kept = crypto.randomUUID();
    await send(webhookBody(kept));
    const mentions = (incidentId: string) => (s: ZipkinSpan) =>
      Object.values(s.tags).some((value) => value.includes(incidentId));
    await traceWhere(
      'metasync-worker',
      (trace) => trace.some(mentions(kept)) && trace.some(isCassandra),
      `the trace of the kept incident ${kept} in Zipkin`,
    );

    const response = await fetch(`${zipkinUrl}/api/v2/trace/${unkeptTraceId}`);
    assert.equal(response.status, 404, `spans of the unkept trace: ${await response.text()}`);
    for (const service of ['metasync-bridge', 'metasync-worker']) {
      const mentioning = (await tracesOf(service)).flat().filter(mentions(unkept));
      assert.deepEqual(
        mentioning.map((s) => `${s.name} (trace ${s.traceId})`),
        [],
        `no span of the unkept incident in ${service}, under any trace`,
      );
    }
  });

  it('links an ingestion run from its API request to the extract, the container loads and the Spark job with its row count', async (t) => {
    const runId = `run-${randomUUID().slice(0, 8)}`;
    const options = { buckets: 2, bucketsPerColumnsJob: 2, childrenPerWave: 1 };
    const started = await api('POST', '/runs', { connectionId: 'warehouse', runId, options });
    assert.equal(started.status, 202, await started.text());
    const finished = await eventually(
      async () => {
        const run = (await (await api('GET', `/runs/${runId}`)).json()) as {
          status: string;
          counts: Record<string, { added: number; updated: number }>;
        };
        return run.status === 'running' ? undefined : run;
      },
      180_000,
      `run ${runId} finished`,
    );
    assert.equal(finished.status, 'completed');

    const workflowId = ingestWorkflowId(tenant, 'warehouse', runId);
    const spans = await traceWhere(
      'metasync-worker',
      (trace) =>
        trace.some((s) => s.tags['temporal.workflow_id'] === workflowId) &&
        named('runworkflow:ingestestate', trace).length > 0 &&
        named('spark-submit load_columns', trace).length > 0 &&
        of('metasync-api', trace).length > 0,
      `the trace of ingestion run ${runId} in Zipkin`,
    );
    t.diagnostic(`\n${spanTree(spans)}`);
    const worker = (name: string): Expected => [name, 'metasync-worker', (s) => s.name === name];
    assertLinked(spans, rootOf(spans, /\/runs$/), [
      ['the API started the workflow', 'metasync-api', (s) => s.name === 'startworkflow:ingestestate'],
      worker('runworkflow:ingestestate'),
      worker('runactivity:extracttos3'),
      worker('runactivity:loadcontainerbucket'),
      [
        'a container load wrote to Cassandra',
        'metasync-worker',
        (s) => isCassandra(s) && under('runactivity:loadcontainerbucket', spans)(s),
      ],
      worker('startchildworkflow:ingestcolumns'),
      worker('runworkflow:ingestcolumns'),
      worker('runactivity:runsparkjob'),
      [
        'the Spark job',
        'metasync-worker',
        (s) => s.name === 'spark-submit load_columns' && under('runactivity:runsparkjob', spans)(s),
      ],
    ]);

    // The job's row count is what landed: the run's column counts, and the columns in the lake.
    const job = named('spark-submit load_columns', spans)[0]!;
    const written = Number(job.tags['metasync.spark.rows_written']);
    const columns = estate.filter((record) => record.kind === 'column');
    const inLake = await lakeRows(cassandra, tenant, qualifiedNames(columns, 'ndjson', 'warehouse'));
    assert.equal(written, estateSize(shape).columns);
    assert.equal(written, finished.counts['column']!.added + finished.counts['column']!.updated);
    assert.equal(written, [...inLake.values()].filter((row) => row.type === 'column' && !row.deleted).length);
  });

  it('links an annotation change from its API request through the walk and Kafka to the enforcement in PostgreSQL; a second change too', async (t) => {
    const downstream = `postgres://shop/${shopDb}/public/customers/email`;
    await lineageStore(cassandra).upsertEdges(tenant, [
      {
        upstream: sourceColumn,
        downstream,
        level: 'column',
        kind: 'manual',
        origin: 'manual',
        propagates: true,
        transformation: null,
        downstreamType: 'column',
      },
    ]);
    const asAnalyst = () =>
      queryAs(
        { host: '127.0.0.1', port: 5432, database: shopDb, user: analyst, password: 'analyst' },
        'SELECT email FROM customers',
      );
    const annotate = async (op: 'add' | 'remove', analystGets: string) => {
      const response = await api('POST', '/annotations', {
        qualifiedName: sourceColumn,
        op,
        attribute: 'classification',
        value: 'PII',
      });
      const text = await response.text();
      assert.equal(response.status, 202, text);
      const { changeId } = JSON.parse(text) as { changeId: string };
      await eventually(
        async () => ((await asAnalyst()) === analystGets ? true : undefined),
        60_000,
        `the analyst's SELECT ${analystGets}`,
      );
      return changeId;
    };
    /** The change's trace, with its walk's `activities` and the enforcement's `statement` (revoke, grant). */
    const traceOf = async (changeId: string, activities: string[], statement: string) => {
      const workflowId = changeWorkflowId(tenant, changeId);
      const spans = await traceWhere(
        'metasync-subscribers',
        (trace) =>
          trace.some(
            (s) => s.name === 'runworkflow:propagatechange' && s.tags['temporal.workflow_id'] === workflowId,
          ) &&
          of('metasync-subscribers', trace).some((s) => s.name.startsWith(`pg.query:${statement} `)) &&
          of('metasync-api', trace).length > 0,
        `the trace of change ${changeId} in Zipkin`,
      );
      t.diagnostic(`\n${spanTree(spans)}`);
      const worker = (name: string): Expected => [name, 'metasync-worker', (s) => s.name === name];
      assertLinked(spans, rootOf(spans, /\/annotations$/), [
        ['the API produced the command', 'metasync-api', (s) => s.kind === 'PRODUCER'],
        ['the bridge consumed it', 'metasync-bridge', (s) => s.kind === 'CONSUMER'],
        [
          'the bridge signalled the workflow',
          'metasync-bridge',
          (s) => s.name === 'signalwithstartworkflow:assetpropagation',
        ],
        worker('handlesignal:annotationchange'),
        worker('startchildworkflow:propagatechange'),
        [
          'the walk ran',
          'metasync-worker',
          (s) => s.name === 'runworkflow:propagatechange' && s.tags['temporal.workflow_id'] === workflowId,
        ],
        ...activities.map((activity) => worker(`runactivity:${activity}`)),
        [
          'the walk published the change',
          'metasync-worker',
          (s) => s.kind === 'PRODUCER' && s.name.startsWith('send metasync.outbound.'),
        ],
        ['the subscriber consumed it', 'metasync-subscribers', (s) => s.kind === 'CONSUMER'],
        [
          `the enforcement's ${statement.toUpperCase()} in the downstream`,
          'metasync-subscribers',
          (s) => s.name === `pg.query:${statement} ${shopDb}` && under(`process metasync.outbound.${tenant}`, spans)(s),
        ],
      ]);
      return spans;
    };

    const added = await traceOf(
      await annotate('add', '42501'),
      ['propagationrule', 'annotatesource', 'expandlevel'],
      'revoke',
    );
    // The asset's workflow is running now: the second change is a signal to it, walked from its main loop.
    const removed = await traceOf(
      await annotate('remove', 'ok'),
      ['propagationrule', 'directvalues', 'retractcopies'],
      'grant',
    );
    assert.notEqual(removed[0]?.traceId, added[0]?.traceId, 'each change in its own trace');
    assert.equal(
      runOf('handlesignal:annotationchange', removed),
      runOf('handlesignal:annotationchange', added),
      'the second change went to the running workflow',
    );
  });
});
