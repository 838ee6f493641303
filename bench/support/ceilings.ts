import cassandraDriver from 'cassandra-driver';
import type { Kafka, Message, Producer } from 'kafkajs';
import { ensureTopic } from '../../lib/kafka/ensureTopic.js';
import type { AnnotationChanged } from '../../lib/propagation/contracts.js';
import { pad } from './format.js';

/**
 * The raw ceilings bench:propagate is measured against, in the same run: the rows a walk writes, written straight to
 * Cassandra, and the events it publishes, produced straight to Kafka.
 */

const INSERT_HELD = `INSERT INTO asset_annotations (tenant, qualified_name, attribute, value, source, path, depth,
  change_id, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, toTimestamp(now()))`;

/** `n` rows into asset_annotations, as propagation writes them, with executeConcurrent. */
export async function cassandraCeiling(
  cassandra: cassandraDriver.Client,
  stamp: string,
  n: number,
  concurrencyLevel: number,
): Promise<number> {
  const tenant = `pb-${stamp}-ceiling`;
  const source = `bench://ceiling-${n}/source`;
  const rows = Array.from({ length: n }, (_, i) => {
    const name = `bench://ceiling-${n}/a${pad(i)}`;
    return [tenant, name, 'classification', 'PII', source, [source, name], 1, 'ceiling'];
  });
  const started = performance.now();
  await cassandraDriver.concurrent.executeConcurrent(cassandra, INSERT_HELD, rows, {
    concurrencyLevel,
  });
  return performance.now() - started;
}

/** The throwaway topic of the Kafka ceiling. */
export const kafkaCeilingTopic = (stamp: string): string => `bench.propagate-ceiling.${stamp}`;

/** `n` outbound-sized events to a throwaway topic, 2,000 per send with acks from all replicas, as propagation sends. */
export async function kafkaCeiling(kafka: Kafka, producer: Producer, stamp: string, n: number): Promise<number> {
  const topic = kafkaCeilingTopic(stamp);
  await ensureTopic(kafka, topic);
  const source = `bench://ceiling-${n}/source`;
  const messages: Message[] = Array.from({ length: n }, (_, i) => {
    const name = `bench://ceiling-${n}/a${pad(i)}`;
    const event: AnnotationChanged = {
      id: `ceiling-${i}`.padEnd(40, '0'),
      type: 'asset.annotation-changed',
      version: 1,
      tenant: `pb-${stamp}-ceiling`,
      source: 'metasync-propagation',
      occurredAt: new Date().toISOString(),
      payload: {
        qualifiedName: name,
        assetType: 'column',
        attribute: 'classification',
        value: 'PII',
        change: 'added',
        attribution: { source, path: [source, name], depth: 1 },
        sequence: Date.now() * 1000 + i,
        changeId: 'ceiling',
      },
    };
    return { key: name, value: JSON.stringify(event), headers: { tenant: event.tenant, 'event-id': event.id } };
  });
  const started = performance.now();
  for (let i = 0; i < messages.length; i += 2_000) {
    await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 2_000) });
  }
  return performance.now() - started;
}
