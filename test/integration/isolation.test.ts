import type { LightMyRequestResponse } from 'fastify';
import type { KafkaMessage } from 'kafkajs';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it, mock } from 'node:test';
import { z } from 'zod';
import type { LineageEdge, OpenLineageReceived } from '../../lib/lineage/contracts.js';
import type { AnnotationRequested } from '../../lib/propagation/contracts.js';
import { MONTE_CARLO_SIGNATURE_HEADER, signMonteCarloBody } from '../../lib/incidents/monteCarlo/index.js';
import { parseApiKey } from '../../lib/stores/apiKeys.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { updateTenant } from '../../lib/stores/tenants.js';
import {
  inboundTopic,
  incidentKey,
  incidentMessage,
  lineageKey,
  openLineageMessage,
  topics,
} from '../../lib/kafka/topics.js';
import { createCommandBridge } from '../../workers/commandBridge.js';
import { createIncidentBridge } from '../../workers/incidentBridge.js';
import { createLineageBridge } from '../../workers/lineageBridge.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testConfig, testGroup, uniqueId, uniqueTenant, type Tail } from '../support/harness.js';
import { incidentEvent } from '../support/incidents.js';

/**
 * Tenant A, holding an admin key (every scope), tries everything against tenant B: every route of the API — read
 * from the API's own OpenAPI document, so a route added later is tried too — and its own inbound topics, with
 * events that claim B. Every attempt must be refused and logged, and nothing of B may change. (That A's Kafka
 * principal cannot write B's topics at all is test/integration/securityKafka.test.ts.)
 */

const config = testConfig();
const tenantA = uniqueTenant('iso-a');
const tenantB = uniqueTenant('iso-b');
const suspended = uniqueTenant('iso-s');
/** Has topics on Kafka but no row in the control plane. */
const unknown = uniqueTenant('iso-u');

const assetB = 'postgres://warehouse/sales/public/customers';
const columnB = `${assetB}/email`;
const downstreamB = 'postgres://warehouse/sales/public/customer_view';
const runB = 'run-b-1';
const incidentB = 'f83867b6-8f25-428b-807c-08518f63384c';
const openLineageEvent = JSON.parse(
  readFileSync(new URL('../fixtures/openlineage/spark-complete.json', import.meta.url), 'utf8'),
) as unknown;
const monteCarloBody = readFileSync(new URL('../fixtures/montecarlo/anomaly-incident.json', import.meta.url));

const RefusalLog = z.object({
  message: z.literal('api request refused'),
  keyId: z.string().optional(),
  method: z.string(),
  route: z.string(),
  tenant: z.string().optional(),
  reason: z.string(),
});

/** What a caller would send to act on B: a plausible body for each route that takes one. */
const BODIES: Record<string, unknown> = {
  'POST /v1/tenants/{tenant}/annotations': {
    qualifiedName: assetB,
    op: 'add',
    attribute: 'classification',
    value: 'PII',
  },
  'POST /v1/tenants/{tenant}/lineage': openLineageEvent,
  'POST /v1/tenants/{tenant}/runs': { connectionId: 'warehouse' },
  'PUT /v1/tenants/{tenant}/connections/{connectionId}': {
    type: 'postgres',
    host: 'attacker.example',
    database: 'x',
    user: 'x',
    password: 'x',
  },
  'POST /v1/tenants/{tenant}/api-keys': { name: 'mine now', scopes: ['admin'] },
  'PUT /v1/tenants/{tenant}/service-accounts/{accountId}': { disabled: true },
  'PATCH /v1/tenants/{tenant}': { suspended: true },
};

const OpenApi = z.object({
  paths: z.record(
    z.string(),
    z.record(
      z.string(),
      z.object({
        security: z.array(z.unknown()).optional(),
        description: z.string().optional(),
        parameters: z
          .array(z.object({ in: z.string(), name: z.string(), required: z.boolean().optional() }))
          .optional(),
      }),
    ),
  ),
});

describe("tenant isolation: tenant A's credentials and events reach nothing of tenant B", () => {
  let api: TestApi;
  let keyA: string;
  let keyB: string;
  let keyIdB: string;
  let snapshotB: unknown;
  const secretA = 'a-webhook-secret-of-tenant-a-000000000000';
  const secretB = 'b-webhook-secret-of-tenant-b-111111111111';

  /** B's path parameters, so every attempt names something of B that exists. */
  const pathValue = (name: string): string => {
    const values: Record<string, string> = {
      tenant: tenantB,
      qualifiedName: encodeURIComponent(assetB),
      connectionId: 'warehouse',
      runId: runB,
      keyId: keyIdB,
      accountId: 'default',
      incidentId: incidentB,
    };
    const value = values[name];
    if (value === undefined) throw new Error(`no value of B for path parameter {${name}}: add one to this suite`);
    return value;
  };
  const queryValue: Record<string, string> = { name: assetB, parent: assetB, table: assetB };

  /** Everything of B's that the API or a topic could change: its rows in PostgreSQL and its lake partitions. */
  async function stateOfB() {
    const { postgres, cassandra } = api.deps;
    const tables = await postgres.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.columns
        WHERE table_schema = 'public' AND column_name = 'tenant' ORDER BY table_name`,
    );
    const rows: Record<string, unknown> = {};
    for (const { table_name: table } of tables.rows) {
      const result = await postgres.query(`SELECT * FROM "${table}" WHERE tenant = $1 ORDER BY "${table}"::text`, [
        tenantB,
      ]);
      // When B's own key was last used is B's business, but not a change made by A.
      rows[table] = result.rows.map((row: Record<string, unknown>) => ({ ...row, last_used_at: undefined }));
    }
    const lake: Record<string, unknown> = {};
    for (const [table, column, name] of [
      ['assets', 'qualified_name', assetB],
      ['asset_annotations', 'qualified_name', assetB],
      ['asset_annotations', 'qualified_name', columnB],
      ['asset_incidents', 'qualified_name', assetB],
      ['lineage_downstream', 'upstream', assetB],
      ['incidents', 'incident_id', incidentB],
    ] as const) {
      const result = await cassandra.execute(
        `SELECT * FROM ${table} WHERE tenant = ? AND ${column} = ?`,
        [tenantB, name],
        { prepare: true },
      );
      lake[`${table}/${name}`] = result.rows.map((row) => JSON.stringify(row));
    }
    const workflows: string[] = [];
    for await (const run of api.deps.temporal.workflow.list({ query: `TenantId = '${tenantB}'` })) {
      workflows.push(run.workflowId);
    }
    return { rows, lake, workflows };
  }

  before(async () => {
    api = await startTestApi(config, [tenantA, tenantB, suspended]);
    const { postgres } = api.deps;
    keyA = await api.keyOf(tenantA, ['admin']);
    keyB = await api.keyOf(tenantB, ['read']);
    keyIdB = parseApiKey(keyB)!.keyId;
    for (const [tenant, secret] of [
      [tenantA, secretA],
      [tenantB, secretB],
    ] as const) {
      await saveMonteCarloSecret(postgres, config.secretsKey, tenant, secret);
      await saveConnection(postgres, config.secretsKey, tenant, 'warehouse', {
        type: 'postgres',
        host: '127.0.0.1',
        database: `${tenant.replaceAll('-', '_')}_db`,
        user: 'etl',
        password: `password-of-${tenant}`,
        port: 5432,
        connectTimeoutSeconds: 10,
      });
    }
    await postgres.query(
      `INSERT INTO runs (tenant, run_id, kind, workflow_id, connection_id, status, counts, finished_at)
       VALUES ($1, $2, 'ingest', $3, 'warehouse', 'completed', '{"table":{"added":1}}', now())`,
      [tenantB, runB, `ingest/${tenantB}/warehouse/${runB}`],
    );
    await api.deps.cassandra.execute(
      `INSERT INTO assets (tenant, qualified_name, asset_type, name, updated_at) VALUES (?, ?, 'table', 'customers', ?)`,
      [tenantB, assetB, new Date()],
      { prepare: true },
    );
    const edge: LineageEdge = {
      upstream: assetB,
      downstream: downstreamB,
      level: 'table',
      kind: 'view',
      origin: 'catalog:warehouse',
      propagates: true,
      transformation: null,
      downstreamType: 'view',
    };
    await lineageStore(api.deps.cassandra).upsertEdges(tenantB, [edge]);
    await updateTenant(postgres, suspended, { suspended: true });
    snapshotB = await stateOfB();
  });

  after(async () => {
    await api?.close();
  });

  it("refuses tenant A's admin key on every route of tenant B, logging each refusal, and B is unchanged", async () => {
    const document = OpenApi.parse((await api.app.inject({ method: 'GET', url: '/openapi.json' })).json());
    const tried: string[] = [];
    for (const [path, operations] of Object.entries(document.paths)) {
      if (!path.includes('{tenant}')) continue;
      for (const [method, operation] of Object.entries(operations)) {
        const route = `${method.toUpperCase()} ${path}`;
        if (operation.security === undefined) continue; // signed routes: tried with A's signature below
        const url = path.replace(/\{(\w+)\}/g, (_, name: string) => pathValue(name));
        const query = (operation.parameters ?? [])
          .filter((parameter) => parameter.in === 'query' && queryValue[parameter.name] !== undefined)
          .map((parameter) => `${parameter.name}=${encodeURIComponent(queryValue[parameter.name]!)}`)
          .join('&');
        const { response, refusals } = await withLogs(() =>
          api.call(
            keyA,
            method.toUpperCase() as 'GET',
            query ? `${url}?${query}` : url,
            BODIES[route] ?? (method === 'get' || method === 'delete' ? undefined : {}),
          ),
        );
        assert.equal(response.statusCode, 403, `${route}: ${response.body}`);
        const operatorOnly = operation.description?.startsWith('Requires an admin key of the operator tenant') === true;
        assert.deepEqual(
          refusals.map(({ keyId, tenant, reason, route: logged }) => ({ keyId, tenant, reason, logged })),
          [
            {
              keyId: parseApiKey(keyA)!.keyId,
              tenant: tenantB,
              reason: operatorOnly ? 'not an operator key' : 'wrong tenant',
              logged: path.replace(/\{(\w+)\}/g, ':$1'),
            },
          ],
          `${route}: one refusal logged, naming the key, the tenant asked for and the route`,
        );
        tried.push(route);
      }
    }
    // The suite covers what the API serves: the control plane, ingestion, the catalog, lineage and annotations.
    for (const expected of [
      'GET /v1/tenants/{tenant}/assets/{qualifiedName}',
      'POST /v1/tenants/{tenant}/annotations',
      'POST /v1/tenants/{tenant}/lineage',
      'GET /v1/tenants/{tenant}/api-keys',
      'PUT /v1/tenants/{tenant}/connections/{connectionId}',
      'POST /v1/tenants/{tenant}/connections/{connectionId}/test',
      'POST /v1/tenants/{tenant}/runs',
      'POST /v1/tenants/{tenant}/runs/{runId}/cancel',
      'GET /v1/tenants/{tenant}/incidents',
      'GET /v1/tenants/{tenant}/columns',
      'PATCH /v1/tenants/{tenant}',
    ]) {
      assert.ok(tried.includes(expected), `${expected} was tried (tried: ${tried.join(', ')})`);
    }

    // Monte Carlo's webhook is signed, not keyed: A's secret does not open B's door.
    const webhook = await api.app.inject({
      method: 'POST',
      url: `/v1/tenants/${tenantB}/webhooks/monte-carlo`,
      headers: {
        'content-type': 'application/json',
        [MONTE_CARLO_SIGNATURE_HEADER]: signMonteCarloBody(monteCarloBody, secretA),
      },
      payload: monteCarloBody,
    });
    assert.equal(webhook.statusCode, 401, webhook.body);

    assert.deepEqual(await stateOfB(), snapshotB, 'nothing of B changed');
    assert.equal((await api.call(keyB, 'GET', `/v1/tenants/${tenantB}`)).statusCode, 200, "B's own key still works");
  });

  it('refuses a body that names another tenant: the tenant is the URL and the key, never the body', async () => {
    const attempts = [
      ['POST', `/v1/tenants/${tenantA}/api-keys`, { tenant: tenantB, name: 'x', scopes: ['read'] }],
      [
        'PUT',
        `/v1/tenants/${tenantA}/connections/warehouse`,
        { tenant: tenantB, type: 'ndjson', uri: 'file:///tmp/x.ndjson' },
      ],
      ['POST', `/v1/tenants/${tenantA}/runs`, { tenant: tenantB, connectionId: 'warehouse' }],
      [
        'POST',
        `/v1/tenants/${tenantA}/annotations`,
        { tenant: tenantB, qualifiedName: assetB, op: 'add', attribute: 'tag', value: 'x' },
      ],
    ] as const;
    for (const [method, url, body] of attempts) {
      const response = await api.call(keyA, method, url, body);
      assert.equal(response.statusCode, 400, `${method} ${url}: ${response.body}`);
      assert.match(response.json<{ error: string }>().error, /tenant/, 'the error names the stray field');
    }
    assert.deepEqual(await stateOfB(), snapshotB);
  });

  describe('inbound topics', () => {
    let deadLetters: Tail;
    const served = [tenantA, tenantB, suspended, unknown];

    before(async () => {
      const { stack } = api;
      await stack.tenantTopics(...served);
      deadLetters = await stack.tail(topics.deadLetters);
      // The bridges are the bridge's principal; the events below come from the API's (it may write any inbound topic).
      await stack.bridge(createCommandBridge, testGroup('iso-commands'), { tenants: served });
      await stack.bridge(createIncidentBridge, testGroup('iso-incidents'), { tenants: served });
      await stack.bridge(createLineageBridge, testGroup('iso-lineage'), { tenants: served });
    });

    it("dead-letters events on A's topics that claim B, and those of an unknown or suspended tenant; B is unchanged", async () => {
      const annotation = (tenant: string, id: string): AnnotationRequested => ({
        id,
        type: 'asset.annotation-requested',
        version: 1,
        tenant,
        source: 'test',
        occurredAt: new Date().toISOString(),
        payload: { qualifiedName: columnB, op: 'add', attribute: 'classification', value: 'PII', actor: 'intruder' },
      });
      const lineageEvent = (tenant: string, id: string): OpenLineageReceived =>
        ({
          id,
          type: 'lineage.openlineage',
          version: 1,
          tenant,
          source: 'test',
          occurredAt: new Date().toISOString(),
          payload: openLineageEvent,
        }) as OpenLineageReceived;
      const incident = incidentEvent(tenantB, incidentB, 0);
      const lineage = lineageEvent(tenantB, uniqueId('ol'));
      const onA = (kind: 'commands' | 'incidents' | 'lineage') => inboundTopic(tenantA, kind);
      const cases: { topic: string; key: string; value: unknown; id: string; reason: RegExp }[] = [
        {
          topic: onA('commands'),
          key: tenantA,
          value: annotation(tenantB, 'claims-b'),
          id: 'claims-b',
          reason: /^tenant mismatch: the event claims/,
        },
        {
          topic: onA('commands'),
          key: tenantB,
          value: annotation(tenantB, 'keyed-b'),
          id: 'keyed-b',
          reason: /^tenant mismatch: the event claims/,
        },
        {
          topic: inboundTopic(unknown, 'commands'),
          key: unknown,
          value: annotation(unknown, 'unknown'),
          id: 'unknown',
          reason: /^unknown tenant/,
        },
        {
          topic: inboundTopic(suspended, 'commands'),
          key: suspended,
          value: annotation(suspended, 'suspended'),
          id: 'suspended',
          reason: /is suspended/,
        },
        {
          topic: onA('incidents'),
          key: incidentKey(tenantA, incidentB),
          value: incident,
          id: incident.id,
          reason: /^tenant mismatch/,
        },
        {
          topic: onA('incidents'),
          key: incidentKey(tenantB, incidentB),
          value: incident,
          id: incident.id,
          reason: /^tenant mismatch/,
        },
        {
          topic: onA('lineage'),
          key: lineageKey(tenantA, lineage.payload.job),
          value: lineage,
          id: lineage.id,
          reason: /^tenant mismatch/,
        },
      ];
      // Well-formed otherwise: the same events with the right key are what the bridges take (checked below for B).
      assert.equal(incidentMessage(incident).key, incidentKey(tenantB, incidentB));
      assert.equal(openLineageMessage(lineage).key, lineageKey(tenantB, lineage.payload.job));
      for (const { topic, key, value } of cases) {
        await api.deps.producer.send({ topic, acks: -1, messages: [{ key, value: JSON.stringify(value) }] });
      }
      for (const { topic, key, id, reason } of cases) {
        const kept = await deadLetters.waitFor(
          (message) =>
            header(message, 'dlq-source-topic') === topic &&
            message.key?.toString() === key &&
            (message.value?.toString() ?? '').includes(`"id":"${id}"`),
        );
        assert.match(header(kept, 'dlq-reason') ?? '', reason, `${topic} ${id}`);
      }
      await sleep(1_000); // nothing else is on its way: every case above was refused before any delivery
      assert.deepEqual(await stateOfB(), snapshotB, 'nothing of B changed');
    });
  });
});

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();

/** The answer to a request, and the refusal lines it logged, read from the real stderr stream. */
async function withLogs(request: () => Promise<LightMyRequestResponse>) {
  const write = mock.method(process.stderr, 'write');
  let response: LightMyRequestResponse;
  try {
    response = await request();
  } finally {
    write.mock.restore();
  }
  const refusals = write.mock.calls
    .flatMap((call) => String(call.arguments[0]).split('\n').filter(Boolean))
    .flatMap((line) => {
      try {
        const parsed = RefusalLog.safeParse(JSON.parse(line));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  return { response, refusals };
}
