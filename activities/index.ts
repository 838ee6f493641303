import type { S3Client } from '@aws-sdk/client-s3';
import type cassandra from 'cassandra-driver';
import type { Kafka, Producer } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../lib/platform/config.js';
import { configuredDestinations } from '../lib/platform/destinations.js';
import { outboundPublisher } from '../lib/kafka/outbound.js';
import { objectStore } from '../lib/platform/objectStore.js';
import { annotationStore } from '../lib/stores/annotations.js';
import { incidentStore } from '../lib/stores/incidents.js';
import { lakeWriter } from '../lib/stores/lake.js';
import { lineageStore } from '../lib/stores/lineage.js';
import { topics } from '../lib/kafka/topics.js';
import { createColumnReuseActivities } from './columnReuse.js';
import { createContainerActivities } from './containers.js';
import { createExtractActivities } from './extract.js';
import { createIncidentActivities } from './incidents.js';
import { createKafkaActivities } from './kafka.js';
import { createPostgresActivities } from './postgres.js';
import { createPropagationActivities } from './propagation.js';
import { createS3Activities } from './s3.js';
import { createSparkActivities } from './spark.js';

export interface ActivityDependencies {
  config: Config;
  s3: S3Client;
  kafka: Kafka;
  producer: Producer;
  postgres: pg.Pool;
  cassandra: cassandra.Client;
}

/** The activities of the main task queue: thin adapters, one system each. */
export function createActivities(deps: ActivityDependencies) {
  const { config } = deps;
  const store = objectStore(deps.s3, config.s3.bucket);
  const lake = lakeWriter(deps.cassandra);
  return {
    ...createS3Activities(deps.s3, config.s3.bucket),
    ...createKafkaActivities(deps.producer, topics.events),
    ...createPostgresActivities({ postgres: deps.postgres, secretsKey: config.secretsKey, store }),
    ...createExtractActivities({
      postgres: deps.postgres,
      secretsKey: config.secretsKey,
      store,
      lake,
      sources: { s3: deps.s3, bucket: config.s3.bucket, destinations: configuredDestinations(config) },
    }),
    ...createPropagationActivities({
      postgres: deps.postgres,
      cassandra: deps.cassandra,
      annotations: annotationStore(deps.cassandra),
      lineage: lineageStore(deps.cassandra),
      outbound: outboundPublisher(deps.kafka, deps.producer, { partitions: config.kafka.tenantPartitions }),
    }),
    ...createContainerActivities({ store, lake, lineage: lineageStore(deps.cassandra) }),
    ...createColumnReuseActivities({ store }),
    ...createIncidentActivities({
      postgres: deps.postgres,
      incidents: incidentStore(deps.cassandra),
      s3: deps.s3,
      bucket: config.s3.bucket,
      producer: deps.producer,
    }),
  };
}

export { createSparkActivities };
export type Activities = ReturnType<typeof createActivities>;
export type SparkActivities = ReturnType<typeof createSparkActivities>;
