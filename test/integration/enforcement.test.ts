import { execa } from 'execa';
import type { KafkaMessage, Producer, RecordMetadata } from 'kafkajs';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { AnnotationChanged, AnnotationChangedPayload } from '../../lib/propagation/contracts.js';
import { ensureTopic } from '../../lib/kafka/ensureTopic.js';
import { withKafkaAdmin } from '../../lib/kafka/provisioning.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { saveSubscription, subscriptionStatuses, type SubscriptionStatus } from '../../lib/stores/subscriptions.js';
import { outboundTopic, topics } from '../../lib/kafka/topics.js';
import { subscriptionGroupId } from '../../workers/subscriptions.js';
import { eventually, testConfig, uniqueId, uniqueTenant, type Tail } from '../support/harness.js';
import {
  asSourceRole,
  asSuperuser,
  queryAs,
  sourceLogin,
  startTestCluster,
  type TestCluster,
} from '../support/postgresCluster.js';
import { openStack, type Subscribers } from '../support/stack.js';

/**
 * Subscriptions against the real services: changes produced on a tenant's outbound topic (as the propagation
 * workflow publishes them) reach an enforcement sink that changes grants in a real PostgreSQL, proved by querying
 * as the restricted role, and a Kafka sink that filters and reshapes them.
 */

const config = testConfig({ METASYNC_KAFKA_GROUP_PREFIX: uniqueId('metasync-test-subscriptions') });
const tenant = uniqueTenant('subs');
/** The Kafka sink's subscription reads its own tenant's topic, so the enforcement tests' changes stay out of it. */
const feedTenant = uniqueTenant('feed');
const unique = uniqueId('').replace(/\W/g, '_').toLowerCase();
/**
 * The test publishes as Kafka's admin (standing in for the worker) and looks at topics as it; the subscribers are
 * their own principal, with their own producer (sinks and dead letters).
 */
const stack = openStack(config);
const { postgres } = stack;
const outbound = outboundTopic(tenant);
const feedOutbound = outboundTopic(feedTenant);

const shopDb = `metasync_shop${unique}`;
const analyst = `analyst${unique}`;
const auditor = `auditor${unique}`;
const ghost = `ghost${unique}`;
const sinkTopic = `metasync.sink.${feedTenant}.pii-feed`;
/** SQL in the downstream, as its owner. */
const inShop = (sql: string) => asSourceRole(config, shopDb, sql);

let sequence = 0;
function changed(
  qualifiedName: string,
  value: string,
  change: 'added' | 'removed',
  more: Partial<AnnotationChangedPayload> = {},
  forTenant = tenant,
): AnnotationChanged {
  sequence++;
  return {
    id: `change-${sequence}/${qualifiedName}`,
    type: 'asset.annotation-changed',
    version: 1,
    tenant: forTenant,
    source: 'enforcement-test',
    occurredAt: new Date().toISOString(),
    payload: {
      qualifiedName,
      assetType: qualifiedName.split('/').length > 6 ? 'column' : 'table',
      attribute: 'classification',
      value,
      change,
      attribution: { source: qualifiedName, path: [qualifiedName], depth: 0 },
      sequence: Date.now() * 1000 + sequence,
      changeId: `change-${sequence}`,
      ...more,
    },
  };
}

let producer: Producer;
async function publish(...events: AnnotationChanged[]): Promise<RecordMetadata[]> {
  return producer.send({
    topic: outboundTopic(events[0]!.tenant),
    acks: -1,
    messages: events.map((event) => ({ key: event.payload.qualifiedName, value: JSON.stringify(event) })),
  });
}

async function status(id: string, ofTenant = tenant): Promise<SubscriptionStatus> {
  const found = (await subscriptionStatuses(postgres, ofTenant)).find((s) => s.id === id);
  assert.ok(found, `subscription ${id}`);
  return found;
}

/** The delivered count once it stops moving, so a delivery being recorded does not count as the next one. */
async function settledDelivered(id: string): Promise<number> {
  for (let last = -1; ; await new Promise((resolve) => setTimeout(resolve, 1_000))) {
    const { delivered } = await status(id);
    if (delivered === last) return delivered;
    last = delivered;
  }
}

const waitUntil = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) =>
  eventually(async () => ((await check()) ? true : undefined), timeoutMs, what);

const starter = (args: string[], options: { reject?: boolean } = {}) =>
  execa(process.execPath, ['--import', 'tsx', 'starters/subscribe.ts', ...args], options);

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();

describe('subscriptions: enforcement in a downstream PostgreSQL, a Kafka sink, dead letters', () => {
  let subscribers: Subscribers;
  let deadLetters: Tail;

  before(async () => {
    // What the subscribers leave behind, once they have stopped: rows, consumer groups and topics.
    stack.defer(async () => {
      for (const table of ['subscriptions', 'enforcement_restrictions', 'enforcement_baselines', 'connections']) {
        await postgres.query(`DELETE FROM ${table} WHERE tenant = ANY($1)`, [[tenant, feedTenant]]);
      }
      const groups = [
        ...['enforce-shop', 'enforce-replica', 'enforce-ghost'].map((id) =>
          subscriptionGroupId(config.kafka.groupPrefix, tenant, id),
        ),
        subscriptionGroupId(config.kafka.groupPrefix, feedTenant, 'pii-feed'),
      ];
      await withKafkaAdmin(config, async (admin) => {
        await admin.deleteGroups(groups).catch(() => undefined);
        await admin.deleteTopics({ topics: [outbound, feedOutbound, sinkTopic] }).catch(() => undefined);
      });
    });
    // The downstream belongs to the stack's source role, which the sink connects as (it owns the tables it grants on).
    // Its roles go once the database has gone, with their grants in it.
    stack.defer(() => asSuperuser(`DROP ROLE IF EXISTS ${analyst}, ${auditor}, ${ghost}`));
    await asSuperuser(`CREATE ROLE ${analyst} LOGIN PASSWORD 'analyst'`);
    await stack.sourceDatabase(
      shopDb,
      `CREATE TABLE customers (id int PRIMARY KEY, name text, email text);
       INSERT INTO customers VALUES (1, 'Ada', 'ada@example.com');
       CREATE VIEW customer_contacts AS SELECT id, name, email FROM customers;
       CREATE TABLE "Orders" (id int, "CardNumber" text);
       GRANT SELECT ON customers, customer_contacts, "Orders" TO ${analyst};`,
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
    producer = await stack.producer();
    deadLetters = await stack.tail(topics.deadLetters);
    // The subscribers start before the tenant has a subscription or an outbound topic: both arrive later.
    subscribers = await stack.subscribers({ tenants: [tenant], pollMs: 500, maxBackoffMs: 1_000 });
  });

  after(() => stack.close());

  describe('enforcement on the stack PostgreSQL', () => {
    const name = (path: string) => `postgres://shop/${shopDb}/public/${path}`;
    const asAnalyst = (sql: string) =>
      queryAs({ host: '127.0.0.1', port: 5432, database: shopDb, user: analyst, password: 'analyst' }, sql);
    const deadLettered = (reason: RegExp) =>
      deadLetters.waitFor(
        (m) => header(m, 'dlq-subscription') === 'enforce-shop' && reason.test(header(m, 'dlq-reason') ?? ''),
      );

    before(async () => {
      await saveSubscription(postgres, tenant, 'enforce-shop', {
        sink: { type: 'postgres-enforcement', connectionId: 'shop', restrictedRoles: [analyst] },
      });
      await waitUntil('the subscription consuming', () =>
        Promise.resolve(subscribers.running().includes(`${tenant}/enforce-shop`)),
      );
    });

    it('takes SELECT on a PII column away and gives it back when its last classification goes', async () => {
      assert.equal(await asAnalyst('SELECT email FROM customers'), 'ok');
      await publish(changed(name('customers/email'), 'PII', 'added'));
      await waitUntil('email restricted', async () => (await asAnalyst('SELECT email FROM customers')) === '42501');
      assert.equal(await asAnalyst('SELECT id, name FROM customers'), 'ok');
      // A view reads with its owner's rights: it needs its own classification, as propagation gives it.
      assert.equal(await asAnalyst('SELECT email FROM customer_contacts'), 'ok');
      await publish(changed(name('customer_contacts/email'), 'PII', 'added'));
      await waitUntil(
        'view column restricted',
        async () => (await asAnalyst('SELECT email FROM customer_contacts')) === '42501',
      );
      assert.equal(await asAnalyst('SELECT id, name FROM customer_contacts'), 'ok');

      // GDPR keeps the column restricted once PII is gone; the redelivered GDPR changes nothing.
      const gdpr = changed(name('customers/email'), 'GDPR', 'added');
      const delivered = await settledDelivered('enforce-shop');
      await publish(gdpr, gdpr, changed(name('customers/email'), 'PII', 'removed'));
      await waitUntil(
        'the three changes delivered',
        async () => (await status('enforce-shop')).delivered >= delivered + 3,
      );
      assert.equal(await asAnalyst('SELECT email FROM customers'), '42501');

      await publish(
        changed(name('customers/email'), 'GDPR', 'removed'),
        changed(name('customer_contacts/email'), 'PII', 'removed'),
      );
      await waitUntil('email readable again', async () => (await asAnalyst('SELECT email FROM customers')) === 'ok');
      await waitUntil(
        'view email readable again',
        async () => (await asAnalyst('SELECT email FROM customer_contacts')) === 'ok',
      );
      assert.equal(await asAnalyst('SELECT * FROM customers'), 'ok');
    });

    it('takes SELECT on a whole table away for a table-level classification, and gives it back', async () => {
      await publish(changed(name('customers'), 'GDPR', 'added'));
      await waitUntil('customers restricted', async () => (await asAnalyst('SELECT id FROM customers')) === '42501');
      assert.equal(await asAnalyst('SELECT email FROM customers'), '42501');
      await publish(changed(name('customers'), 'GDPR', 'removed'));
      await waitUntil('customers readable again', async () => (await asAnalyst('SELECT * FROM customers')) === 'ok');
    });

    it('finds names whose case mapping rules lowered, and skips with a reason what the downstream lacks', async () => {
      const before = await settledDelivered('enforce-shop');
      await publish(changed(name('orders/cardnumber'), 'PII', 'added'));
      await waitUntil(
        '"Orders"."CardNumber" restricted',
        async () => (await asAnalyst('SELECT "CardNumber" FROM "Orders"')) === '42501',
      );
      assert.equal(await asAnalyst('SELECT id FROM "Orders"'), 'ok');

      await publish(
        changed(name('customers/phone'), 'PII', 'added'),
        changed(name('customers/email'), 'PII', 'added', { attribute: 'tag' }), // not a classification: ignored
        changed(`postgres://elsewhere/${shopDb}/public/customers/email`, 'PII', 'added'), // another connection: ignored
        changed(name('customers'), 'Internal', 'added'), // not an enforced classification: ignored
      );
      const skipped = await deadLettered(/no column "phone" in public\.customers/);
      assert.equal(header(skipped, 'dlq-source-topic'), outbound);
      await publish(changed(name('orders/cardnumber'), 'PII', 'removed'));
      await waitUntil(
        '"CardNumber" readable again',
        async () => (await asAnalyst('SELECT "CardNumber" FROM "Orders"')) === 'ok',
      );
      await waitUntil(
        'both "Orders" changes delivered',
        async () => (await status('enforce-shop')).delivered === before + 2,
      );
      assert.equal(
        await settledDelivered('enforce-shop'),
        before + 2,
        'ignored and skipped changes are not deliveries',
      );
      assert.equal(await asAnalyst('SELECT email FROM customers'), 'ok');
    });
  });

  describe('a restricted role the downstream does not have', () => {
    const name = (path: string) => `postgres://shop/${shopDb}/public/${path}`;
    const as = (role: string, sql: string) =>
      queryAs({ host: '127.0.0.1', port: 5432, database: shopDb, user: role, password: 'secret' }, sql);

    before(async () => {
      await asSuperuser(`CREATE ROLE ${auditor} LOGIN PASSWORD 'secret'`);
      await inShop(`CREATE TABLE ledger (id int, iban text, amount numeric); GRANT SELECT ON ledger TO ${auditor}`);
      await saveSubscription(postgres, tenant, 'enforce-ghost', {
        sink: { type: 'postgres-enforcement', connectionId: 'shop', restrictedRoles: [auditor, ghost] },
      });
      await waitUntil('the subscription consuming', () =>
        Promise.resolve(subscribers.running().includes(`${tenant}/enforce-ghost`)),
      );
    });

    it('applies the change for the roles it has, dead-letters it naming the missing one, and goes on', async () => {
      await publish(changed(name('ledger/iban'), 'PII', 'added'));
      await waitUntil(
        'iban restricted for the role that exists',
        async () => (await as(auditor, 'SELECT iban FROM ledger')) === '42501',
      );
      const letter = await deadLetters.waitFor(
        (m) => header(m, 'dlq-subscription') === 'enforce-ghost' && (header(m, 'dlq-reason') ?? '').includes(ghost),
      );
      assert.match(
        header(letter, 'dlq-reason') ?? '',
        new RegExp(
          `restricted role\\(s\\) ${ghost} do not exist on the downstream, so the change was applied for ${auditor} only`,
        ),
      );
      assert.equal(header(letter, 'dlq-source-topic'), outbound);

      // The next change is not held up behind it, and the subscription is not failing.
      await publish(changed(name('ledger/amount'), 'PII', 'added'));
      await waitUntil(
        'amount restricted too',
        async () => (await as(auditor, 'SELECT amount FROM ledger')) === '42501',
      );
      assert.equal((await status('enforce-ghost')).lastError, null);
      assert.equal(await as(auditor, 'SELECT id FROM ledger'), 'ok');

      // Once the role exists, the next change of the table reconciles it for that role as well.
      await asSuperuser(`CREATE ROLE ${ghost} LOGIN PASSWORD 'secret'`);
      await inShop(`GRANT SELECT ON ledger TO ${ghost}`);
      assert.equal(await as(ghost, 'SELECT iban FROM ledger'), 'ok');
      const delivered = await settledDelivered('enforce-ghost');
      await publish(changed(name('ledger/iban'), 'GDPR', 'added'));
      await waitUntil(
        'the change delivered in full',
        async () => (await status('enforce-ghost')).delivered > delivered,
      );
      assert.equal(await as(ghost, 'SELECT iban FROM ledger'), '42501');
      assert.equal(await as(ghost, 'SELECT amount FROM ledger'), '42501');
      assert.equal(await as(ghost, 'SELECT id FROM ledger'), 'ok');
    });
  });

  describe('a downstream that is down', () => {
    let replica: TestCluster;
    let admin: pg.Pool;
    const name = (path: string) => `postgres://replica/shop/public/${path}`;
    const groupId = subscriptionGroupId(config.kafka.groupPrefix, tenant, 'enforce-replica');

    /** The analyst's SELECT grants, table-level (`t`) and column-level (`t.c`), as the catalog holds them. */
    async function analystGrants(): Promise<string> {
      const { rows } = await admin.query<{ grant: string }>(`
        SELECT c.relname AS grant FROM pg_class c, aclexplode(c.relacl) a
        WHERE a.grantee = 'analyst'::regrole AND a.privilege_type = 'SELECT' AND c.relnamespace = 'public'::regnamespace
        UNION ALL
        SELECT c.relname || '.' || att.attname FROM pg_attribute att JOIN pg_class c ON c.oid = att.attrelid,
          aclexplode(att.attacl) a
        WHERE a.grantee = 'analyst'::regrole AND a.privilege_type = 'SELECT' AND c.relnamespace = 'public'::regnamespace`);
      return rows
        .map((row) => row.grant)
        .sort()
        .join();
    }

    before(async () => {
      replica = await startTestCluster();
      await replica.pool().query('CREATE DATABASE shop');
      admin = replica.pool('shop');
      await admin.query(`
        CREATE ROLE analyst LOGIN PASSWORD 'analyst';
        CREATE TABLE customers (id int, name text, email text);
        CREATE TABLE orders (id int, card text);
        CREATE TABLE payments (id int, amount numeric);
        GRANT SELECT ON customers, orders, payments TO analyst;
      `);
      await saveConnection(postgres, config.secretsKey, tenant, 'replica', {
        type: 'postgres',
        host: '127.0.0.1',
        port: replica.port,
        database: 'shop',
        user: replica.user,
        password: replica.password,
        connectTimeoutSeconds: 2,
      });
      await saveSubscription(postgres, tenant, 'enforce-replica', {
        sink: { type: 'postgres-enforcement', connectionId: 'replica', restrictedRoles: ['analyst'] },
      });
    });

    after(async () => {
      await replica?.destroy();
    });

    it('retries without committing while the downstream is down, then applies every change in order', async () => {
      await publish(changed(name('customers/email'), 'PII', 'added'));
      await waitUntil(
        'email restricted on the replica',
        async () => (await analystGrants()) === 'customers.id,customers.name,orders,payments',
      );

      await replica.stop();
      const produced = await publish(
        changed(name('customers/name'), 'GDPR', 'added'),
        changed(name('customers/name'), 'PII', 'added'),
        changed(name('customers/name'), 'GDPR', 'removed'), // PII still holds it
        changed(name('orders'), 'PII', 'added'),
        changed(name('orders'), 'owner-team', 'added', { attribute: 'owner' }),
        changed(name('payments'), 'PII', 'added'),
        changed(name('payments'), 'PII', 'removed'),
      );
      const failing = await eventually(
        async () => ((await status('enforce-replica')).lastError ? status('enforce-replica') : undefined),
        30_000,
        'the failure on the subscription',
      );
      assert.ok(failing.failingSince);
      assert.match(failing.lastError!, /ECONNREFUSED|connect|terminat/i);
      // Give the retries time to go round a few times: still nothing of the new changes may be committed.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const [committed] = await withKafkaAdmin(config, (admin) => admin.fetchOffsets({ groupId, topics: [outbound] }));
      for (const { partition, baseOffset } of produced) {
        const offset = Number(committed!.partitions.find((p) => p.partition === partition)?.offset ?? -1);
        assert.ok(
          offset <= Number(baseOffset),
          `partition ${partition}: committed ${offset}, produced at ${baseOffset}`,
        );
      }
      assert.equal((await status('enforce-replica')).failingSince?.getTime(), failing.failingSince.getTime());

      await replica.start();
      await waitUntil(
        'every change applied on the replica',
        async () => (await analystGrants().catch(() => '')) === 'customers.id,payments',
        60_000,
      );
      const recovered = await status('enforce-replica');
      assert.equal(recovered.lastError, null);
      assert.equal(recovered.failingSince, null);
      const asAnalyst = (sql: string) =>
        queryAs({ host: '127.0.0.1', port: replica.port, database: 'shop', user: 'analyst', password: 'analyst' }, sql);
      assert.equal(await asAnalyst('SELECT id FROM customers'), 'ok');
      assert.equal(await asAnalyst('SELECT name FROM customers'), '42501');
      assert.equal(await asAnalyst('SELECT id FROM orders'), '42501');
      assert.equal(await asAnalyst('SELECT * FROM payments'), 'ok');
    });
  });

  describe('a Kafka sink', () => {
    const name = (path: string) => `postgres://lake/analytics/public/${path}`;
    const feed = (
      qualifiedName: string,
      value: string,
      change: 'added' | 'removed',
      more: Partial<AnnotationChangedPayload> = {},
    ) => changed(qualifiedName, value, change, more, feedTenant);

    before(async () => {
      await stack.subscribers({ tenants: [feedTenant], pollMs: 500, maxBackoffMs: 1_000 });
    });

    it('delivers from the beginning what its filter keeps, reshaped; bad changes go to the dead-letter topic', async () => {
      // The propagation side creates the outbound topic before its first change, as it would for a new tenant.
      await ensureTopic(stack.kafka, feedOutbound);
      await ensureTopic(stack.kafka, sinkTopic);
      const sink = await stack.tail(sinkTopic);
      try {
        const phone = name('customers/phone');
        const email = feed(name('customers/email'), 'PII', 'added');
        const phonePii = feed(phone, 'PII', 'added');
        await publish(
          email,
          feed(name('customers/email'), 'PII', 'removed'),
          feed(name('customers/email'), 'pii', 'added', { attribute: 'tag' }),
          feed(name('customers'), 'PII', 'added'),
          feed(name('customers/email'), 'GDPR', 'added'),
        );
        // Bad messages on the phone column's key, so they sit before its good change in the same partition.
        const wrongKey = feed(name('customers/other'), 'PII', 'added');
        await producer.send({
          topic: feedOutbound,
          acks: -1,
          messages: [
            { key: phone, value: '{"id": "truncated' },
            { key: phone, value: JSON.stringify({ ...phonePii, payload: { ...phonePii.payload, change: 'toggled' } }) },
            { key: phone, value: JSON.stringify(wrongKey) },
          ],
        });
        await publish(phonePii);

        // Subscribed after all of it: a new subscription starts from the beginning of the topic.
        const dir = mkdtempSync(join(tmpdir(), 'metasync-subscription-'));
        try {
          const specFile = join(dir, 'spec.json');
          writeFileSync(specFile, JSON.stringify({ sink: { type: 'kafka', topic: 'metasync.events' } }));
          const refused = await starter(['--tenant', feedTenant, '--id', 'pii-feed', '--file', specFile], {
            reject: false,
          });
          assert.notEqual(refused.exitCode, 0);
          assert.match(refused.stderr, /sink\.topic: a sink topic is metasync\.sink\.<tenant>\.<name>/);
          // Another tenant's sink topic: the subscribers would write where only that tenant reads.
          writeFileSync(
            specFile,
            JSON.stringify({ sink: { type: 'kafka', topic: `metasync.sink.${tenant}.pii-feed` } }),
          );
          const foreign = await starter(['--tenant', feedTenant, '--id', 'pii-feed', '--file', specFile], {
            reject: false,
          });
          assert.notEqual(foreign.exitCode, 0);
          assert.match(
            foreign.stderr,
            new RegExp(`is not tenant ${feedTenant}'s: a sink topic is metasync\\.sink\\.${feedTenant}\\.`),
          );

          writeFileSync(
            specFile,
            JSON.stringify({
              filter: { attributes: ['classification'], values: ['PII'], changes: ['added'], assetTypes: ['column'] },
              reshape: {
                pick: ['id', 'payload.qualifiedName', 'payload.value', 'payload.attribution.depth'],
                rename: { 'payload.qualifiedName': 'asset', 'payload.value': 'classification' },
                add: { producer: 'metasync', 'policy.action': 'mask' },
              },
              sink: { type: 'kafka', topic: sinkTopic },
            }),
          );
          const saved = await starter(['--tenant', feedTenant, '--id', 'pii-feed', '--file', specFile]);
          assert.match(saved.stdout, /subscription .*\/pii-feed saved: kafka sink/);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }

        await waitUntil('both changes delivered', async () => (await status('pii-feed', feedTenant)).delivered === 2);
        const reshaped = (qualifiedName: string, id: string) => ({
          id,
          asset: qualifiedName,
          classification: 'PII',
          payload: { attribution: { depth: 0 } },
          producer: 'metasync',
          policy: { action: 'mask' },
        });
        const received = await eventually(
          () => (sink.messages.length >= 2 ? sink.messages : undefined),
          30_000,
          'two records on the sink topic',
        );
        const byKey = (a: [string, unknown], b: [string, unknown]) => a[0].localeCompare(b[0]);
        assert.deepEqual(
          received.map((m): [string, unknown] => [m.key!.toString(), JSON.parse(m.value!.toString())]).sort(byKey),
          [
            [email.payload.qualifiedName, reshaped(email.payload.qualifiedName, email.id)] as [string, unknown],
            [phone, reshaped(phone, phonePii.id)] as [string, unknown],
          ].sort(byKey),
        );
        assert.equal(header(received[0]!, 'subscription'), 'pii-feed');

        for (const reason of [/^malformed JSON/, /^invalid event.*change/s, /^key mismatch/]) {
          const dead = await deadLetters.waitFor(
            (m) => header(m, 'dlq-subscription') === 'pii-feed' && reason.test(header(m, 'dlq-reason') ?? ''),
          );
          assert.equal(header(dead, 'dlq-source-topic'), feedOutbound);
        }
        const listed = await starter(['--list', '--tenant', feedTenant]);
        assert.match(listed.stdout, new RegExp(`${feedTenant}/pii-feed  kafka  delivered 2  ok`));
        assert.equal(sink.messages.length, 2);
      } finally {
        await sink.stop();
      }
    });
  });
});
