import type { Message } from 'kafkajs';
import type { IncidentEvent, OpenLineageReceived } from './contracts.js';

/** Kafka topic names. Their partition counts live in stack/kafka/topics.txt, which creates them. */
export const topics = {
  commands: 'metasync.commands',
  events: 'metasync.events',
  incidentsInbound: 'metasync.incidents.inbound',
  lineageInbound: 'metasync.lineage.inbound',
  deadLetters: 'metasync.dlq',
} as const;

/** Events of one incident share a key, hence a partition, hence their order. */
export const incidentKey = (tenant: string, incidentId: string): string => `${tenant}/${incidentId}`;

/** An incident event as it travels on the inbound topic: the key the bridge checks it against, and its headers. */
export const incidentMessage = (event: IncidentEvent): Message => ({
  key: incidentKey(event.tenant, event.payload.incidentId),
  value: JSON.stringify(event),
  headers: { tenant: event.tenant, 'event-id': event.id, 'event-type': event.type, version: String(event.version) },
});

/** The events of one OpenLineage job share a key, so the bridge applies them in the order they were produced. */
export const lineageKey = (tenant: string, job: { namespace: string; name: string }): string =>
  `${tenant}/${job.namespace}/${job.name}`;

export const openLineageMessage = (event: OpenLineageReceived): Message => ({
  key: lineageKey(event.tenant, event.payload.job),
  value: JSON.stringify(event),
  headers: { tenant: event.tenant, 'event-id': event.id, 'event-type': event.type, version: String(event.version) },
});

/** Each tenant's outbound topic: every effective annotation change of its assets, keyed by qualified name. */
export const outboundTopic = (tenant: string): string => `metasync.outbound.${tenant}`;
