import type { Kafka, Producer, ProducerBatch, ProducerConfig, ProducerRecord, RecordMetadata } from 'kafkajs';
import pLimit from 'p-limit';

/**
 * An idempotent Kafka producer whose failures stay bounded and never cost a message.
 *
 * Idempotence lets the broker drop a batch the client sends again after losing the acknowledgement (a lost response,
 * a leader change): each batch carries the producer id and a sequence number per partition. kafkajs implements it,
 * with two hazards this wrapper removes:
 *
 * - Retries must stay bounded (an activity, the bridge, an HTTP request fail and are retried by their own policy
 *   rather than hang), but when kafkajs gives up it rolls the partition's sequence back, so the next send reuses the
 *   numbers of a batch the broker may already have written; with as many messages, the broker takes it for that
 *   batch again and acknowledges it without writing it. After any failed send the session is therefore dropped and
 *   the next send starts a new one (a new producer id, sequences from 0).
 * - Between two retries of a failing send, another concurrent send could take the rolled-back numbers in the same
 *   way, so sends are handed over one at a time. They already were on the wire (one request in flight per broker).
 *
 * What remains are duplicates from a caller sending a message again after a failure; every consumer of MetaSync's
 * topics drops those by event id (docs/security.md).
 */
export function idempotentProducer(kafka: Kafka, options: Omit<ProducerConfig, 'idempotent'> = {}): Producer {
  const make = () => kafka.producer({ ...options, idempotent: true, maxInFlightRequests: 1 });
  let current = make();
  let connected = false;
  let stale = false;
  const oneAtATime = pLimit(1);

  /** Drops a session that failed: the old producer is closed in the background, a new one takes its place. */
  async function renew(): Promise<void> {
    const old = current;
    current = make();
    void old.disconnect().catch(() => undefined);
    if (connected) await current.connect();
    stale = false;
  }

  function guarded<T>(call: (producer: Producer) => Promise<T>): Promise<T> {
    return oneAtATime(async () => {
      if (stale) await renew();
      try {
        return await call(current);
      } catch (error) {
        stale = true;
        throw error;
      }
    });
  }

  const producer: Producer = {
    async connect() {
      connected = true;
      await oneAtATime(() => current.connect());
    },
    async disconnect() {
      connected = false;
      await oneAtATime(() => current.disconnect());
    },
    send: (record: ProducerRecord): Promise<RecordMetadata[]> => guarded((p) => p.send(record)),
    sendBatch: (batch: ProducerBatch): Promise<RecordMetadata[]> => guarded((p) => p.sendBatch(batch)),
    isIdempotent: () => true,
    get events() {
      return current.events;
    },
    on: () => {
      throw new Error('idempotentProducer: listeners would not survive a renewed session; listen on the Kafka client');
    },
    transaction: () => Promise.reject(new Error('idempotentProducer: not transactional')),
    logger: () => current.logger(),
  };
  return producer;
}
