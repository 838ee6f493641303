import type { S3Client } from '@aws-sdk/client-s3';
import type { Producer } from 'kafkajs';
import type pg from 'pg';
import type { Config } from '../lib/config.js';
import { topics } from '../lib/topics.js';
import { createKafkaActivities } from './kafka.js';
import { createPostgresActivities } from './postgres.js';
import { createS3Activities } from './s3.js';
import { createSparkActivities } from './spark.js';

export interface ActivityDependencies {
  config: Config;
  s3: S3Client;
  producer: Producer;
  postgres: pg.Pool;
}

/** The activities of the main task queue: thin adapters, one system each. */
export function createActivities(deps: ActivityDependencies) {
  return {
    ...createS3Activities(deps.s3, deps.config.s3.bucket),
    ...createKafkaActivities(deps.producer, topics.events),
    ...createPostgresActivities(deps.postgres),
  };
}

export { createSparkActivities };
export type Activities = ReturnType<typeof createActivities>;
export type SparkActivities = ReturnType<typeof createSparkActivities>;
