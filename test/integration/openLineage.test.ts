import type { KafkaMessage, Producer } from 'kafkajs';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { OPENLINEAGE_HTTP_SOURCE } from '../../api/lineage.js';
import type { OpenLineageReceived } from '../../lib/lineage/contracts.js';
import { SourceConnection } from '../../lib/extractors/index.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { inboundTopic, lineageKey, openLineageMessage, topics } from '../../lib/kafka/topics.js';
import { createLineageBridge } from '../../workers/lineageBridge.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { eventually, testConfig, testGroup, uniqueId, uniqueTenant, type Tail } from '../support/harness.js';
import { openStack } from '../support/stack.js';

/**
 * OpenLineage run events through Kafka and the lineage bridge into Cassandra, posted over HTTP or produced
 * straight to the tenant's metasync.inbound.<tenant>.lineage; events that break the spec land on metasync.dlq with
 * their reason.
 */

const config = testConfig();
const tenant = uniqueTenant('openlineage');
const lineageTopic = inboundTopic(tenant, 'lineage');
const stack = openStack(config);
const lineage = lineageStore(stack.cassandra);

const sparkComplete = z
  .record(z.string(), z.unknown())
  .parse(JSON.parse(readFileSync(new URL('../fixtures/openlineage/spark-complete.json', import.meta.url), 'utf8')));
const job = { namespace: 'spark-prod', name: 'order_facts.execute_insert_into_hadoop_fs_relation_command' };
const orders = 'postgres://warehouse/sales/public/orders';
const facts = 'postgres://warehouse/sales/analytics/Order%20Facts';

const envelope = (payload: unknown, id = uniqueId('ol')): OpenLineageReceived =>
  ({
    id,
    type: 'lineage.openlineage',
    version: 1,
    tenant,
    source: 'test',
    occurredAt: new Date().toISOString(),
    payload,
  }) as OpenLineageReceived;
const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();
const upstreamOf = async (downstream: string) =>
  (await lineage.upstreamOf(tenant, downstream)).items.map((edge) => edge.upstream).sort();

describe('OpenLineage run events into the lake', () => {
  let api: TestApi;
  let producer: Producer;
  let deadLetters: Tail;
  let ingestKey: string;
  let readKey: string;

  before(async () => {
    api = await startTestApi(stack, [tenant]);
    // Where the events' postgres://db.example.com:5432 datasets live: the host need not answer, only match.
    const source = SourceConnection.parse({
      type: 'postgres',
      host: 'db.example.com',
      database: 'sales',
      user: 'etl',
      password: 'not-used',
    });
    await saveConnection(stack.postgres, config.secretsKey, tenant, 'warehouse', source);
    await stack.tenantTopics(tenant);
    producer = await stack.producer();
    deadLetters = await stack.tail(topics.deadLetters);
    await stack.bridge(createLineageBridge, testGroup('lineage-bridge'), { tenants: [tenant] });
    ingestKey = await api.keyOf(tenant, ['ingest']);
    readKey = await api.keyOf(tenant, ['read']);
  });

  after(() => stack.close());

  it('writes the edges of a COMPLETE event produced to Kafka, named as ingestion names the tables', async () => {
    await producer.send({ topic: lineageTopic, acks: -1, messages: [openLineageMessage(envelope(sparkComplete))] });
    const tables = await eventually(
      async () => {
        const found = await upstreamOf(facts);
        return found.length === 2 ? found : undefined;
      },
      30_000,
      'the table-level edges of the event',
    );
    assert.deepEqual(tables, ['openlineage://s3a%3A%2F%2Fraw-zone/%2Fexchange_rates%2F2026-11-24', orders]);
    const [hashed] = (await lineage.upstreamOf(tenant, `${facts}/email_hash`)).items;
    assert.deepEqual(hashed, {
      upstream: `${orders}/customer_email`,
      origin: `openlineage:${job.namespace}/${job.name}`,
      level: 'column',
      kind: 'openlineage',
      propagates: false,
      transformation: 'DIRECT/TRANSFORMATION (masking) sha2(customer_email)',
    });
  });

  it('dead-letters an event that breaks the spec, or names another tenant than its topic, with the reason', async () => {
    const badRunId = envelope({ ...sparkComplete, run: { runId: 'run-42' } });
    const stranger = { ...envelope(sparkComplete), tenant: 'no-such-tenant' };
    await producer.send({
      topic: lineageTopic,
      acks: -1,
      messages: [
        { key: lineageKey(tenant, job), value: JSON.stringify(badRunId) },
        { key: lineageKey(stranger.tenant, job), value: JSON.stringify(stranger) },
      ],
    });
    const invalid = await deadLetters.waitFor((m) => m.value?.toString() === JSON.stringify(badRunId));
    assert.match(header(invalid, 'dlq-reason') ?? '', /^invalid event: .*runId is a UUID/s);
    assert.equal(header(invalid, 'dlq-source-topic'), lineageTopic);
    const claimed = await deadLetters.waitFor((m) => m.value?.toString() === JSON.stringify(stranger));
    assert.equal(
      header(claimed, 'dlq-reason'),
      `tenant mismatch: the event claims "no-such-tenant" on tenant "${tenant}"'s topic`,
    );
  });

  it('accepts a RunEvent posted over HTTP with 202 once Kafka has it, and the bridge writes its edges', async () => {
    const event = {
      ...sparkComplete,
      run: { runId: '0193f1d2-7c4e-7b8a-9d55-3f0e2a1b6c78' },
      job: { namespace: 'airflow-prod', name: 'daily_sales.load_refunds' },
      inputs: [{ namespace: 'postgres://db.example.com:5432', name: 'sales.public.payments' }],
      outputs: [{ namespace: 'postgres://db.example.com:5432', name: 'sales.public.refunds' }],
    };
    const post = (body: object) => api.call(ingestKey, 'POST', `/v1/tenants/${tenant}/lineage`, body);
    const accepted = await post(event);
    assert.equal(accepted.statusCode, 202, accepted.body);
    const { eventId } = z.object({ eventId: z.string().startsWith('openlineage-') }).parse(accepted.json());
    assert.deepEqual((await post(event)).json(), { eventId }, 'the same body is the same event');
    await eventually(
      async () => ((await upstreamOf('postgres://warehouse/sales/public/refunds')).length ? true : undefined),
      30_000,
      'the edge of the posted event',
    );
    assert.deepEqual(await upstreamOf('postgres://warehouse/sales/public/refunds'), [
      'postgres://warehouse/sales/public/payments',
    ]);
  });

  it('answers 400 with the issues to an HTTP event that breaks the spec, and keeps it as a dead letter', async () => {
    const body = JSON.stringify({ ...sparkComplete, eventTime: 'yesterday' });
    const refused = await api.call(ingestKey, 'POST', `/v1/tenants/${tenant}/lineage`, body);
    assert.equal(refused.statusCode, 400);
    const answer = z
      .object({ error: z.string(), issues: z.array(z.object({ path: z.array(z.unknown()) })) })
      .parse(refused.json());
    assert.match(answer.error, /^not an OpenLineage RunEvent \(spec 2-0-2\): .*eventTime/s);
    assert.deepEqual(answer.issues[0]?.path, ['eventTime']);
    const kept = await deadLetters.waitFor((m) => m.value?.toString() === body);
    assert.equal(header(kept, 'dlq-source-topic'), OPENLINEAGE_HTTP_SOURCE);
    assert.match(header(kept, 'dlq-reason') ?? '', /eventTime is an ISO 8601 date-time with its offset/);
    assert.match(header(kept, 'dlq-archive-key') ?? '', new RegExp(`^tenants/${tenant}/dead-letters/`));
  });

  it('refuses a key of another tenant and a key without the ingest scope', async () => {
    const asOther = await api.call(ingestKey, 'POST', '/v1/tenants/no-such-tenant/lineage', sparkComplete);
    assert.equal(asOther.statusCode, 403);
    const readOnly = await api.call(readKey, 'POST', `/v1/tenants/${tenant}/lineage`, sparkComplete);
    assert.equal(readOnly.statusCode, 403);
  });
});
