import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { KafkaMessage } from 'kafkajs';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { MONTE_CARLO_WEBHOOK_SOURCE } from '../../api/monteCarloWebhook.js';
import { buildApi } from '../../api/server.js';
import { createProducer } from '../../lib/platform/clients.js';
import { AssetView, IncidentEvent, type IncidentRecord } from '../../lib/incidents/contracts.js';
import { MonteCarloWebhook } from '../../lib/incidents/monteCarlo/contracts.js';
import { containerQualifiedName } from '../../lib/mapping/qualifiedName.js';
import {
  MONTE_CARLO_SIGNATURE_HEADER,
  signMonteCarloBody,
  toIncidentEvent,
} from '../../lib/incidents/monteCarlo/index.js';
import { incidentStore } from '../../lib/stores/incidents.js';
import { lakeWriter } from '../../lib/stores/lake.js';
import { saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { inboundTopic, incidentKey, topics } from '../../lib/kafka/topics.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { eventually, testConfig, uniqueId, uniqueTenant, type Tail } from '../support/harness.js';
import { kafkaAs } from '../support/kafka.js';
import { openStack } from '../support/stack.js';

// A small body limit, so the oversized case needs no megabyte body.
const config = testConfig({ METASYNC_MAX_MESSAGE_BYTES: '65536' });
const tenant = uniqueTenant('api');
const tenantWithoutSecret = uniqueTenant('api-nosecret');
const secret = randomBytes(42).toString('base64url');

/** The test looks at the topics as Kafka's admin; the API produces as its own principal. */
const stack = openStack(config);
const { s3, cassandra, postgres } = stack;
const incidentsTopic = inboundTopic(tenant, 'incidents');
const incidents = incidentStore(cassandra);

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/montecarlo/${name}`, import.meta.url));
const fixtureJson = (name: string) => z.record(z.string(), z.unknown()).parse(JSON.parse(fixture(name).toString()));
/** Every fixture is one incident, so every event of this test shares one key, hence one partition. */
const incidentId = 'f83867b6-8f25-428b-807c-08518f63384c';
const key = incidentKey(tenant, incidentId);

const ErrorBody = z.object({ error: z.string().min(1) });
const Accepted = z.object({ eventId: z.string(), type: z.string() });
const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();
const keyed = (tail: Tail) => tail.messages.filter((message) => message.key?.toString() === key);

describe('HTTP API: Monte Carlo webhooks in, assets with their incidents out', () => {
  let api: TestApi;
  let base: string;
  let inbound: Tail;
  let deadLetters: Tail;

  const webhook = (body: Buffer | string, signature?: string, tenantInUrl = tenant) =>
    fetch(`${base}/v1/tenants/${tenantInUrl}/webhooks/monte-carlo`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        ...(signature !== undefined && { [MONTE_CARLO_SIGNATURE_HEADER]: signature }),
      },
      body,
    });
  const signed = (body: Buffer, tenantInUrl = tenant) => webhook(body, signMonteCarloBody(body, secret), tenantInUrl);

  /** Sends a valid webhook after the requests under test; once it arrives, anything they produced has too. */
  async function keyedMessagesUpToMarker(tail: Tail, markerFixture: string): Promise<KafkaMessage[]> {
    const response = await signed(fixture(markerFixture));
    assert.equal(response.status, 202);
    const { eventId } = Accepted.parse(await response.json());
    await tail.waitFor((message) => header(message, 'event-id') === eventId);
    // Same key, same partition, delivered in order: nothing produced before the marker can still be on its way.
    return keyed(tail);
  }

  async function archivedKeys(): Promise<string[]> {
    const listed = await s3.send(
      new ListObjectsV2Command({ Bucket: config.s3.bucket, Prefix: `tenants/${tenant}/dead-letters/` }),
    );
    return (listed.Contents ?? []).map((object) => object.Key ?? '');
  }

  before(async () => {
    api = await startTestApi(stack, [tenant, tenantWithoutSecret]);
    await saveMonteCarloSecret(postgres, config.secretsKey, tenant, secret);
    await stack.tenantTopics(tenant);
    inbound = await stack.tail(incidentsTopic);
    deadLetters = await stack.tail(topics.deadLetters);
    base = await api.app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(() => stack.close());

  it('answers /healthz', async () => {
    const response = await fetch(`${base}/healthz`);
    assert.equal(response.status, 200);
  });

  it('accepts a signed anomaly webhook with 202 once Kafka has exactly its event, keyed by tenant and incident', async () => {
    const body = fixture('anomaly-incident.json');
    const response = await signed(body);
    assert.equal(response.status, 202);
    const accepted = Accepted.parse(await response.json());
    const expected = toIncidentEvent(MonteCarloWebhook.parse(fixtureJson('anomaly-incident.json')), tenant, new Date());
    assert.deepEqual(accepted, { eventId: expected.id, type: 'incident.opened' });

    const message = await inbound.waitFor((m) => header(m, 'event-id') === accepted.eventId);
    assert.equal(message.key?.toString(), key);
    assert.equal(header(message, 'event-type'), 'incident.opened');
    const event = IncidentEvent.parse(JSON.parse(message.value?.toString() ?? ''));
    assert.deepEqual({ ...event, occurredAt: expected.occurredAt }, expected);
    assert.deepEqual(
      event.payload.tables.map((table) => table.fullTableId),
      ['zeus:ares.apollo', 'zeus:ares.artemis'],
    );
    assert.equal(keyed(inbound).length, 1);
  });

  it('gives a redelivered webhook the same event id', async () => {
    const first = Accepted.parse(await (await signed(fixture('anomaly-incident.json'))).json());
    const again = await signed(fixture('anomaly-incident.json'));
    assert.equal(again.status, 202);
    assert.deepEqual(Accepted.parse(await again.json()), first);
    const copies = await eventually(
      () => (keyed(inbound).length >= 3 ? keyed(inbound) : undefined),
      60_000,
      'the redelivered events',
    );
    assert.deepEqual(
      copies.map((message) => header(message, 'event-id')),
      [first.eventId, first.eventId, first.eventId],
    );
  });

  it('refuses a missing or wrong signature with 401, producing and keeping nothing', async () => {
    const tail = await stack.tail(incidentsTopic);
    try {
      const body = fixture('alert-update.json');
      const refused = [
        await webhook(body),
        await webhook(body, signMonteCarloBody(body, 'another tenant secret')),
        await webhook(body, signMonteCarloBody(body, secret).toUpperCase()), // compared exactly, as Monte Carlo does
        await webhook(Buffer.from(body.toString().replace('SEV-2', 'SEV-1')), signMonteCarloBody(body, secret)),
      ];
      for (const response of refused) {
        assert.equal(response.status, 401);
        assert.match(ErrorBody.parse(await response.json()).error, /x-mcd-signature header is missing or is not/);
      }
      const seen = await keyedMessagesUpToMarker(tail, 'alert-resolved.json');
      assert.deepEqual(
        seen.map((message) => header(message, 'event-type')),
        ['incident.resolved'],
      );
      assert.deepEqual(await archivedKeys(), [], 'unauthenticated bytes are not archived');
    } finally {
      await tail.stop();
    }
  });

  it('answers 400 to a body that is not JSON, signed or not', async () => {
    for (const response of [await webhook('{"account": '), await webhook('not json', 'a'.repeat(128))]) {
      assert.equal(response.status, 400);
      assert.match(ErrorBody.parse(await response.json()).error, /^the body is not a JSON object/);
    }
  });

  it('dead-letters a signed webhook that breaks the contract: 400 with the reason, raw bytes kept', async () => {
    const tail = await stack.tail(incidentsTopic);
    try {
      const broken = { ...fixtureJson('anomaly-incident.json'), account: { name: 'no id' } };
      const body = Buffer.from(JSON.stringify(broken, null, 2));
      const response = await signed(body);
      assert.equal(response.status, 400);
      const { error } = ErrorBody.parse(await response.json());
      assert.match(error, /^invalid Monte Carlo incident webhook: /);
      assert.match(error, /account\.id/);

      const letter = await deadLetters.waitFor((m) =>
        (header(m, 'dlq-archive-key') ?? '').startsWith(`tenants/${tenant}/`),
      );
      assert.match(header(letter, 'dlq-reason') ?? '', /^invalid Monte Carlo incident webhook: [\s\S]*account\.id/);
      assert.equal(header(letter, 'dlq-source-topic'), MONTE_CARLO_WEBHOOK_SOURCE);
      assert.equal(header(letter, 'dlq-source-partition'), '-1');
      assert.ok(error.includes(header(letter, 'http-request-id') ?? '?'), 'the answer names the request kept');
      assert.deepEqual(letter.value, body);
      const archiveKey = header(letter, 'dlq-archive-key') ?? '';
      assert.match(archiveKey, /^tenants\/[a-z0-9-]+\/dead-letters\/http\.monte-carlo\/-1\/\d+-[0-9a-f]{16}\.bin$/);
      const archived = await s3.send(new GetObjectCommand({ Bucket: config.s3.bucket, Key: archiveKey }));
      assert.deepEqual(Buffer.from(await archived.Body!.transformToByteArray()), body);

      const seen = await keyedMessagesUpToMarker(tail, 'alert-update.json');
      assert.deepEqual(
        seen.map((message) => header(message, 'event-type')),
        ['incident.updated'],
      );
    } finally {
      await tail.stop();
    }
  });

  it('answers an unknown tenant, a malformed one, one without a Monte Carlo secret and a wrong signature alike', async () => {
    const body = fixture('anomaly-incident.json');
    const answers = new Set<string>();
    for (const other of [uniqueId('nobody').toLowerCase(), 'Not_A_Tenant', tenantWithoutSecret]) {
      const response = await signed(body, other);
      answers.add(`${response.status} ${await response.text()}`);
    }
    const wrong = await webhook(body, signMonteCarloBody(body, 'not-the-secret'));
    answers.add(`${wrong.status} ${await wrong.text()}`);
    assert.equal(answers.size, 1, [...answers].join('\n'));
    assert.match([...answers][0]!, /^401 .*header is missing or is not the signature of this body/);
  });

  it('answers 413 to a body over the Kafka message limit', async () => {
    const body = Buffer.from(JSON.stringify({ ...fixtureJson('anomaly-incident.json'), padding: 'x'.repeat(70_000) }));
    const response = await signed(body);
    assert.equal(response.status, 413);
    assert.match(ErrorBody.parse(await response.json()).error, /larger than 65536 bytes/);
  });

  it('answers 503 with a retry hint when Kafka does not take the event', async () => {
    // A real producer that was never connected: the send fails the way it does when the brokers are gone.
    const cutOff = await buildApi({ ...api.deps, producer: createProducer(kafkaAs(config, 'api')) });
    try {
      const body = fixture('anomaly-incident.json');
      const response = await cutOff.inject({
        method: 'POST',
        url: `/v1/tenants/${tenant}/webhooks/monte-carlo`,
        headers: {
          'content-type': 'application/json',
          [MONTE_CARLO_SIGNATURE_HEADER]: signMonteCarloBody(body, secret),
        },
        payload: body,
      });
      assert.equal(response.statusCode, 503);
      assert.equal(response.headers['retry-after'], '30');
      assert.match(
        ErrorBody.parse(response.json()).error,
        /^Kafka did not confirm the incident .*: it may still have been accepted, and sending the same request again later is safe/,
      );
    } finally {
      await cutOff.close();
    }
  });

  describe('GET /v1/tenants/:tenant/assets/:qualifiedName', () => {
    const connectionId = 'warehouse';
    const context = { sourceType: 'postgres' as const, connectionId };
    // Longer than the router's default parameter limit, with characters that are encoded twice on the way.
    const tableName = `order lines: ${'x'.repeat(120)}`;
    const orders = containerQualifiedName(context, ['sales', 'public', tableName]);
    const notInCatalog = containerQualifiedName(context, ['sales', 'public', 'not_loaded_yet']);
    const at = (minutes: number) => new Date(Date.UTC(2026, 10, 24, 10, minutes)).toISOString();
    const record = (id: string, status: 'open' | 'resolved', names: string[]): IncidentRecord => ({
      incidentId: id,
      incidentType: 'open_anomaly_incident',
      status,
      severity: 'SEV-2',
      owner: null,
      feedback: status === 'resolved' ? 'fixed' : null,
      url: `https://getmontecarlo.com/incidents/${id}`,
      monteCarloAccountId: '9a59c6f1-203a-4c72-8cd7-132db7f21b92',
      tables: [],
      qualifiedNames: names,
      unmappedTables: [],
      eventsApplied: 1,
      recentEventIds: [],
      openedAt: at(1),
      updatedAt: at(status === 'open' ? 2 : 3),
      resolvedAt: status === 'resolved' ? at(3) : null,
    });
    let readKey: string;
    const read = (path: string) =>
      fetch(`${base}/v1/tenants/${path}`, { headers: { authorization: `Bearer ${readKey}` } });
    const getView = async (path: string) => {
      const response = await read(path);
      assert.equal(response.status, 200, path);
      return AssetView.parse(await response.json());
    };

    before(async () => {
      readKey = await api.keyOf(tenant, ['read']);
      await lakeWriter(cassandra).upsertAssets(tenant, connectionId, 'run-1', [
        {
          asset: {
            qualifiedName: orders,
            assetType: 'table',
            name: tableName,
            parentQualifiedName: containerQualifiedName(context, ['sales', 'public']),
            dataType: null,
            sourceDataType: null,
            nullable: null,
            defaultValue: null,
            ordinal: null,
            comment: null,
            tags: [],
            properties: {},
          },
          fingerprint: 'test',
        },
      ]);
      await incidents.save(tenant, record('incident-open', 'open', [orders, notInCatalog]));
      await incidents.save(tenant, record('incident-resolved', 'resolved', [orders]));
    });

    it('shows the asset with its open and resolved incidents apart', async () => {
      const view = await getView(`${tenant}/assets/${encodeURIComponent(orders)}`);
      assert.equal(view.qualifiedName, orders);
      assert.equal(view.asset?.assetType, 'table');
      assert.equal(view.asset?.name, tableName);
      assert.deepEqual(
        view.openIncidents.map((incident) => incident.incidentId),
        ['incident-open'],
      );
      assert.deepEqual(
        view.recentIncidents.map((incident) => [incident.incidentId, incident.feedback, incident.resolvedAt]),
        [['incident-resolved', 'fixed', at(3)]],
      );
      assert.deepEqual(await getView(`${tenant}/assets?name=${encodeURIComponent(orders)}`), view);
    });

    it('shows an asset not in the catalog with its incidents', async () => {
      const view = await getView(`${tenant}/assets/${encodeURIComponent(notInCatalog)}`);
      assert.equal(view.asset, null);
      assert.deepEqual(
        view.openIncidents.map((incident) => incident.incidentId),
        ['incident-open'],
      );
      assert.deepEqual(view.recentIncidents, []);
    });

    it('answers 401 without a key, 403 for another tenant and 400 for what is not a qualified name', async () => {
      const anonymous = await fetch(`${base}/v1/tenants/${tenant}/assets/${encodeURIComponent(orders)}`);
      assert.equal(anonymous.status, 401);
      assert.match(ErrorBody.parse(await anonymous.json()).error, /^no API key/);
      const unknown = await read(`${uniqueId('nobody')}/assets/${encodeURIComponent(orders)}`);
      assert.equal(unknown.status, 403);
      assert.match(ErrorBody.parse(await unknown.json()).error, /is not a key of tenant/);
      const bare = await read(`${tenant}/assets/orders`);
      assert.equal(bare.status, 400);
      assert.match(ErrorBody.parse(await bare.json()).error, /expected a qualified name/);
    });
  });
});
