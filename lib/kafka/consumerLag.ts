import type { Admin } from 'kafkajs';
import { log } from '../platform/log.js';
import { lagLabels, metrics } from '../platform/metrics.js';

/** A consumer group and the topics it reads, as the process that runs it knows them. */
export interface ConsumedTopics {
  groupId: string;
  topics: readonly string[];
}

export interface PartitionLag {
  partition: number;
  lag: number;
}

/**
 * Messages a group is behind on each partition: the end offset minus the committed one. A partition the group has
 * committed nothing on yet (-1) is read from its beginning, so all it holds is behind.
 */
export function partitionLags(
  ends: readonly { partition: number; high: string; low: string }[],
  committed: readonly { partition: number; offset: string }[],
): PartitionLag[] {
  const committedOf = new Map(committed.map(({ partition, offset }) => [partition, Number(offset)]));
  return ends.map(({ partition, high, low }) => {
    const at = committedOf.get(partition) ?? -1;
    const from = at >= 0 ? at : Number(low);
    return { partition, lag: Math.max(0, Number(high) - from) };
  });
}

/**
 * Exports metasync_kafka_consumer_lag for the groups a process runs: every `intervalMs` (and once at once) it asks
 * Kafka for their committed offsets and their topics' end offsets. Two requests per group and one per topic, so it
 * stays cheap at 15 s. A group or topic the process no longer reads loses its series. The principal only needs to
 * describe its own groups and topics, which reading them already allows.
 */
export function startLagReporter(admin: Admin, groups: () => readonly ConsumedTopics[], intervalMs: number) {
  let shown = new Map<string, ReturnType<typeof lagLabels>>();
  let timer: NodeJS.Timeout | undefined;
  let reporting: Promise<void> = Promise.resolve();
  let stopped = false;

  async function report(): Promise<void> {
    const now = new Map<string, ReturnType<typeof lagLabels>>();
    const ends = new Map<string, Awaited<ReturnType<Admin['fetchTopicOffsets']>>>();
    for (const { groupId, topics } of groups()) {
      if (topics.length === 0) continue;
      const committed = await admin.fetchOffsets({ groupId, topics: [...topics] });
      for (const { topic, partitions } of committed) {
        if (!ends.has(topic)) ends.set(topic, await admin.fetchTopicOffsets(topic));
        for (const { partition, lag } of partitionLags(ends.get(topic)!, partitions)) {
          const labels = lagLabels(groupId, topic, partition);
          metrics.consumerLag.set(labels, lag);
          now.set(`${groupId}\u0000${topic}\u0000${partition}`, labels);
        }
      }
    }
    for (const [key, labels] of shown) if (!now.has(key)) metrics.consumerLag.remove(labels);
    shown = now;
  }

  function schedule(delayMs: number): void {
    timer = setTimeout(() => {
      reporting = report()
        .catch((error: Error) => log.warn('could not read consumer lag; trying again', { error: error.message }))
        .finally(() => {
          if (!stopped) schedule(intervalMs);
        });
    }, delayMs);
  }
  schedule(0);

  return {
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(timer);
      await reporting;
      for (const labels of shown.values()) metrics.consumerLag.remove(labels);
      shown.clear();
    },
  };
}
