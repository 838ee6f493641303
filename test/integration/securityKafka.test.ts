import { Kafka, logLevel, type Producer } from 'kafkajs';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { createKafka, createProducer } from '../../lib/platform/clients.js';
import { ensureTopic } from '../../lib/kafka/ensureTopic.js';
import type { KafkaCredentials } from '../../lib/platform/config.js';
import { aclEntries, tenantGrants, type Service } from '../../lib/kafka/access.js';
import { provisionTenantTopics, withKafkaAdmin } from '../../lib/kafka/provisioning.js';
import { issueTenantKafkaAccess } from '../../control/onboarding.js';
import { createApiKey } from '../../lib/stores/apiKeys.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { inboundTopic, outboundTopic, sinkTopicPrefix, topics, type InboundKind } from '../../lib/kafka/topics.js';
import { createCommandBridge } from '../../workers/commandBridge.js';
import type { Bridge } from '../../workers/topicBridge.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testConfig, testGroup, uniqueTenant, type Tail } from '../support/harness.js';
import { kafkaAs } from '../support/kafka.js';
import { processesMentioning } from '../support/processes.js';
import { openStack } from '../support/stack.js';

/**
 * Kafka knows who is producing: every client logs in (SASL/SCRAM), and the broker's ACLs let each principal do only
 * what docs/security.md ("Kafka: who may write and read each topic") lists. Each row of that table is tried here
 * against the real broker, with the real credentials: a tenant can neither write for nor read from another tenant,
 * no tenant (nor any service but the worker) can write an outbound topic, so no forged change reaches a
 * subscription's sink, and a record on A's own topic that claims B is dead-lettered with the reason.
 */

const operator = uniqueTenant('kop');
const config = testConfig({ METASYNC_OPERATOR_TENANT: operator });
const tenantA = uniqueTenant('ka');
const tenantB = uniqueTenant('kb');
/** Created while the bridge runs, to measure how soon a new tenant's first event is read. */
const tenantC = uniqueTenant('kc');
/** The test looks (dead letters, offsets) as Kafka's admin. */
const stack = openStack(config);
const kafkaAdmin = stack.kafka.admin();

type Who = Service | 'tenant A' | 'tenant B';
const sinkA = `${sinkTopicPrefix(tenantA)}probe`;

/**
 * Why Kafka refused: the protocol error's type (TOPIC_AUTHORIZATION_FAILED, ...), which kafkajs puts on the error,
 * on its cause, or on each of an aggregate's errors; else the error's name.
 */
const refusal = (error: unknown): string => {
  const { type, name, cause, errors } = error as { type?: string; name?: string; cause?: unknown; errors?: unknown[] };
  if (type) return type;
  const inner = [cause, ...(errors ?? [])]
    .filter(Boolean)
    .map(refusal)
    .find((found) => /^[A-Z_]+$/.test(found));
  return inner ?? name ?? String(error);
};

/** Reads `topic` in `groupId` until a first fetch comes back ('ok') or the consumer gives up (why). */
async function readAs(kafka: Kafka, topic: string, groupId: string): Promise<string> {
  const consumer = kafka.consumer({ groupId, retry: { retries: 0, restartOnFailure: () => Promise.resolve(false) } });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const outcome = new Promise<string>((resolve) => {
      consumer.on(consumer.events.FETCH, () => resolve('ok'));
      consumer.on(consumer.events.CRASH, ({ payload }) => resolve(refusal(payload.error)));
    });
    await consumer.run({ eachMessage: () => Promise.resolve() });
    return await outcome;
  } catch (error) {
    return refusal(error);
  } finally {
    await consumer.disconnect();
  }
}

describe('Kafka: who may write and read each topic', () => {
  let api: TestApi;
  let credentials: Record<'tenant A' | 'tenant B', KafkaCredentials>;
  let clients: Record<Who, Kafka>;
  const producers: Partial<Record<Who, Producer>> = {};
  let bridge: Bridge;
  let deadLetters: Tail;

  before(async () => {
    stack.defer(() =>
      stack.postgres.query('DELETE FROM tenants WHERE tenant = ANY($1)', [[operator, tenantA, tenantB, tenantC]]),
    );
    await kafkaAdmin.connect();
    stack.defer(() => kafkaAdmin.disconnect());
    // A and C are onboarded below: their topics go at the end too.
    stack.dropTopicsAtClose(tenantA, tenantC);
    api = await startTestApi(stack, [operator]);
    const operatorKey = (await createApiKey(api.deps.postgres, { tenant: operator, name: 'ops', scopes: ['admin'] }))
      .key;
    // A is onboarded as an operator does it, through the API, which answers with its Kafka credential once.
    const created = await api.call(operatorKey, 'POST', '/v1/tenants', { tenant: tenantA });
    assert.equal(created.statusCode, 201, created.body);
    const kafkaOfA = z
      .object({ kafka: z.object({ username: z.string(), password: z.string() }) })
      .parse(created.json());
    await saveTenant(api.deps.postgres, tenantB);
    credentials = { 'tenant A': kafkaOfA.kafka, 'tenant B': await stack.tenantOnKafka(tenantB) };
    clients = {
      'tenant A': kafkaAs(config, credentials['tenant A']),
      'tenant B': kafkaAs(config, credentials['tenant B']),
      api: kafkaAs(config, 'api'),
      bridge: kafkaAs(config, 'bridge'),
      worker: kafkaAs(config, 'worker'),
      subscribers: kafkaAs(config, 'subscribers'),
    };
    deadLetters = await stack.tail(topics.deadLetters);
    bridge = await stack.bridge(createCommandBridge, testGroup('security-commands'), {
      tenants: [tenantA, tenantB, tenantC],
    });
  });

  after(() => stack.close());

  /** One idempotent producer per principal, kept across attempts: a refused send must not spoil the next one. */
  async function produceAs(who: Who, topic: string): Promise<string> {
    const producer = (producers[who] ??= await stack.producer(clients[who]));
    try {
      await producer.send({ topic, acks: -1, messages: [{ key: 'security-probe', value: '{}' }] });
      return 'ok';
    } catch (error) {
      return refusal(error);
    }
  }

  it('lets each principal write exactly the topics its ACLs name', async () => {
    const inA = (kind: InboundKind) => inboundTopic(tenantA, kind);
    const inB = (kind: InboundKind) => inboundTopic(tenantB, kind);
    const writable: Record<Who, string[]> = {
      'tenant A': [inA('commands'), inA('incidents'), inA('lineage')],
      'tenant B': [inB('commands'), inB('incidents')],
      api: [inA('commands'), inA('incidents'), inA('lineage'), inB('commands'), inB('incidents'), topics.deadLetters],
      bridge: [topics.deadLetters],
      worker: [outboundTopic(tenantA), outboundTopic(tenantB), topics.events, topics.deadLetters],
      subscribers: [sinkA, topics.deadLetters],
    };
    // The subscribers make a sink's topic on first use (a Kafka sink's start).
    await ensureTopic(clients.subscribers, sinkA, 1);
    const candidates = [
      ...new Set([
        inA('commands'),
        inA('incidents'),
        inA('lineage'),
        inB('commands'),
        inB('incidents'),
        outboundTopic(tenantA),
        outboundTopic(tenantB),
        sinkA,
        topics.events,
        topics.deadLetters,
      ]),
    ];
    const seen: string[] = [];
    const expected: string[] = [];
    for (const who of Object.keys(writable) as Who[]) {
      for (const topic of candidates) {
        seen.push(`${who} -> ${topic}: ${await produceAs(who, topic)}`);
        expected.push(`${who} -> ${topic}: ${writable[who].includes(topic) ? 'ok' : 'TOPIC_AUTHORIZATION_FAILED'}`);
      }
    }
    assert.deepEqual(seen, expected);
  });

  it('lets each principal read exactly the topics and consumer groups its ACLs name', async () => {
    const attempts: [Who, string, string, 'ok' | 'refused'][] = [
      ['tenant A', outboundTopic(tenantA), `${tenantA}.reader`, 'ok'],
      ['tenant A', sinkA, `${tenantA}.sink-reader`, 'ok'],
      ['tenant A', outboundTopic(tenantB), `${tenantA}.reader`, 'refused'],
      ['tenant A', inboundTopic(tenantA, 'commands'), `${tenantA}.reader`, 'refused'],
      ['tenant A', inboundTopic(tenantB, 'commands'), `${tenantA}.reader`, 'refused'],
      ['tenant A', topics.deadLetters, `${tenantA}.reader`, 'refused'],
      ['tenant A', outboundTopic(tenantA), `${tenantB}.reader`, 'refused'], // a group of B's prefix
      ['tenant A', outboundTopic(tenantA), testGroup('tenant-a'), 'refused'], // a group of MetaSync's
      ['tenant B', outboundTopic(tenantA), `${tenantB}.reader`, 'refused'],
      ['tenant B', sinkA, `${tenantB}.reader`, 'refused'],
      ['bridge', inboundTopic(tenantA, 'commands'), testGroup('bridge-reader'), 'ok'],
      ['bridge', outboundTopic(tenantA), testGroup('bridge-reader'), 'refused'],
      ['subscribers', outboundTopic(tenantA), testGroup('subscribers-reader'), 'ok'],
      ['subscribers', inboundTopic(tenantA, 'commands'), testGroup('subscribers-reader'), 'refused'],
      ['api', inboundTopic(tenantA, 'commands'), testGroup('api-reader'), 'refused'],
      ['worker', outboundTopic(tenantA), testGroup('worker-reader'), 'refused'],
    ];
    const seen: string[] = [];
    const expected: string[] = [];
    for (const [who, topic, group, outcome] of attempts) {
      const result = await readAs(clients[who], topic, group);
      seen.push(`${who} reads ${topic} in ${group}: ${result === 'ok' ? 'ok' : 'refused'}`);
      expected.push(`${who} reads ${topic} in ${group}: ${outcome}`);
      if (result !== 'ok')
        assert.match(result, /AUTHORIZATION_FAILED|GroupCoordinatorNotFound/, `${who} ${topic}: ${result}`);
    }
    assert.deepEqual(seen, expected);
  });

  it('shows a tenant only its own topics, and lets it create none and grant nothing', async () => {
    const tenantAdmin = clients['tenant A'].admin();
    await tenantAdmin.connect();
    try {
      const visible = (await tenantAdmin.listTopics()).sort();
      assert.deepEqual(
        visible,
        [
          inboundTopic(tenantA, 'commands'),
          inboundTopic(tenantA, 'incidents'),
          inboundTopic(tenantA, 'lineage'),
          outboundTopic(tenantA),
          sinkA,
        ].sort(),
      );
      const extra = `${inboundTopic(tenantA, 'commands')}-extra`;
      const tried = (promise: Promise<unknown>) => promise.then(() => 'ok', refusal);
      assert.equal(await tried(tenantAdmin.createTopics({ topics: [{ topic: extra }] })), 'TOPIC_AUTHORIZATION_FAILED');
      // Granting itself B's topics is what an ACL change would take: only the admin may.
      const grabB = aclEntries(tenantGrants(tenantB)).map((acl) => ({
        ...acl,
        principal: `User:${credentials['tenant A'].username}`,
      }));
      assert.equal(await tried(tenantAdmin.createAcls({ acl: grabB })), 'CLUSTER_AUTHORIZATION_FAILED');
    } finally {
      await tenantAdmin.disconnect();
    }
  });

  it('refuses a client that does not log in, or logs in with a wrong password', async () => {
    const anonymous = new Kafka({
      clientId: 'anonymous',
      brokers: [...config.kafka.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 0 },
    });
    const probe = anonymous.admin();
    await assert.rejects(probe.connect().then(() => probe.listTopics()));
    await probe.disconnect();
    const wrong = createKafka(
      config.kafka,
      'wrong',
      { username: credentials['tenant A'].username, password: 'guessed' },
      { quiet: true },
    ).admin({ retry: { retries: 0 } });
    await assert.rejects(wrong.connect(), /SASL SCRAM SHA512 authentication failed/);
    await wrong.disconnect();
  });

  it("dead-letters a record on A's own topic that claims B, whoever produced it", async () => {
    const claimsB = (id: string) =>
      JSON.stringify({
        id,
        type: 'skeleton.requested',
        version: 1,
        tenant: tenantB,
        source: 'forger',
        occurredAt: new Date().toISOString(),
        payload: { runId: 'forged', tables: 1, columnsPerTable: 1 },
      });
    const forger = createProducer(clients['tenant A']);
    await forger.connect();
    try {
      await forger.send({
        topic: inboundTopic(tenantA, 'commands'),
        acks: -1,
        messages: [
          { key: tenantB, value: claimsB('forged-keyed-b') },
          { key: tenantA, value: claimsB('forged-keyed-a') },
        ],
      });
    } finally {
      await forger.disconnect();
    }
    for (const id of ['forged-keyed-b', 'forged-keyed-a']) {
      const letter = await deadLetters.waitFor((m) => (m.value?.toString() ?? '').includes(`"id":"${id}"`));
      assert.match(
        letter.headers?.['dlq-reason']?.toString() ?? '',
        new RegExp(`^tenant mismatch: the event claims "${tenantB}" on tenant "${tenantA}"'s topic`),
      );
      // Kept under A, the only tenant that could have written there; nothing was started for B.
      assert.ok(letter.headers?.['dlq-archive-key']?.toString().startsWith(`tenants/${tenantA}/`));
    }
    for await (const run of api.deps.temporal.workflow.list({ query: `TenantId = '${tenantB}'` })) {
      assert.fail(`a workflow of B was started: ${run.workflowId}`);
    }
  });

  it("reads a new tenant's topics without a restart, within the topic refresh interval", async (t) => {
    // The moment onboarding has made C's topics, the API may produce its first webhook there.
    await withKafkaAdmin(config, (client) => provisionTenantTopics(config, client, tenantC));
    const producer = createProducer(clients.api);
    await producer.connect();
    const sentAt = Date.now();
    await producer.send({
      topic: inboundTopic(tenantC, 'commands'),
      acks: -1,
      messages: [{ key: tenantC, value: '{"first":' }],
    });
    await producer.disconnect();
    const bound = config.kafka.topicRefreshMs + 30_000;
    await deadLetters.waitFor(
      (m) => m.headers?.['dlq-source-topic']?.toString() === inboundTopic(tenantC, 'commands'),
      bound,
    );
    const latencyMs = Date.now() - sentAt;
    t.diagnostic(
      `a new tenant's first event was read ${latencyMs} ms after its topics were made (topic refresh every ${config.kafka.topicRefreshMs} ms)`,
    );
    assert.ok(bridge.topics().includes(inboundTopic(tenantC, 'commands')));
  });

  it('rotates a tenant credential: the old password stops working, the new one works, and no password is in ps', async () => {
    // Every command line on the machine while Kafka's ConfigCommand sets the credential, read as `ps` reads them.
    const commandLines = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const pid of processesMentioning('kafka.admin.ConfigCommand')) {
          try {
            commandLines.add(readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
          } catch {
            // it ended meanwhile
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const rotated = await issueTenantKafkaAccess(config, tenantB).finally(() => (watching = false));
    await watch;
    assert.ok(commandLines.size > 0, 'the ConfigCommand run was seen');
    for (const line of commandLines) {
      for (const secret of [rotated.password, config.kafka.admin!.password]) assert.ok(!line.includes(secret), line);
    }
    const login = async (password: string) => {
      const probe = createKafka(
        config.kafka,
        'rotation',
        { username: rotated.username, password },
        { quiet: true },
      ).admin({ retry: { retries: 0 } });
      try {
        await probe.connect();
        return 'ok';
      } catch (error) {
        return refusal(error);
      } finally {
        await probe.disconnect();
      }
    };
    assert.notEqual(rotated.password, credentials['tenant B'].password);
    assert.equal(await login(credentials['tenant B'].password), 'KafkaJSSASLAuthenticationError');
    assert.equal(await login(rotated.password), 'ok');
  });

  it('lands each of many concurrent sends of one idempotent producer exactly once', async () => {
    const topic = inboundTopic(tenantA, 'lineage');
    const records = async () =>
      (await kafkaAdmin.fetchTopicOffsets(topic)).reduce((sum, { high }) => sum + Number(high), 0);
    const before = await records();
    const producer = createProducer(clients['tenant A']);
    await producer.connect();
    try {
      assert.ok(producer.isIdempotent());
      // A refused send first: the producer starts a new session, and the sends after it are not taken for repeats.
      await assert.rejects(producer.send({ topic: inboundTopic(tenantB, 'lineage'), messages: [{ value: 'x' }] }));
      const sent = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          producer.send({ topic, acks: -1, messages: [{ key: tenantA, value: `concurrent-${i}` }] }),
        ),
      );
      const offsets = new Set(sent.map(([metadata]) => `${metadata!.partition}/${metadata!.baseOffset}`));
      assert.equal(offsets.size, 60, 'sixty sends, sixty distinct offsets: none taken for a repeat of another');
    } finally {
      await producer.disconnect();
    }
    assert.equal((await records()) - before, 60, 'sixty records on the topic: none lost, none repeated');
  });
});
