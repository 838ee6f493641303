import type { Producer } from 'kafkajs';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { changeOutcome } from '../../control/annotate.js';
import type { LineageEdge } from '../../lib/lineage/contracts.js';
import type { AnnotationRequested } from '../../lib/propagation/contracts.js';
import { annotationStore } from '../../lib/stores/annotations.js';
import { lineageStore } from '../../lib/stores/lineage.js';
import { inboundTopic, topics } from '../../lib/kafka/topics.js';
import { createCommandBridge } from '../../workers/commandBridge.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { eventually, testGroup, uniqueTenant, type Tail } from '../support/harness.js';
import { openStack } from '../support/stack.js';

const tenant = uniqueTenant('annotate');
const other = uniqueTenant('annotate-other');
const stack = openStack();
const { cassandra, temporal } = stack;
const annotations = annotationStore(cassandra);
const lineage = lineageStore(cassandra);

const prefix = `postgres://shop-${randomUUID().slice(0, 8)}/shop/public`;
const email = `${prefix}/customers/email`;
const downstream = Array.from({ length: 3 }, (_, i) => `${prefix}/report_${i}/email`);
const edge = (upstream: string, to: string): LineageEdge => ({
  upstream,
  downstream: to,
  level: 'column',
  kind: 'manual',
  origin: 'manual',
  propagates: true,
  transformation: null,
  downstreamType: 'column',
});

describe('annotating over HTTP (API keys) and Kafka, through the command bridge', () => {
  let api: TestApi;
  /** The tenant's own Kafka producer (the API and the bridge are each their own principal too). */
  let producer: Producer;
  let deadLetters: Tail;
  let annotateKey: string;
  let readOnlyKey: string;
  let otherKey: string;

  const holds = async (name: string) =>
    (await annotations.annotationsOf(tenant, name)).map((a) => `${a.attribute}=${a.value}`).sort();
  const post = (key: string, body: unknown, asTenant = tenant) =>
    api.call(key, 'POST', `/v1/tenants/${asTenant}/annotations`, body);
  const get = (key: string, url: string) => api.call(key, 'GET', url);

  before(async () => {
    api = await startTestApi(stack, [tenant, other]);
    annotateKey = await api.keyOf(tenant, ['annotate', 'read']);
    readOnlyKey = await api.keyOf(tenant, ['read']);
    otherKey = await api.keyOf(other, ['admin']);
    await lineage.upsertEdges(
      tenant,
      downstream.map((to) => edge(email, to)),
    );
    await stack.workers();
    producer = await stack.producer(await stack.tenantOnKafka(tenant));
    await stack.tenantTopics(other);
    deadLetters = await stack.tail(topics.deadLetters);
    await stack.bridge(createCommandBridge, testGroup('annotation-bridge'), { tenants: [tenant, other] });
  });

  after(() => stack.close());

  it('POST /annotations queues the change (202), and it propagates; the actor is the key, not the body', async () => {
    const response = await post(annotateKey, {
      qualifiedName: email,
      op: 'add',
      attribute: 'classification',
      value: 'PII',
      actor: 'someone-else',
    });
    assert.equal(response.statusCode, 202, response.body);
    const { changeWorkflowId } = response.json<{ changeWorkflowId: string }>();
    const outcome = await changeOutcome(temporal, changeWorkflowId, 60_000);
    assert.equal(outcome.reached, 4);
    assert.deepEqual(await holds(downstream[2]!), ['classification=PII']);

    const read = await get(annotateKey, `/v1/tenants/${tenant}/annotations?name=${encodeURIComponent(downstream[0]!)}`);
    assert.equal(read.statusCode, 200);
    const [held] = read.json<{ annotations: { value: string; attributions: { source: string }[] }[] }>().annotations;
    assert.equal(held!.attributions[0]!.source, email);
  });

  it('refuses bad requests with a clear 4xx and queues nothing', async () => {
    const cases: [string, number, Awaited<ReturnType<typeof post>>, RegExp][] = [
      [
        'a read-only key',
        403,
        await post(readOnlyKey, { qualifiedName: email, op: 'add', attribute: 'tag', value: 'x' }),
        /scope/,
      ],
      [
        "another tenant's key",
        403,
        await post(otherKey, { qualifiedName: email, op: 'add', attribute: 'tag', value: 'x' }),
        /tenant/,
      ],
      ['no key', 401, await post('', { qualifiedName: email, op: 'add', attribute: 'tag', value: 'x' }), /key/i],
      [
        'an unknown attribute',
        400,
        await post(annotateKey, { qualifiedName: email, op: 'add', attribute: 'colour', value: 'x' }),
        /attribute/,
      ],
      [
        'a malformed classification',
        400,
        await post(annotateKey, {
          qualifiedName: email,
          op: 'add',
          attribute: 'classification',
          value: "PII'; DROP TABLE x;--",
        }),
        /classification or tag/,
      ],
      [
        'malformed JSON',
        400,
        await api.call(annotateKey, 'POST', `/v1/tenants/${tenant}/annotations`, '{"op":'),
        /malformed JSON/,
      ],
    ];
    for (const [what, status, response, message] of cases) {
      assert.equal(response.statusCode, status, `${what}: ${response.body}`);
      assert.match(response.json<{ error: string }>().error, message, what);
    }
    // Tenant B's key, even with B's URL, reaches only B: tenant A's asset is untouched.
    const asOther = await post(otherKey, { qualifiedName: email, op: 'add', attribute: 'tag', value: 'stolen' }, other);
    assert.equal(asOther.statusCode, 202);
    await changeOutcome(temporal, asOther.json<{ changeWorkflowId: string }>().changeWorkflowId, 60_000);
    assert.deepEqual(await holds(email), ['classification=PII']);
  });

  it('GET /lineage pages through edges; a tampered page token is a 400, a CQL-looking name just matches nothing', async () => {
    const url = (query: string) => `/v1/tenants/${tenant}/lineage?name=${encodeURIComponent(email)}&${query}`;
    const seen: string[] = [];
    let token: string | null = null;
    do {
      const response = await get(readOnlyKey, url(`limit=2${token ? `&pageToken=${token}` : ''}`));
      assert.equal(response.statusCode, 200, response.body);
      const page = response.json<{ edges: { downstream: string }[]; nextPageToken: string | null }>();
      seen.push(...page.edges.map((e) => e.downstream));
      token = page.nextPageToken;
    } while (token);
    assert.deepEqual(seen.sort(), [...downstream].sort());

    const upstream = await get(
      readOnlyKey,
      `/v1/tenants/${tenant}/lineage?direction=upstream&name=${encodeURIComponent(downstream[0]!)}`,
    );
    assert.deepEqual(
      upstream.json<{ edges: { upstream: string }[] }>().edges.map((e) => e.upstream),
      [email],
    );

    const tampered = await get(readOnlyKey, url('pageToken=0011223344'));
    assert.equal(tampered.statusCode, 400, tampered.body);
    const notHex = await get(readOnlyKey, url(`pageToken=${encodeURIComponent("' OR 1=1 --")}`));
    assert.equal(notHex.statusCode, 400);
    const injected = await get(
      readOnlyKey,
      `/v1/tenants/${tenant}/lineage?name=${encodeURIComponent("x://y/z' OR tenant='other")}`,
    );
    assert.equal(injected.statusCode, 200);
    assert.deepEqual(injected.json<{ edges: unknown[] }>().edges, []);
  });

  it('takes annotation requests from Kafka; an invalid one is dead-lettered with its reason', async () => {
    const command = (payload: unknown, id = randomUUID()) => ({
      key: tenant,
      value: JSON.stringify({
        id,
        type: 'asset.annotation-requested',
        version: 1,
        tenant,
        source: 'test',
        occurredAt: new Date().toISOString(),
        payload,
      }),
    });
    const good: AnnotationRequested['payload'] = {
      qualifiedName: email,
      op: 'add',
      attribute: 'owner',
      value: 'data-team@example.com',
      actor: 'producer',
    };
    const goodMessage = command(good);
    const badId = randomUUID();
    await producer.send({
      topic: inboundTopic(tenant, 'commands'),
      messages: [goodMessage, command({ ...good, op: 'flip' }, badId)],
    });
    await eventually(
      async () => ((await holds(downstream[1]!)).includes('owner=data-team@example.com') ? true : undefined),
      60_000,
      'the owner on the downstream column',
    );
    const dead = await deadLetters.waitFor((m) => m.value?.toString().includes(badId) ?? false);
    assert.match(dead.headers?.['dlq-reason']?.toString() ?? '', /op/);
  });
});
