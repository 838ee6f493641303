import type cassandra from 'cassandra-driver';
import type { Consumer, Kafka } from 'kafkajs';
import pLimit from 'p-limit';
import { pinGroupToEnd } from '../../test/support/harness.js';
import { say, sleep } from './format.js';

/** What bench:propagate watches while a change walks: its outbound topic, the subscriber's offsets, the lake. */

/**
 * Counts what reaches a topic from now on, with the latest message timestamp (the producer's clock) and the
 * timestamps of the messages keyed by one of `watched`.
 */
export async function countTopic(
  kafka: Kafka,
  topic: string,
  groupId: string,
  watched: ReadonlySet<string>,
): Promise<{ count(): number; latest(): number; published: Map<string, number>; consumer: Consumer }> {
  await pinGroupToEnd(kafka, groupId, topic);
  const consumer = kafka.consumer({ groupId });
  let count = 0;
  let latest = 0;
  const published = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topic });
  await consumer.run({
    eachBatch: ({ batch }) => {
      for (const message of batch.messages) {
        count++;
        latest = Math.max(latest, Number(message.timestamp));
        const key = message.key?.toString();
        if (key && watched.has(key)) published.set(key, Number(message.timestamp));
      }
      return Promise.resolve();
    },
  });
  return { count: () => count, latest: () => latest, published, consumer };
}

/**
 * Samples a consumer group's committed offsets every 200 ms from now on; `caughtUp` says when they first covered the
 * topic's end as it is once every event is in (epoch ms, to within a sample and the consumer's commit).
 */
export function trackCommits(kafka: Kafka, groupId: string, topic: string) {
  const samples: { at: number; committed: number }[] = [];
  let stopped = false;
  const admin = kafka.admin();
  const sampling = (async () => {
    await admin.connect();
    try {
      while (!stopped) {
        const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
        const committed = (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
        samples.push({ at: Date.now(), committed });
        await sleep(200);
      }
    } finally {
      await admin.disconnect();
    }
  })().catch((error: Error) => say('enforcement subscription offsets', error.message));
  return {
    async stop(): Promise<void> {
      stopped = true;
      await sampling;
    },
    async caughtUp(deadline: number): Promise<number | null> {
      const ends = kafka.admin();
      await ends.connect();
      const end = (await ends.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
      await ends.disconnect();
      while (Date.now() < deadline && !samples.some((sample) => sample.committed >= end)) await sleep(200);
      await this.stop();
      return samples.find((sample) => sample.committed >= end)?.at ?? null;
    },
  };
}

/** How many of the assets hold the source's value in Cassandra, and when the last of them was written. */
export async function held(
  cassandra: cassandra.Client,
  tenant: string,
  source: string,
  names: readonly string[],
): Promise<{ count: number; last: number }> {
  const limit = pLimit(32);
  let count = 0;
  let last = 0;
  const chunks: string[][] = [];
  for (let i = 0; i < names.length; i += 100) chunks.push(names.slice(i, i + 100));
  await Promise.all(
    chunks.map((chunk) =>
      limit(async () => {
        const result = await cassandra.execute(
          `SELECT updated_at FROM asset_annotations WHERE tenant = ? AND qualified_name IN ? AND attribute = ?
           AND value = ? AND source = ?`,
          [tenant, chunk, 'classification', 'PII', source],
          { prepare: true, fetchSize: 1_000 },
        );
        for (const row of result.rows) {
          count++;
          last = Math.max(last, (row.get('updated_at') as Date).getTime());
        }
      }),
    ),
  );
  return { count, last };
}
