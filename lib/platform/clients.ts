import { S3Client } from '@aws-sdk/client-s3';
import { Connection, Client as TemporalClient } from '@temporalio/client';
import cassandra from 'cassandra-driver';
import { Kafka, logLevel, Partitioners, type logCreator, type Producer } from 'kafkajs';
import pg from 'pg';
import type { Config, KafkaCredentials } from './config.js';
import { idempotentProducer } from '../kafka/producer.js';
import { log } from './log.js';
import { temporalClientInterceptors } from './telemetry.js';

/** One factory per system, so workers, starters and tests connect the same way. */

export function createS3(config: Config['s3']): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true, // MinIO and most self-hosted S3 servers address buckets by path
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
  });
}

/** kafkajs's own console lines, less the warning each bounded idempotent producer gives (lib/kafka/producer.ts says why). */
const kafkaLogs: logCreator =
  () =>
  ({ namespace, level, label, log }) => {
    if (log.message.startsWith('Limiting retries for the idempotent producer')) return;
    const line = JSON.stringify({
      level: label,
      ...log,
      message: `${namespace ? `[${namespace}] ` : ''}${log.message}`,
    });
    if (level === logLevel.ERROR) console.error(line);
    else if (level === logLevel.WARN) console.warn(line);
    else console.info(line);
  };

/**
 * A Kafka client that authenticates as `credentials` (SASL/SCRAM-SHA-512), by default the process's own principal
 * (METASYNC_KAFKA_USERNAME). The broker refuses any connection that does not authenticate.
 */
export function createKafka(
  config: Config['kafka'],
  clientSuffix: string,
  credentials: KafkaCredentials | undefined = config.credentials,
  options: { quiet?: boolean } = {},
): Kafka {
  if (!credentials) {
    throw new Error(
      `no Kafka principal for ${clientSuffix}: set METASYNC_KAFKA_USERNAME (e.g. metasync-${clientSuffix}) and its password`,
    );
  }
  return new Kafka({
    clientId: `${config.clientId}-${clientSuffix}`,
    brokers: [...config.brokers],
    sasl: { mechanism: 'scram-sha-512', username: credentials.username, password: credentials.password },
    // Quiet: for a probe whose failure the caller reports itself (is this credential accepted?).
    logLevel: options.quiet ? logLevel.NOTHING : logLevel.WARN,
    logCreator: kafkaLogs,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

/**
 * An idempotent producer (lib/kafka/producer.ts) that keeps order per partition (one request in flight) and gives up
 * after bounded retries, so a caller (an activity, the bridge) fails and is retried by its own policy instead of
 * hanging. It uses the Java client's partitioner, so a key lands on the same partition whichever client produced it.
 */
export function createProducer(kafka: Kafka): Producer {
  return idempotentProducer(kafka, { createPartitioner: Partitioners.DefaultPartitioner });
}

export function createCassandra(config: Config['cassandra']): cassandra.Client {
  return new cassandra.Client({
    contactPoints: [...config.contactPoints],
    localDataCenter: config.localDataCenter,
    keyspace: config.keyspace,
    queryOptions: { consistency: cassandra.types.consistencies.localQuorum, prepare: true },
  });
}

export function createPostgres(config: Config['postgres']): pg.Pool {
  const pool = new pg.Pool({ connectionString: config.url, max: 10 });
  // An idle connection the server drops (PostgreSQL restarting, a network cut) is an 'error' event on the pool: without
  // a listener it would end the process. The pool replaces the connection; the next query says if PostgreSQL is away.
  pool.on('error', (error) => log.warn('idle PostgreSQL connection lost', { error: error.message }));
  return pool;
}

export async function connectTemporal(config: Config['temporal']): Promise<TemporalClient> {
  const connection = await Connection.connect({ address: config.address });
  // A workflow started or signalled carries the caller's trace context (a no-op in a process that is not traced).
  return new TemporalClient({ connection, namespace: config.namespace, interceptors: temporalClientInterceptors() });
}

interface AllClients {
  kafka: Kafka;
  producer: Producer;
  temporal: TemporalClient;
  postgres: pg.Pool;
  cassandra: cassandra.Client;
  s3: S3Client;
}

/**
 * The clients a process asks for: `kafka` names its Kafka client (`<clientId>-<kafka>`, as the config's principal),
 * and `producer` (which needs it) an idempotent producer of that client; the others are wanted or not.
 */
export interface ClientChoice {
  kafka?: string;
  producer?: true;
  temporal?: true;
  postgres?: true;
  cassandra?: true;
  s3?: true;
}

/** The clients of a choice, connected, and one close() that lets go of them in the reverse order. */
export type OpenedClients<C extends ClientChoice> = { [K in keyof C & keyof AllClients]: AllClients[K] } & {
  close(): Promise<void>;
};

/**
 * Connects the clients asked for, in a fixed order, so every process (and test) opens and closes them the same way.
 * When one cannot connect, the ones already open are closed before the error goes on.
 */
export async function openClients<C extends ClientChoice>(config: Config, choice: C): Promise<OpenedClients<C>> {
  const opened: Partial<AllClients> = {};
  const closers: (() => Promise<void> | void)[] = [];
  const close = async () => {
    for (const closer of closers.splice(0).reverse()) await closer();
  };
  try {
    if (choice.producer && choice.kafka === undefined) throw new Error('a producer needs a Kafka client: name it');
    if (choice.kafka !== undefined) opened.kafka = createKafka(config.kafka, choice.kafka);
    if (choice.producer && opened.kafka) {
      const producer = createProducer(opened.kafka);
      await producer.connect();
      closers.push(() => producer.disconnect());
      opened.producer = producer;
    }
    if (choice.temporal) {
      const temporal = await connectTemporal(config.temporal);
      closers.push(() => temporal.connection.close());
      opened.temporal = temporal;
    }
    if (choice.postgres) {
      const postgres = createPostgres(config.postgres);
      closers.push(() => postgres.end());
      opened.postgres = postgres;
    }
    if (choice.cassandra) {
      const client = createCassandra(config.cassandra);
      closers.push(() => client.shutdown());
      await client.connect();
      opened.cassandra = client;
    }
    if (choice.s3) {
      const s3 = createS3(config.s3);
      closers.push(() => s3.destroy());
      opened.s3 = s3;
    }
  } catch (error) {
    await close().catch(() => undefined); // the error that stopped the opening is the one to report
    throw error;
  }
  return { ...(opened as OpenedClients<C>), close };
}
