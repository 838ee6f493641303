import { type IncidentEvent, type IncidentRecord, type IncidentTableRef } from './contracts.js';
import { MONTE_CARLO_RESOLVING_FEEDBACK } from './monteCarlo/feedback.js';

/** Event ids an incident remembers, so a redelivery after its workflow ended is still recognised. */
export const REMEMBERED_EVENT_IDS = 200;

/**
 * The incident after one more event: pure, so the workflow applies it deterministically. Fields the event does not
 * carry stay as they were; tables accumulate. Qualified names are left to the activity that resolves them.
 */
export function applyIncidentEvent(before: IncidentRecord | null, event: IncidentEvent): IncidentRecord {
  const { payload } = event;
  const tables = new Map<string, IncidentTableRef>((before?.tables ?? []).map((table) => [table.fullTableId, table]));
  for (const table of payload.tables) tables.set(table.fullTableId, table);
  const feedback = payload.feedback !== undefined ? payload.feedback : (before?.feedback ?? null);
  const resolved = feedback !== null && MONTE_CARLO_RESOLVING_FEEDBACK.includes(feedback);
  return {
    incidentId: payload.incidentId,
    incidentType: payload.incidentType ?? before?.incidentType ?? null,
    status: resolved ? 'resolved' : 'open',
    severity: payload.severity !== undefined ? payload.severity : (before?.severity ?? null),
    owner: payload.owner !== undefined ? payload.owner : (before?.owner ?? null),
    feedback,
    url: payload.url ?? before?.url ?? null,
    monteCarloAccountId: payload.monteCarloAccountId,
    tables: [...tables.values()],
    qualifiedNames: before?.qualifiedNames ?? [],
    unmappedTables: before?.unmappedTables ?? [],
    eventsApplied: (before?.eventsApplied ?? 0) + 1,
    recentEventIds: [...(before?.recentEventIds ?? []), event.id].slice(-REMEMBERED_EVENT_IDS),
    openedAt: before?.openedAt ?? event.occurredAt,
    updatedAt: event.occurredAt,
    resolvedAt: resolved ? (before?.resolvedAt ?? event.occurredAt) : null,
  };
}

/** An incident after a run of its events, in order: those already applied before (redeliveries) are passed over. */
export function applyIncidentEvents(
  before: IncidentRecord | null,
  events: readonly IncidentEvent[],
): { record: IncidentRecord | null; applied: IncidentEvent[]; redelivered: IncidentEvent[] } {
  let record = before;
  const applied: IncidentEvent[] = [];
  const redelivered: IncidentEvent[] = [];
  for (const event of events) {
    if (record?.recentEventIds.includes(event.id)) {
      redelivered.push(event);
      continue;
    }
    record = applyIncidentEvent(record, event);
    applied.push(event);
  }
  return { record, applied, redelivered };
}

/** A partition's events grouped by incident, each group in the order given (Kafka's, within the partition). */
export function groupByIncident<T extends { event: IncidentEvent }>(deliveries: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const delivery of deliveries) {
    const id = delivery.event.payload.incidentId;
    const group = groups.get(id);
    if (group) group.push(delivery);
    else groups.set(id, [delivery]);
  }
  return groups;
}
