import { createHash } from 'node:crypto';
import { IncidentEvent, MAX_INCIDENT_TABLES, type IncidentEventType, type IncidentTableRef } from '../contracts.js';
import { MONTE_CARLO_RESOLVING_FEEDBACK } from './feedback.js';
import {
  isMonteCarloAlertUpdate,
  type MonteCarloEventListEntry,
  type MonteCarloRule,
  type MonteCarloWebhook,
} from './contracts.js';
import { type TenantId } from '../../platform/ids.js';
import { byCodePoint } from '../../mapping/values.js';
import {
  formatFullTableId,
  parseFullTableId,
  parseGroupTable,
  parseMcon,
  tableRefFromMcon,
  type MonteCarloTableRef,
} from './identity.js';

export const MONTE_CARLO_EVENT_SOURCE = 'monte-carlo/webhook';

/** JSON with object keys sorted, so the same webhook hashes alike whatever order its keys arrived in. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    entries.sort(([a], [b]) => byCodePoint(a, b));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * An update field from `payload` or the top level (README.md: Monte Carlo documents no sample of an update):
 * a value wins over null, and null (unset) over absence (not carried, so unchanged).
 */
function updateField<T>(inPayload: T | null | undefined, atTop: T | null | undefined): { value?: T | null } {
  if (inPayload !== undefined && inPayload !== null) return { value: inPayload };
  if (atTop !== undefined && atTop !== null) return { value: atTop };
  return inPayload === null || atTop === null ? { value: null } : {};
}

function tableRefs(webhook: MonteCarloWebhook): IncidentTableRef[] {
  const found: IncidentTableRef[] = [];
  const add = (fullTableId: string, mcon: string | null, ref: MonteCarloTableRef | null) => {
    if (ref) found.push({ fullTableId, mcon, ...ref });
  };
  const addRule = (rule: MonteCarloRule | null | undefined) => {
    for (const comparison of rule?.comparisons ?? []) {
      const id = comparison.full_table_id;
      if (id) add(id, null, parseFullTableId(id));
    }
  };
  const { group_id: groupId } = webhook.payload;
  const events: MonteCarloEventListEntry[] = webhook.payload.event_list ?? [];
  for (const event of events) {
    const fromGroup = groupId && event.table_name ? parseGroupTable(groupId, event.table_name) : null;
    if (fromGroup) add(formatFullTableId(fromGroup), null, fromGroup);
    const mcon = event.mcon ? parseMcon(event.mcon) : null;
    if (event.mcon && mcon) add(mcon.objectId, event.mcon, tableRefFromMcon(event.mcon));
    addRule(event.rule);
  }
  addRule(webhook.payload.rule);

  // One ref per table (by its names, however quoted), keeping an MCON when any spelling came with one.
  found.sort((a, b) => byCodePoint(a.fullTableId, b.fullTableId) || byCodePoint(b.mcon ?? '', a.mcon ?? ''));
  const byTable = new Map<string, IncidentTableRef>();
  for (const ref of found) {
    const key = JSON.stringify([ref.database, ref.schema, ref.table]);
    const kept = byTable.get(key);
    if (!kept) byTable.set(key, ref);
    else if (kept.mcon === null && ref.mcon !== null) byTable.set(key, { ...kept, mcon: ref.mcon });
  }
  return [...byTable.values()];
}

function eventType(webhook: MonteCarloWebhook, feedback: MonteCarloWebhook['alert_feedback']): IncidentEventType {
  if (feedback && MONTE_CARLO_RESOLVING_FEEDBACK.includes(feedback)) return 'incident.resolved';
  return isMonteCarloAlertUpdate(webhook) ? 'incident.updated' : 'incident.opened';
}

/**
 * MetaSync's event for one Monte Carlo webhook, parsed by its contract. Pure: the id is a hash of the tenant and
 * the webhook's content, so a redelivered webhook yields the same id (and is ignored downstream); receivedAt only
 * becomes occurredAt, since Monte Carlo sends no timestamp of its own.
 */
export function toIncidentEvent(webhook: MonteCarloWebhook, tenant: TenantId, receivedAt: Date): IncidentEvent {
  const { payload } = webhook;
  const feedback = updateField(payload.alert_feedback, webhook.alert_feedback);
  const severity = updateField(payload.declared_alert_severity, webhook.declared_alert_severity);
  const owner = updateField(payload.owner, webhook.owner);
  const tables = tableRefs(webhook);
  const digest = createHash('sha256')
    .update(`${tenant}\n${canonicalJson(webhook)}`, 'utf8')
    .digest('hex');
  return IncidentEvent.parse({
    id: `monte-carlo-${digest}`,
    type: eventType(webhook, feedback.value),
    version: 1,
    tenant,
    source: MONTE_CARLO_EVENT_SOURCE,
    occurredAt: receivedAt.toISOString(),
    payload: {
      incidentId: payload.incident_id,
      incidentType: webhook.type ?? null,
      monteCarloAccountId: webhook.account.id,
      tables: tables.slice(0, MAX_INCIDENT_TABLES),
      tablesOmitted: Math.max(0, tables.length - MAX_INCIDENT_TABLES),
      ...('value' in severity && { severity: severity.value }),
      ...('value' in owner && { owner: owner.value }),
      ...('value' in feedback && { feedback: feedback.value }),
      url: payload.url ?? null,
    },
  });
}
