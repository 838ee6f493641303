import { createHash } from 'node:crypto';
import type { Kafka, Producer } from 'kafkajs';
import { AnnotationChanged, type AnnotationChangedPayload } from '../propagation/contracts.js';
import type { TenantId } from '../platform/ids.js';
import { decodeEvent, type Decoded } from './decodeEvent.js';
import { CREATED_TOPIC_PARTITIONS, ensureTopic } from './ensureTopic.js';
import { outboundTopic } from './topics.js';
import { eventTypeLabel, metrics, tenantLabel } from '../platform/metrics.js';

/**
 * A microsecond clock that never repeats or goes back within a process: the `sequence` of outbound changes. Changes
 * of one asset come from the workflow of each source that gives it a value; on one clock they stay ordered.
 */
export function logicalClock(): () => number {
  let last = 0;
  return () => (last = Math.max(Date.now() * 1000, last + 1));
}

/** The same change of the same asset gets the same event id, so a consumer can drop a republished copy. */
export const outboundEventId = (change: Omit<AnnotationChangedPayload, 'sequence' | 'attribution'>): string =>
  createHash('sha256')
    .update(JSON.stringify([change.changeId, change.qualifiedName, change.attribute, change.value, change.change]))
    .digest('hex')
    .slice(0, 40);

/**
 * Publishes effective annotation changes to each tenant's outbound topic, creating the topic the first time (a
 * tenant onboarded before topics were made at onboarding has none yet). Only the worker's principal may write it.
 */
export function outboundPublisher(
  kafka: Kafka,
  producer: Producer,
  options: { partitions?: number; source?: string } = {},
) {
  const { partitions = CREATED_TOPIC_PARTITIONS, source = 'metasync-propagation' } = options;
  const ready = new Map<string, Promise<void>>();
  const sequence = logicalClock();
  const topicReady = (topic: string) => {
    let promise = ready.get(topic);
    if (!promise) {
      promise = ensureTopic(kafka, topic, partitions);
      ready.set(topic, promise);
      promise.catch(() => ready.delete(topic));
    }
    return promise;
  };

  return {
    /** Sends the changes and returns once Kafka has them all (acks from every in-sync replica). */
    async publish(tenant: string, changes: readonly Omit<AnnotationChangedPayload, 'sequence'>[]): Promise<void> {
      if (changes.length === 0) return;
      const topic = outboundTopic(tenant);
      await topicReady(topic);
      const occurredAt = new Date().toISOString();
      await producer.send({
        topic,
        acks: -1,
        messages: changes.map((change) => {
          const event: AnnotationChanged = {
            id: outboundEventId(change),
            type: 'asset.annotation-changed',
            version: 1,
            tenant,
            source,
            occurredAt,
            payload: { ...change, sequence: sequence() },
          };
          return {
            key: change.qualifiedName,
            value: JSON.stringify(event),
            headers: { tenant, 'event-id': event.id, 'event-type': event.type, version: '1' },
          };
        }),
      });
      const labels = { tenant: tenantLabel(tenant), type: eventTypeLabel('asset.annotation-changed') };
      metrics.outboundEvents.inc(labels, changes.length);
    },
  };
}
export type OutboundPublisher = ReturnType<typeof outboundPublisher>;

/** A change read back from a tenant's outbound topic, which is keyed by qualified name: a change that says otherwise is not trusted. */
export const decodeAnnotationChanged = (
  tenant: TenantId,
  message: { key: Buffer | null; value: Buffer | null },
  maxBytes: number,
): Decoded<AnnotationChanged> =>
  decodeEvent(
    AnnotationChanged,
    (event, key) =>
      key === event.payload.qualifiedName
        ? undefined
        : `key mismatch: message key is ${JSON.stringify(key)} but the event is about ${JSON.stringify(event.payload.qualifiedName)}`,
    message,
    maxBytes,
    tenant,
  );
