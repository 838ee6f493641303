import type { Message } from 'kafkajs';
import type { IncidentEvent } from '../incidents/contracts.js';
import type { OpenLineageReceived } from '../lineage/contracts.js';

/**
 * Kafka topic names. Shared topics are created by the stack (stack/kafka/topics.txt); each tenant's at onboarding
 * (lib/kafka/provisioning.ts). Kafka does not stamp a record with the principal that produced it, so the tenant of an
 * inbound record is the one in its topic's name: only that tenant's principal and MetaSync's services may write
 * there (lib/kafka/access.ts), and the bridges refuse a record whose key or body names another tenant.
 */
export const topics = {
  events: 'metasync.events',
  deadLetters: 'metasync.dlq',
} as const;

/** What arrives on a tenant's inbound topics, one topic each. */
export const INBOUND_KINDS = ['commands', 'incidents', 'lineage'] as const;
export type InboundKind = (typeof INBOUND_KINDS)[number];

/** Tenant ids have no dots (TenantId), so the dot after the tenant ends it: acme's prefix is not acme-eu's. */
const INBOUND_PREFIX = 'metasync.inbound.';
export const inboundTopicPrefix = (tenant: string): string => `${INBOUND_PREFIX}${tenant}.`;

/** A tenant's inbound topic of one kind, e.g. metasync.inbound.acme.incidents. */
export const inboundTopic = (tenant: string, kind: InboundKind): string => `${inboundTopicPrefix(tenant)}${kind}`;

const TENANT = '[a-z][a-z0-9-]{1,62}';
const INBOUND_TOPIC = new RegExp(`^metasync\\.inbound\\.(${TENANT})\\.(${INBOUND_KINDS.join('|')})$`);

/** The tenant and kind an inbound topic is for, or undefined when the name is not an inbound topic's. */
export function parseInboundTopic(topic: string): { tenant: string; kind: InboundKind } | undefined {
  const match = INBOUND_TOPIC.exec(topic);
  return match ? { tenant: match[1]!, kind: match[2] as InboundKind } : undefined;
}

/** Each tenant's outbound topic: every effective annotation change of its assets, keyed by qualified name. */
export const outboundTopic = (tenant: string): string => `metasync.outbound.${tenant}`;

/** A tenant's Kafka subscription sinks write under this prefix, which only that tenant may read. */
export const sinkTopicPrefix = (tenant: string): string => `metasync.sink.${tenant}.`;

/** Every topic a tenant has from onboarding: its inbound topics and its outbound topic. */
export const tenantTopics = (tenant: string): string[] => [
  ...INBOUND_KINDS.map((kind) => inboundTopic(tenant, kind)),
  outboundTopic(tenant),
];

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
