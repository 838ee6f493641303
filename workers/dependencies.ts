import type { ActivityDependencies } from '../activities/index.js';
import { createCassandra, createKafka, createPostgres, createProducer, createS3 } from '../lib/platform/clients.js';
import type { Config } from '../lib/platform/config.js';

/** Connects what the activities use, and says how to let go of it. */
export async function createActivityDependencies(
  config: Config,
): Promise<ActivityDependencies & { close(): Promise<void> }> {
  const kafka = createKafka(config.kafka, 'worker');
  const producer = createProducer(kafka);
  await producer.connect();
  const postgres = createPostgres(config.postgres);
  const s3 = createS3(config.s3);
  const cassandra = createCassandra(config.cassandra);
  await cassandra.connect();
  return {
    config,
    kafka,
    producer,
    postgres,
    s3,
    cassandra,
    async close() {
      await producer.disconnect();
      await postgres.end();
      await cassandra.shutdown();
      s3.destroy();
    },
  };
}
