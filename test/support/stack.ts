import type { S3Client } from '@aws-sdk/client-s3';
import { Client as TemporalClient, Connection } from '@temporalio/client';
import type cassandra from 'cassandra-driver';
import { Kafka, type Producer } from 'kafkajs';
import pg from 'pg';
import type { Service } from '../../lib/kafka/access.js';
import { createCassandra, createKafka, createPostgres, createProducer, createS3 } from '../../lib/platform/clients.js';
import type { Config, KafkaCredentials } from '../../lib/platform/config.js';
import { createSubscribers, type SubscriberOptions } from '../../workers/subscriptions.js';
import type { Bridge, BridgeDependencies, BridgeOptions } from '../../workers/topicBridge.js';
import { runWorkers, tailTopic, testConfig, type Tail } from './harness.js';
import { asService, dropTenantTopics, kafkaAs, tenantOnKafka, tenantTopics } from './kafka.js';
import { asSourceRole, sourceAdmin } from './postgresCluster.js';

/**
 * The local stack as an integration test uses it: one client per system, and the MetaSync components a suite runs
 * in-process (workers, bridges, subscribers, each as its own Kafka principal), all let go of by one `close()`.
 *
 * A client is made when a suite first reads it, so a suite connects only what it uses, at module level as well as in
 * `before`. `close()` first stops what the suite started and runs what it deferred, newest first, and then closes
 * the clients, which all of that may still use. Whatever a suite stops early (a bridge it kills) stops once.
 */
export interface Stack {
  readonly config: Config;
  /** The control plane, as MetaSync's runtime role. */
  readonly postgres: pg.Pool;
  readonly cassandra: cassandra.Client;
  readonly s3: S3Client;
  readonly temporal: TemporalClient;
  /** Kafka as the test itself (testConfig: Kafka's admin), to produce as a stand-in and to look at topics. */
  readonly kafka: Kafka;
  /** The stack's role for source databases, on its server's `postgres` database (test/support/postgresCluster.ts). */
  readonly sources: pg.Pool;

  /** A connected producer: the test's own by default, or a service's, a tenant's credential's, or a given client's. */
  producer(who?: Service | KafkaCredentials | Kafka): Promise<Producer>;
  /** What is published on `topic` from now on (tailTopic). */
  tail(topic: string): Promise<Tail>;
  /** This checkout's workers, in-process, as the worker's principal (runWorkers); `config` for another task queue. */
  workers(config?: Config): Promise<Stoppable>;
  /**
   * A bridge (createCommandBridge, createIncidentBridge, createLineageBridge) as the bridge's principal, with its own
   * producer for dead letters, started; by default it serves only `tenants`, whose topics a test makes new and empty.
   */
  bridge(create: BridgeFactory, groupId: string, options?: BridgeOptions & { config?: Config }): Promise<Bridge>;
  /** The subscribers (workers/subscriptions.ts) as their own principal, with their own producer, started. */
  subscribers(options: SubscriberOptions): Promise<Subscribers>;
  /** Tenants' topics and ACLs, as onboarding makes them; taken away at close. */
  tenantTopics(...tenants: string[]): Promise<void>;
  /** A tenant's topics, ACLs and a fresh credential of its principal (about 3 s); taken away at close. */
  tenantOnKafka(tenant: string): Promise<KafkaCredentials>;
  /** Takes away at close the topics and ACLs that something else made for these tenants (onboarding, the worker). */
  dropTopicsAtClose(...tenants: string[]): void;
  /** A database of the source role (C collation, so names sort bytewise), with `sql` run in it; dropped at close. */
  sourceDatabase(name: string, sql?: string): Promise<string>;
  /** Runs `release` at close, before what was started or deferred earlier, and before the clients close. */
  defer(release: () => unknown): void;
  /** Lets go of everything; every release runs even if one fails, and the first failure is thrown. */
  close(): Promise<void>;
}

export interface Stoppable {
  stop(): Promise<void>;
}

export type Subscribers = ReturnType<typeof createSubscribers>;

type BridgeFactory = (
  deps: BridgeDependencies & { cassandra: cassandra.Client },
  groupId: string,
  options: BridgeOptions,
) => Bridge;

/** Runs `release` the first time it is called; later calls get the same outcome. */
function once(release: () => unknown): () => Promise<void> {
  let released: Promise<void> | undefined;
  return () => (released ??= Promise.resolve().then(async () => void (await release())));
}

export function openStack(config: Config = testConfig()): Stack {
  let releases: (() => Promise<void>)[] = [];
  let clients: (() => Promise<void>)[] = [];
  const defer = (release: () => unknown) => void releases.push(once(release));
  /** `resource` (a plain object of functions), whose stop also runs at close if the suite did not stop it itself. */
  const owned = <T extends Stoppable>(resource: T): T => {
    const stop = once(() => resource.stop());
    defer(stop);
    return { ...resource, stop };
  };
  /** A client made on first use and let go of at close. */
  const lazy = <T>(open: () => T, release: (client: T) => unknown) => {
    let client: T | undefined;
    return (): T => {
      if (client === undefined) {
        const made = open();
        clients.push(once(() => release(made)));
        client = made;
      }
      return client;
    };
  };

  const postgres = lazy(
    () => createPostgres(config.postgres),
    (pool) => pool.end(),
  );
  const cassandra = lazy(
    () => createCassandra(config.cassandra),
    (client) => client.shutdown(),
  );
  const s3 = lazy(
    () => createS3(config.s3),
    (client) => client.destroy(),
  );
  // As connectTemporal, but connecting on the first call, so that a module can hold it before any test runs.
  const temporal = lazy(
    () => {
      const connection = Connection.lazy({ address: config.temporal.address });
      return new TemporalClient({ connection, namespace: config.temporal.namespace });
    },
    (client) => client.connection.close(),
  );
  const kafka = lazy(
    () => createKafka(config.kafka, 'test'),
    () => undefined,
  );
  const sources = lazy(
    () => sourceAdmin(config),
    (pool) => pool.end(),
  );

  const stack: Stack = {
    config,
    get postgres() {
      return postgres();
    },
    get cassandra() {
      return cassandra();
    },
    get s3() {
      return s3();
    },
    get temporal() {
      return temporal();
    },
    get kafka() {
      return kafka();
    },
    get sources() {
      return sources();
    },

    async producer(who = kafka()) {
      const producer = createProducer(who instanceof Kafka ? who : kafkaAs(config, who));
      await producer.connect();
      defer(() => producer.disconnect());
      return producer;
    },
    async tail(topic) {
      return owned(await tailTopic(kafka(), topic));
    },
    async workers(workerConfig = config) {
      return owned(await runWorkers(workerConfig));
    },
    async bridge(create, groupId, { config: bridgeConfig = config, ...options } = {}) {
      const bridgeKafka = kafkaAs(bridgeConfig, 'bridge');
      const producer = createProducer(bridgeKafka);
      await producer.connect();
      const { postgres, cassandra, s3, temporal } = stack;
      const bridge = create(
        { config: bridgeConfig, kafka: bridgeKafka, producer, postgres, cassandra, s3, temporal },
        groupId,
        options,
      );
      await bridge.start();
      return owned({ ...bridge, stop: () => bridge.stop().finally(() => producer.disconnect()) });
    },
    async subscribers(options) {
      const subscribersKafka = kafkaAs(config, 'subscribers');
      const producer = createProducer(subscribersKafka);
      await producer.connect();
      const { postgres, s3 } = stack;
      const deps = { config: asService(config, 'subscribers'), kafka: subscribersKafka, producer, postgres, s3 };
      const subscribers = createSubscribers(deps, options);
      await subscribers.start();
      return owned({ ...subscribers, stop: () => subscribers.stop().finally(() => producer.disconnect()) });
    },
    async tenantTopics(...tenants) {
      stack.dropTopicsAtClose(...tenants);
      await tenantTopics(config, ...tenants);
    },
    async tenantOnKafka(tenant) {
      stack.dropTopicsAtClose(tenant);
      return tenantOnKafka(config, tenant);
    },
    dropTopicsAtClose(...tenants) {
      defer(() => dropTenantTopics(config, ...tenants));
    },
    async sourceDatabase(name, sql = '') {
      const database = pg.escapeIdentifier(name);
      await sources().query(
        `CREATE DATABASE ${database} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'`,
      );
      defer(() => sources().query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
      if (sql) await asSourceRole(config, name, sql);
      return name;
    },
    defer,
    async close() {
      const pending = [...releases.reverse(), ...clients.reverse()];
      [releases, clients] = [[], []];
      const failures: unknown[] = [];
      for (const release of pending) await release().catch((error: unknown) => void failures.push(error));
      if (failures.length > 0) throw failures[0];
    },
  };
  return stack;
}
