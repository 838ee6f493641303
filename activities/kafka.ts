import type { Producer } from 'kafkajs';
import type { EventEnvelope } from '../lib/kafka/envelope.js';

export function createKafkaActivities(producer: Producer, topic: string) {
  return {
    /** Publishes one event, keyed by tenant so a tenant's events stay in order; waits for all in-sync replicas. */
    async publishEvent(event: EventEnvelope): Promise<void> {
      await producer.send({
        topic,
        acks: -1,
        messages: [
          {
            key: event.tenant,
            value: JSON.stringify(event),
            headers: { tenant: event.tenant, type: event.type, version: String(event.version), 'event-id': event.id },
          },
        ],
      });
    },
  };
}
