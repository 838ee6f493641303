import type { Admin, Kafka } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';

/** Partitions of a topic MetaSync creates on first use (the broker does not auto-create: stack/kafka/server.properties). */
export const CREATED_TOPIC_PARTITIONS = 6;

/**
 * Creates the `topics` that do not exist yet. Harmless to repeat and to race: whoever loses the race finds the topic
 * there. The principal needs CREATE on them (lib/kafka/access.ts).
 */
export async function ensureTopics(admin: Admin, topics: readonly string[], numPartitions: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Asked first: creating an existing topic works, but kafkajs logs it as an error.
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((topic) => !existing.has(topic));
      if (missing.length > 0) {
        await admin.createTopics({ topics: missing.map((topic) => ({ topic, numPartitions })), waitForLeaders: true });
      }
      return;
    } catch (error) {
      if (alreadyExists(error)) return;
      // A broker that has just started (or just created the topic) may not know it yet: look again shortly.
      if (!notYetKnown(error) || attempt >= 20) throw error;
      await sleep(250);
    }
  }
}

/** Creates `topic` unless it exists, for topics that appear on first use (a tenant's outbound topic, a sink's topic). */
export async function ensureTopic(
  kafka: Kafka,
  topic: string,
  numPartitions = CREATED_TOPIC_PARTITIONS,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    await ensureTopics(admin, [topic], numPartitions);
  } finally {
    await admin.disconnect();
  }
}

/** createTopics answers false for an existing topic, but one created meanwhile comes back as an error. */
function alreadyExists(error: unknown): boolean {
  const { type, errors } = error as { type?: unknown; errors?: unknown };
  if (type === 'TOPIC_ALREADY_EXISTS') return true;
  return Array.isArray(errors) && errors.length > 0 && errors.every(alreadyExists);
}

const notYetKnown = (error: unknown): boolean => {
  const { type } = error as { type?: unknown };
  return type === 'UNKNOWN_TOPIC_OR_PARTITION' || type === 'LEADER_NOT_AVAILABLE';
};
