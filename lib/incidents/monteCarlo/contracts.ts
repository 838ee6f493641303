import { z } from 'zod';
import { MONTE_CARLO_ALERT_FEEDBACK } from './feedback.js';

// ---------------------------------------------------------------------------------------------------------------
// Monte Carlo's webhook format (README.md beside this file has the sources). Objects are loose: fields Monte Carlo
// adds later pass through untouched, while the fields MetaSync relies on are checked. MetaSync's own incident
// events, normalized and small, are in lib/incidents/contracts.ts.
// ---------------------------------------------------------------------------------------------------------------

/** One segment of a Monte Carlo table id: quoted ("a.b", `a:b`, quotes doubled inside) or plain up to `stop`. */
const segment = (stop: string) => `("(?:[^"]|"")+"|\`(?:[^\`]|\`\`)+\`|[^${stop}"\`][^${stop}]*)`;
const lastSegment = '("(?:[^"]|"")+"|`(?:[^`]|``)+`|[^"`][\\s\\S]*)';
const uuid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** The grammar of Monte Carlo's table names; lib/incidents/monteCarlo/identity.ts reads its captures. */
export const MONTE_CARLO_NAMES = {
  /** `db:schema.table`; the table runs to the end, so an unquoted table name may hold dots. */
  fullTableId: new RegExp(`^${segment(':')}:${segment('.')}\\.${lastSegment}$`),
  /** `db:schema`, an anomaly incident's group of tables. */
  groupId: new RegExp(`^${segment(':')}:${lastSegment}$`),
  tableName: new RegExp(`^${lastSegment}$`),
  /** `MCON++<account uuid>++<resource uuid>++<object type>++<object id>`, split at the first four `++`. */
  mcon: new RegExp(`^MCON\\+\\+(${uuid})\\+\\+(${uuid})\\+\\+([\\s\\S]+?)\\+\\+([\\s\\S]+)$`),
};

export const MonteCarloFullTableId = z
  .string()
  .regex(MONTE_CARLO_NAMES.fullTableId, 'a full table id is db:schema.table, e.g. analytics:prod.orders');
export const MonteCarloGroupId = z
  .string()
  .regex(MONTE_CARLO_NAMES.groupId, 'a group id is db:schema, e.g. analytics:prod');
export const MonteCarloTableName = z.string().regex(MONTE_CARLO_NAMES.tableName, 'a table name is not empty');
export const MonteCarloMcon = z
  .string()
  .regex(MONTE_CARLO_NAMES.mcon, 'an MCON is MCON++<account uuid>++<resource uuid>++<object type>++<object id>');

/** What the alert's status says (alert_feedback); lib/incidents/monteCarlo/feedback.ts says which resolve it. */
export const MonteCarloAlertFeedback = z.enum(MONTE_CARLO_ALERT_FEEDBACK);

/** Set when the alert is marked as an incident, back to null when it is unmarked. */
export const MonteCarloSeverity = z.enum(['SEV-1', 'SEV-2', 'SEV-3', 'SEV-4']);
export type MonteCarloSeverity = z.infer<typeof MonteCarloSeverity>;

/**
 * The fields an alert update changes. Monte Carlo documents them in a table, not in a sample body, so they are
 * read inside `payload` (where the rest of the alert is) or at the top level.
 */
const MonteCarloAlertUpdateFields = {
  alert_feedback: MonteCarloAlertFeedback.nullish(),
  declared_alert_severity: MonteCarloSeverity.nullish(),
  /** The owner's email; only present once an owner is assigned. */
  owner: z.string().min(1).nullish(),
};

/** A custom rule's comparison; full_table_id is null in the documented custom SQL example. */
export const MonteCarloRuleComparison = z.looseObject({
  full_table_id: MonteCarloFullTableId.nullish(),
  metric: z.string().nullish(),
  operator: z.string().nullish(),
  threshold: z.union([z.number(), z.string()]).nullish(),
});

export const MonteCarloRule = z.looseObject({
  uuid: z.string().min(1).nullish(),
  description: z.string().nullish(),
  rule_type: z.string().nullish(),
  comparisons: z.array(MonteCarloRuleComparison).nullish(),
});
export type MonteCarloRule = z.infer<typeof MonteCarloRule>;

/** One anomaly of an incident: a table of its group (anomalies) or a rule's breach with its data (custom rules). */
export const MonteCarloEventListEntry = z.looseObject({
  table_name: MonteCarloTableName.nullish(),
  /** Text such as "Has 42 rows vs. 101 expected" in the documented example; not relied on. */
  event_details: z.unknown().optional(),
  data: z.looseObject({}).nullish(),
  rule: MonteCarloRule.nullish(),
  /** Not in the documented examples; read when present, as Monte Carlo names assets by MCON elsewhere. */
  mcon: MonteCarloMcon.nullish(),
});
export type MonteCarloEventListEntry = z.infer<typeof MonteCarloEventListEntry>;

const MonteCarloWebhookEnvelope = {
  account: z.looseObject({ id: z.string().min(1) }),
  action: z.literal('incident'),
  /** `v0.1` in every documented example. */
  version: z.string().min(1),
};

const MonteCarloIncidentPayloadFields = {
  incident_id: z.string().min(1).max(200),
  url: z.url().nullish(),
  group_id: MonteCarloGroupId.nullish(),
  /** Documented inside each event; also read here, where one description of the custom rule example puts it. */
  rule: MonteCarloRule.nullish(),
  ...MonteCarloAlertUpdateFields,
};

/** Documented incident types; Monte Carlo has others (freshness, volume, schema...), so any snake_case name passes. */
export const MONTE_CARLO_INCIDENT_TYPES = ['open_anomaly_incident', 'open_custom_rule_anomaly_incident'] as const;
export const MonteCarloIncidentType = z
  .string()
  .regex(/^[a-z][a-z0-9_]*$/, 'an incident type is snake_case, e.g. open_anomaly_incident');

/** An alert as it opens: the incident, its type and its events. */
export const MonteCarloIncidentWebhook = z.looseObject({
  ...MonteCarloWebhookEnvelope,
  type: MonteCarloIncidentType,
  payload: z.looseObject({
    ...MonteCarloIncidentPayloadFields,
    event_list: z.array(MonteCarloEventListEntry).max(10_000),
  }),
  ...MonteCarloAlertUpdateFields,
});
export type MonteCarloIncidentWebhook = z.infer<typeof MonteCarloIncidentWebhook>;

/**
 * An alert acknowledged, given a status, an owner or a severity, or resolved. At creation alert_feedback and
 * declared_alert_severity are null and owner is absent; an update sets one of them, sets an owner, or unmarks the
 * incident (severity back to null) after marking it had set a feedback.
 */
export const MonteCarloAlertUpdateWebhook = z
  .looseObject({
    ...MonteCarloWebhookEnvelope,
    type: MonteCarloIncidentType.optional(),
    payload: z.looseObject({
      ...MonteCarloIncidentPayloadFields,
      event_list: z.array(MonteCarloEventListEntry).max(10_000).optional(),
    }),
    ...MonteCarloAlertUpdateFields,
  })
  .refine(
    (webhook) => isMonteCarloAlertUpdate(webhook),
    'an alert update sets alert_feedback, declared_alert_severity or owner (in payload or at the top level)',
  );
export type MonteCarloAlertUpdateWebhook = z.infer<typeof MonteCarloAlertUpdateWebhook>;

/** Whether a webhook (parsed or not) updates an alert rather than opening it; see MonteCarloAlertUpdateWebhook. */
export function isMonteCarloAlertUpdate(webhook: unknown): boolean {
  const record = (value: unknown): Record<string, unknown> =>
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  return [record(webhook), record(record(webhook).payload)].some(
    (fields) =>
      Object.hasOwn(fields, 'owner') ||
      (fields.alert_feedback ?? null) !== null ||
      (fields.declared_alert_severity ?? null) !== null,
  );
}

export const MonteCarloWebhook = z.union([MonteCarloAlertUpdateWebhook, MonteCarloIncidentWebhook]);
export type MonteCarloWebhook = z.infer<typeof MonteCarloWebhook>;
