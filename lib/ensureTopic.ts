import type { Kafka } from 'kafkajs';

/** Partitions of a topic MetaSync creates on first use (the broker does not auto-create: stack/kafka/server.properties). */
export const CREATED_TOPIC_PARTITIONS = 6;

/**
 * Creates `topic` unless it exists, for topics that appear on first use (a tenant's outbound topic, a sink's topic).
 * Harmless to repeat and to race: whoever loses the race finds the topic there.
 */
export async function ensureTopic(
  kafka: Kafka,
  topic: string,
  numPartitions = CREATED_TOPIC_PARTITIONS,
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    // Asked first: creating an existing topic works, but kafkajs logs it as an error.
    if ((await admin.listTopics()).includes(topic)) return;
    await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  } catch (error) {
    if (!alreadyExists(error)) throw error;
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
