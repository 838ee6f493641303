/** Kafka topic names. Their partition counts live in stack/kafka/topics.txt, which creates them. */
export const topics = {
  commands: 'metasync.commands',
  events: 'metasync.events',
  incidentsInbound: 'metasync.incidents.inbound',
  deadLetters: 'metasync.dlq',
} as const;

/** Events of one incident share a key, hence a partition, hence their order. */
export const incidentKey = (tenant: string, incidentId: string): string => `${tenant}/${incidentId}`;
