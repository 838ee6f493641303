import { S3Client } from '@aws-sdk/client-s3';
import { Connection, Client as TemporalClient } from '@temporalio/client';
import cassandra from 'cassandra-driver';
import { Kafka, logLevel, Partitioners, type Producer } from 'kafkajs';
import pg from 'pg';
import type { Config } from './config.js';
import { log } from './log.js';

/** One factory per system, so workers, starters and tests connect the same way. */

export function createS3(config: Config['s3']): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true, // MinIO and most self-hosted S3 servers address buckets by path
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
  });
}

export function createKafka(config: Config['kafka'], clientSuffix: string): Kafka {
  return new Kafka({
    clientId: `${config.clientId}-${clientSuffix}`,
    brokers: [...config.brokers],
    logLevel: logLevel.WARN,
    retry: { retries: 8, initialRetryTime: 200 },
  });
}

/**
 * A producer that keeps order per partition (one request in flight) and gives up after bounded retries, so a
 * caller (an activity, the bridge) fails and is retried by its own policy instead of hanging. A retry can repeat
 * a message; every MetaSync event carries an id that consumers deduplicate on. It uses the Java client's
 * partitioner, so a key lands on the same partition whichever client produced it.
 */
export function createProducer(kafka: Kafka): Producer {
  return kafka.producer({
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
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
  return new TemporalClient({ connection, namespace: config.namespace });
}
