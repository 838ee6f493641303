import { z } from 'zod';

/**
 * Every contract MetaSync speaks, as zod schemas: one module, so producers, the bridge, workflows and tests agree.
 */

/** Tenant ids go into Cassandra partition keys, S3 prefixes, Kafka keys and workflow ids, so they are kept plain. */
export const TenantId = z
  .string()
  .regex(/^[a-z][a-z0-9-]{1,62}$/, 'a tenant id is 2-63 lowercase letters, digits or dashes, starting with a letter');
export type TenantId = z.infer<typeof TenantId>;

export const RunId = z.string().regex(/^[A-Za-z0-9._-]{1,128}$/, 'a run id is 1-128 letters, digits, dots, dashes');

/** The versioned envelope carried by every MetaSync topic. */
export const EventEnvelope = z.object({
  id: z.string().min(1).max(200),
  type: z.string().regex(/^[a-z]+(\.[a-z-]+)+$/, 'expected a dotted type such as skeleton.requested'),
  version: z.number().int().positive(),
  tenant: TenantId,
  source: z.string().min(1).max(200),
  occurredAt: z.iso.datetime({ offset: true }),
  payload: z.unknown(),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;

/** One asset of the unified model, as written to S3 parts and read by the Spark job. */
export const AssetRecord = z.object({
  qualifiedName: z.string().min(1),
  assetType: z.enum(['database', 'schema', 'table', 'view', 'column', 'dashboard']),
  name: z.string().min(1),
  parentQualifiedName: z.string().nullable(),
  dataType: z.string().nullable(),
  properties: z.record(z.string(), z.string()),
});
export type AssetRecord = z.infer<typeof AssetRecord>;

// The walking skeleton: one run through every hop (S3, Spark, Cassandra, Kafka, Postgres).

export const SkeletonInput = z.object({
  tenant: TenantId,
  runId: RunId,
  tables: z.number().int().min(1).max(10_000),
  columnsPerTable: z.number().int().min(0).max(1_000),
});
export type SkeletonInput = z.infer<typeof SkeletonInput>;

export const SkeletonRequested = EventEnvelope.extend({
  type: z.literal('skeleton.requested'),
  version: z.literal(1),
  payload: SkeletonInput.omit({ tenant: true }),
});
export type SkeletonRequested = z.infer<typeof SkeletonRequested>;

export const SkeletonCompletedPayload = z.object({
  runId: RunId,
  objectKey: z.string(),
  assetsWritten: z.number().int().nonnegative(),
  assetsRejected: z.number().int().nonnegative(),
});
export type SkeletonCompletedPayload = z.infer<typeof SkeletonCompletedPayload>;

// Estate ingestion (80-20): extractors emit raw records; the mapping rules turn them into assets.

/** Source systems an extractor reads; each has its own field mappings and type aliases in the rule set. */
export const SourceType = z.enum(['postgres', 'mysql', 'ndjson']);
export type SourceType = z.infer<typeof SourceType>;

/** What becomes an asset: every raw kind but `lineage`. */
export const EstateAssetType = z.enum([
  'database',
  'schema',
  'table',
  'view',
  'materialized_view',
  'column',
  'dashboard',
  'foreign_key',
]);
export type EstateAssetType = z.infer<typeof EstateAssetType>;

/**
 * A `lineage` record states that data flows into the relation at its path (a view or materialized view) from the
 * relation its attributes name: `upstream_schema` (when paths have a schema level), `upstream_table`, optionally
 * `upstream_database`, and `downstream_type`. `columns` and `upstream_columns` are JSON arrays of names, pair by
 * pair (view column, the column it copies). It becomes lineage edges (lib/lineage/catalog.ts), never an asset.
 */
export const RawKind = z.enum([...EstateAssetType.options, 'lineage']);
export type RawKind = z.infer<typeof RawKind>;

export const isEstateAssetType = (kind: string): kind is EstateAssetType =>
  (EstateAssetType.options as readonly string[]).includes(kind);

/**
 * One catalog entry as the source describes it. `path` holds the names exactly as the source spells them,
 * outermost first (database, schema, table, column); `attributes` holds the source's own fields, untouched,
 * so the mapping rules (data, not code) decide what they mean.
 */
export const RawRecord = z.object({
  kind: RawKind,
  path: z.array(z.string()).min(1).max(6),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])),
});
export type RawRecord = z.infer<typeof RawRecord>;

/** An asset of the unified model, as the mapping rules produce it (in TypeScript and in the Spark job alike). */
export const EstateAsset = z.object({
  qualifiedName: z.string().min(1),
  assetType: EstateAssetType,
  name: z.string().min(1),
  parentQualifiedName: z.string().nullable(),
  dataType: z.string().nullable(),
  sourceDataType: z.string().nullable(),
  nullable: z.boolean().nullable(),
  defaultValue: z.string().nullable(),
  ordinal: z.number().int().nullable(),
  comment: z.string().nullable(),
  tags: z.array(z.string()),
  properties: z.record(z.string(), z.string()),
});
export type EstateAsset = z.infer<typeof EstateAsset>;

/** What each asset type went through in a run. */
export const ChangeCounts = z.object({
  added: z.number().int().nonnegative(),
  updated: z.number().int().nonnegative(),
  unchanged: z.number().int().nonnegative(),
  deleted: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
});
export type ChangeCounts = z.infer<typeof ChangeCounts>;
export const CountsByType = z.record(z.string(), ChangeCounts);
export type CountsByType = z.infer<typeof CountsByType>;

/** Where and how much an extraction wrote: keys and counts only, never the records themselves. */
export const ExtractManifest = z.object({
  buckets: z.number().int().positive(),
  containers: z.object({ records: z.number().int().nonnegative(), parts: z.number().int().nonnegative() }),
  columns: z.object({ records: z.number().int().nonnegative(), parts: z.number().int().nonnegative() }),
  /** Records the extractor itself could not read (e.g. an invalid line of a dump), kept with their reason. */
  rejected: z.number().int().nonnegative(),
  /** Column records per bucket, so the columns phase can size its Spark jobs. */
  columnsPerBucket: z.array(z.number().int().nonnegative()),
});
export type ExtractManifest = z.infer<typeof ExtractManifest>;

export const IngestOptions = z.object({
  /** Buckets the raw extract is split into; fixed per connection, so runs diff bucket against bucket. */
  buckets: z.number().int().min(1).max(4096).default(64),
  /** Container buckets loaded at once. */
  containerConcurrency: z.number().int().min(1).max(64).default(8),
  /** Buckets per Spark job (one child workflow each). */
  bucketsPerColumnsJob: z.number().int().min(1).max(4096).default(16),
  /** Child workflows started together; the parent continues as new after `wavesPerRun` waves. */
  childrenPerWave: z.number().int().min(1).max(64).default(2),
  wavesPerRun: z.number().int().min(1).max(1000).default(20),
});
export type IngestOptions = z.infer<typeof IngestOptions>;

export const IngestInput = z.object({
  tenant: TenantId,
  connectionId: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a connection id is lowercase letters, digits, - or _'),
  runId: RunId,
  options: IngestOptions.default(IngestOptions.parse({})),
  /** Who started the run (an API key, a user at the command line), kept on its runs row. */
  requestedBy: z.string().max(200).optional(),
});
export type IngestInput = z.infer<typeof IngestInput>;

/** What the Spark jobs print as their last line, for the activity that submitted them. */
export const SparkJobResult = z.object({
  written: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  counts: CountsByType.optional(),
});
export type SparkJobResult = z.infer<typeof SparkJobResult>;

// ---------------------------------------------------------------------------------------------------------------
// Monte Carlo's webhook format (lib/monteCarlo/README.md has the sources). Objects are loose: fields Monte Carlo
// adds later pass through untouched, while the fields MetaSync relies on are checked. Then MetaSync's own
// incident events, normalized and small, carried in the EventEnvelope.
// ---------------------------------------------------------------------------------------------------------------

/** One segment of a Monte Carlo table id: quoted ("a.b", `a:b`, quotes doubled inside) or plain up to `stop`. */
const segment = (stop: string) => `("(?:[^"]|"")+"|\`(?:[^\`]|\`\`)+\`|[^${stop}"\`][^${stop}]*)`;
const lastSegment = '("(?:[^"]|"")+"|`(?:[^`]|``)+`|[^"`][\\s\\S]*)';
const uuid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';

/** The grammar of Monte Carlo's table names; lib/monteCarlo/identity.ts reads its captures. */
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

/** What the alert's status says (alert_feedback); the last four resolve it. */
export const MonteCarloAlertFeedback = z.enum([
  'investigating',
  'no_status',
  'work_in_progress',
  'fixed',
  'expected',
  'no_action_needed',
  'false_positive',
]);
export type MonteCarloAlertFeedback = z.infer<typeof MonteCarloAlertFeedback>;
export const MONTE_CARLO_RESOLVING_FEEDBACK: readonly MonteCarloAlertFeedback[] = [
  'fixed',
  'expected',
  'no_action_needed',
  'false_positive',
];

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

/** A table an incident concerns, by Monte Carlo's names: the same on every MetaSync connection. */
export const IncidentTableRef = z.object({
  /** As Monte Carlo spells it (`db:schema.table`), the key refs are deduplicated and sorted by. */
  fullTableId: MonteCarloFullTableId,
  mcon: MonteCarloMcon.nullable(),
  database: z.string().min(1),
  schema: z.string().min(1),
  table: z.string().min(1),
});
export type IncidentTableRef = z.infer<typeof IncidentTableRef>;

/** At most this many table refs ride in one event; the raw webhook (archived in S3) has them all. */
export const MAX_INCIDENT_TABLES = 1000;

/**
 * An incident as MetaSync tells it. severity, owner and feedback are absent when the webhook did not carry them
 * (nothing changed), and null when Monte Carlo says they are unset.
 */
export const IncidentEventPayload = z.object({
  incidentId: z.string().min(1).max(200),
  /** Monte Carlo's `type`, e.g. open_anomaly_incident; null when an update did not repeat it. */
  incidentType: MonteCarloIncidentType.nullable(),
  monteCarloAccountId: z.string().min(1),
  tables: z.array(IncidentTableRef).max(MAX_INCIDENT_TABLES),
  tablesOmitted: z.number().int().nonnegative(),
  severity: MonteCarloSeverity.nullable().optional(),
  owner: z.string().min(1).nullable().optional(),
  feedback: MonteCarloAlertFeedback.nullable().optional(),
  url: z.url().nullable(),
});
export type IncidentEventPayload = z.infer<typeof IncidentEventPayload>;

export const IncidentEventType = z.enum(['incident.opened', 'incident.updated', 'incident.resolved']);
export type IncidentEventType = z.infer<typeof IncidentEventType>;

/** On the events topic, keyed by tenant; `id` derives from the webhook's content, so a redelivery repeats it. */
export const IncidentEvent = EventEnvelope.extend({
  type: IncidentEventType,
  version: z.literal(1),
  payload: IncidentEventPayload,
});
export type IncidentEvent = z.infer<typeof IncidentEvent>;

// ---------------------------------------------------------------------------------------------------------------
// Incidents in the lake: what the incident workflow keeps, and what reading an asset shows.
// ---------------------------------------------------------------------------------------------------------------

export const IncidentStatus = z.enum(['open', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/** An incident as its workflow last applied it: in the lake's `incidents` table and the workflow's query. */
export const IncidentRecord = z.object({
  incidentId: z.string().min(1).max(200),
  incidentType: MonteCarloIncidentType.nullable(),
  status: IncidentStatus,
  severity: MonteCarloSeverity.nullable(),
  owner: z.string().nullable(),
  feedback: MonteCarloAlertFeedback.nullable(),
  url: z.string().nullable(),
  monteCarloAccountId: z.string().nullable(),
  /** Every table the incident has concerned, by Monte Carlo's names. */
  tables: z.array(IncidentTableRef),
  /** The same tables as qualified names of the connection the Monte Carlo account maps to. */
  qualifiedNames: z.array(z.string()),
  /** Full table ids that could not be named: the account maps to no connection (yet). */
  unmappedTables: z.array(z.string()),
  /** Distinct events applied: with duplicates ignored by event id, each update counts once. */
  eventsApplied: z.number().int().nonnegative(),
  /** The last events applied, newest last: a later run of the incident's workflow ignores them again. */
  recentEventIds: z.array(z.string()),
  openedAt: z.iso.datetime({ offset: true }),
  updatedAt: z.iso.datetime({ offset: true }),
  resolvedAt: z.iso.datetime({ offset: true }).nullable(),
});
export type IncidentRecord = z.infer<typeof IncidentRecord>;

export const AssetIncident = IncidentRecord.pick({
  incidentId: true,
  incidentType: true,
  status: true,
  severity: true,
  owner: true,
  feedback: true,
  url: true,
  openedAt: true,
  updatedAt: true,
  resolvedAt: true,
});
export type AssetIncident = z.infer<typeof AssetIncident>;

/** An asset with its incidents (GET /v1/tenants/:tenant/assets/:qualifiedName, and the `asset` starter). */
export const AssetView = z.object({
  tenant: TenantId,
  qualifiedName: z.string(),
  /** Null while the asset is not in the catalog (yet): its incidents are kept and shown all the same. */
  asset: z
    .object({
      assetType: z.string(),
      name: z.string(),
      parentQualifiedName: z.string().nullable(),
      dataType: z.string().nullable(),
      deleted: z.boolean(),
      updatedAt: z.iso.datetime({ offset: true }).nullable(),
    })
    .nullable(),
  openIncidents: z.array(AssetIncident),
  /** Resolved incidents, newest first. */
  recentIncidents: z.array(AssetIncident),
});
export type AssetView = z.infer<typeof AssetView>;

// ---------------------------------------------------------------------------------------------------------------
// Lineage, annotations and their propagation (issue 5). An edge says data flows from `upstream` to `downstream`;
// an annotation (classification, tag, owner, description) set on an asset flows along those edges, each copy
// attributed to the asset it was set on and the path it took.
// ---------------------------------------------------------------------------------------------------------------

/** Qualified names go into Cassandra keys and Kafka keys: bounded, and never empty. */
export const QualifiedName = z.string().min(1).max(2048);

export const LineageLevel = z.enum(['table', 'column']);
export type LineageLevel = z.infer<typeof LineageLevel>;

/** Who says an edge exists. `manual` edges (and manual non-propagating marks) come from users. */
export const LineageKind = z.enum(['foreign_key', 'view', 'openlineage', 'dbt', 'manual']);
export type LineageKind = z.infer<typeof LineageKind>;

export const LineageEdge = z.object({
  upstream: QualifiedName,
  downstream: QualifiedName,
  level: LineageLevel,
  kind: LineageKind,
  /**
   * The assertion's owner, so a source re-stating its lineage replaces only its own edges: `catalog:<connection>`,
   * `openlineage:<job namespace>/<job name>`, `dbt:<project>`, `manual`.
   */
  origin: z.string().min(1).max(512),
  /** False stops propagation along this edge; a manual false overrides every other origin's true. */
  propagates: z.boolean(),
  /** How the downstream derives from the upstream, when the source says (a column lineage transformation, an FK). */
  transformation: z.string().max(4096).nullable(),
  /** The downstream's asset type when known, so propagation can stop at types without reading each asset. */
  downstreamType: z.string().max(64).nullable(),
});
export type LineageEdge = z.infer<typeof LineageEdge>;

/** What can be annotated, and what propagates by default (lib/propagation/policy.ts has the rules). */
export const AnnotationAttribute = z.enum(['classification', 'tag', 'owner', 'description']);
export type AnnotationAttribute = z.infer<typeof AnnotationAttribute>;

/** PII and GDPR are the classifications enforcement acts on; any other label is a custom classification. */
export const ClassificationLabel = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/,
    'a classification or tag is a letter then up to 63 letters, digits, _ . : -',
  );

export const AnnotationValue = z.string().min(1).max(4096);

/** One change a user asks for on one asset. */
export const AnnotationChange = z
  .object({
    qualifiedName: QualifiedName,
    op: z.enum(['add', 'remove']),
    attribute: AnnotationAttribute,
    value: AnnotationValue,
    /** Who asked (an API key's name, a user, a producer), kept with the change. */
    actor: z.string().min(1).max(200),
  })
  .superRefine((change, context) => {
    if (change.attribute !== 'classification' && change.attribute !== 'tag') return;
    const label = ClassificationLabel.safeParse(change.value);
    if (!label.success) context.addIssue({ code: 'custom', path: ['value'], message: label.error.issues[0]!.message });
  });
export type AnnotationChange = z.infer<typeof AnnotationChange>;

/** `asset.annotation-requested` on the commands topic: the Kafka way to annotate an asset. */
export const AnnotationRequested = EventEnvelope.extend({
  type: z.literal('asset.annotation-requested'),
  version: z.literal(1),
  payload: AnnotationChange,
});
export type AnnotationRequested = z.infer<typeof AnnotationRequested>;

/** Commands accepted on the commands topic, by type. */
export const Command = z.discriminatedUnion('type', [SkeletonRequested, AnnotationRequested]);
export type Command = z.infer<typeof Command>;

/** Where a copy of an annotation came from: the asset it was set on, and the lineage path from there. */
export const Attribution = z.object({
  source: QualifiedName,
  /** From the source to this asset, both included; [source] for the source itself. */
  path: z.array(QualifiedName),
  depth: z.number().int().nonnegative(),
});
export type Attribution = z.infer<typeof Attribution>;

/** An annotation as an asset holds it: one value, with every attribution that currently gives it. */
export const EffectiveAnnotation = z.object({
  attribute: AnnotationAttribute,
  value: AnnotationValue,
  attributions: z.array(Attribution),
});
export type EffectiveAnnotation = z.infer<typeof EffectiveAnnotation>;

/**
 * `asset.annotation-changed` on the tenant's outbound topic (metasync.outbound.<tenant>), keyed by qualified name:
 * an asset gained a value it did not have, or lost its last attribution of one. Copies that change nothing an
 * outside tool can see (a second source giving a value already held) are not published.
 */
export const AnnotationChangedPayload = z.object({
  qualifiedName: QualifiedName,
  /** Null when the asset is not in the catalog (yet): lineage named it before ingestion did. */
  assetType: z.string().nullable(),
  attribute: AnnotationAttribute,
  value: AnnotationValue,
  change: z.enum(['added', 'removed']),
  /** The copy that made the change: for `removed`, the last one that went. */
  attribution: Attribution,
  /** Orders the changes of one asset: strictly increasing per asset (a microsecond logical clock). */
  sequence: z.number().int().positive(),
  /** The request that caused it, the same on every asset it reached. */
  changeId: z.string().min(1).max(200),
});
export type AnnotationChangedPayload = z.infer<typeof AnnotationChangedPayload>;

export const AnnotationChanged = EventEnvelope.extend({
  type: z.literal('asset.annotation-changed'),
  version: z.literal(1),
  payload: AnnotationChangedPayload,
});
export type AnnotationChanged = z.infer<typeof AnnotationChanged>;

/**
 * How annotations propagate, as data (policies/propagation.json, overridable per tenant). The first rule matching
 * an annotation's attribute and value decides; what a rule leaves out comes from the policy's defaults.
 */
export const PropagationRule = z.object({
  attribute: AnnotationAttribute,
  /** Values the rule is for (e.g. ["GDPR"]); absent for every value of the attribute. */
  values: z.array(AnnotationValue).optional(),
  propagate: z.boolean(),
  maxDepth: z.number().int().min(1).max(100_000).optional(),
  /** Lineage levels the value travels along; column classifications go column to column. */
  levels: z.array(LineageLevel).optional(),
  /** Assets of these types receive the value but pass it no further (a dashboard is an end). */
  stopAtAssetTypes: z.array(z.string()).optional(),
  /** Assets of these types neither receive nor pass the value. */
  excludeAssetTypes: z.array(z.string()).optional(),
});
export type PropagationRule = z.infer<typeof PropagationRule>;

export const PropagationPolicy = z.object({
  version: z.literal(1),
  defaults: z.object({
    maxDepth: z.number().int().min(1).max(100_000),
    levels: z.array(LineageLevel),
    stopAtAssetTypes: z.array(z.string()),
    excludeAssetTypes: z.array(z.string()),
    /** A change reaching more assets than this stops there and says so, rather than running away. */
    maxAssetsPerChange: z.number().int().min(1),
  }),
  rules: z.array(PropagationRule),
});
export type PropagationPolicy = z.infer<typeof PropagationPolicy>;

/** What one rule of a policy resolves to for one value. */
export const ResolvedPropagation = PropagationPolicy.shape.defaults.extend({ propagate: z.boolean() });
export type ResolvedPropagation = z.infer<typeof ResolvedPropagation>;

// ---------------------------------------------------------------------------------------------------------------
// Subscriptions (issue 5): what an outside tool receives from a tenant's outbound topic, kept as data in PostgreSQL
// (`subscriptions`). Each one filters the annotation changes, reshapes them and hands them to a sink
// (lib/subscriptions/). workers/subscribers.ts runs them.
// ---------------------------------------------------------------------------------------------------------------

/** Subscription ids go into Kafka consumer group ids. */
export const SubscriptionId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a subscription id is 1-63 lowercase letters, digits, - or _');

/** Each list left out lets everything through; each list given keeps only the changes it names. */
export const SubscriptionFilter = z.strictObject({
  attributes: z.array(AnnotationAttribute).min(1).optional(),
  /** Exact values, e.g. ['PII', 'GDPR']. */
  values: z.array(AnnotationValue).min(1).optional(),
  /** An asset whose type is not known yet (assetType null) matches no list. */
  assetTypes: z.array(z.string().min(1).max(64)).min(1).optional(),
  changes: z.array(AnnotationChangedPayload.shape.change).min(1).optional(),
});
export type SubscriptionFilter = z.infer<typeof SubscriptionFilter>;

const UNSAFE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);
/** A dotted path into the event, e.g. `payload.attribution.source`. */
export const FieldPath = z
  .string()
  .max(256)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$/, 'a field path is dotted names, e.g. payload.value')
  .refine((path) => !path.split('.').some((segment) => UNSAFE_SEGMENTS.has(segment)), {
    message: 'a field path never goes through __proto__, constructor or prototype',
  });

/** Applied in this order: pick (or keep the whole event), then rename, then add. */
export const SubscriptionReshape = z.strictObject({
  /** The fields kept, at the same paths; without it the whole event is kept. */
  pick: z.array(FieldPath).min(1).optional(),
  /** From path to path, e.g. {"payload.qualifiedName": "asset"}. */
  rename: z.record(FieldPath, FieldPath).optional(),
  /** Constant fields, e.g. {"producer": "metasync"}. */
  add: z.record(FieldPath, z.json()).optional(),
});
export type SubscriptionReshape = z.infer<typeof SubscriptionReshape>;

/**
 * A Kafka sink writes `metasync.sink.<tenant>.<name>`: a topic only its tenant's principal may read, and the only
 * kind the subscribers may write (lib/kafkaAccess.ts). Which tenant's prefix a spec may use is checked where the
 * tenant is known (sinkTopicProblem).
 */
export const KafkaSinkSpec = z.strictObject({
  type: z.literal('kafka'),
  topic: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,249}$/, 'a Kafka topic is 1-249 letters, digits, . _ or -')
    .regex(
      /^metasync\.sink\.[a-z][a-z0-9-]{1,62}\.[A-Za-z0-9._-]+$/,
      'a sink topic is metasync.sink.<tenant>.<name>: only there may the subscribers write, and only the tenant read',
    ),
});

/** Why a subscription of `tenant` may not use this sink (another tenant's sink topic), or undefined. */
export function sinkTopicProblem(tenant: string, sink: SinkSpec): string | undefined {
  if (sink.type !== 'kafka' || sink.topic.startsWith(`metasync.sink.${tenant}.`)) return undefined;
  return `sink.topic ${JSON.stringify(sink.topic)} is not tenant ${tenant}'s: a sink topic is metasync.sink.${tenant}.<name>`;
}

/** Restricted roles lose SELECT on what carries one of `classifications` in the connection's database. */
export const PostgresEnforcementSinkSpec = z.strictObject({
  type: z.literal('postgres-enforcement'),
  connectionId: IngestInput.shape.connectionId,
  restrictedRoles: z.array(z.string().min(1).max(63)).min(1),
  classifications: z.array(ClassificationLabel).min(1).default(['PII', 'GDPR']),
});

export const SinkSpec = z.discriminatedUnion('type', [KafkaSinkSpec, PostgresEnforcementSinkSpec]);
export type SinkSpec = z.infer<typeof SinkSpec>;

export const Subscription = z
  .strictObject({
    description: z.string().max(1000).optional(),
    filter: SubscriptionFilter.default({}),
    reshape: SubscriptionReshape.default({}),
    sink: SinkSpec,
  })
  .refine((spec) => spec.sink.type === 'kafka' || Object.keys(spec.reshape).length === 0, {
    path: ['reshape'],
    message: 'the postgres-enforcement sink acts on the change itself: reshape is for the kafka sink',
  });
export type Subscription = z.infer<typeof Subscription>;
export type SubscriptionInput = z.input<typeof Subscription>;

// ---------------------------------------------------------------------------------------------------------------
// OpenLineage run events (spec 2-0-2, https://openlineage.io/spec/2-0-2/OpenLineage.json, and the columnLineage
// dataset facet), as an OpenLineage HTTP transport posts them and as they travel on metasync.inbound.<tenant>.lineage.
// Objects are loose: facets MetaSync does not read pass whatever they hold, as do fields added by later versions.
// What it relies on is checked: the event's type and time, the run id, job and dataset names, column lineage.
// ---------------------------------------------------------------------------------------------------------------

const OpenLineageName = z.string().min(1).max(1024);
/** A facet is an object; its _producer and _schemaURL are not relied on, so a facet without them is not refused. */
const OpenLineageFacets = z.record(z.string(), z.looseObject({}));

export const OpenLineageEventType = z.enum(['START', 'RUNNING', 'COMPLETE', 'ABORT', 'FAIL', 'OTHER']);
export type OpenLineageEventType = z.infer<typeof OpenLineageEventType>;

/** One input field an output field is derived from; `transformations` say how (DIRECT copies, INDIRECT filters...). */
export const OpenLineageInputField = z.looseObject({
  namespace: OpenLineageName,
  name: OpenLineageName,
  field: OpenLineageName,
  transformations: z
    .array(
      z.looseObject({
        type: z.enum(['DIRECT', 'INDIRECT']),
        subtype: z.string().max(200).optional(),
        description: z.string().max(4096).optional(),
        masking: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type OpenLineageInputField = z.infer<typeof OpenLineageInputField>;

/** The columnLineage dataset facet: each output field with the input fields it comes from. */
export const OpenLineageColumnLineageFacet = z.looseObject({
  fields: z.record(
    OpenLineageName,
    z.looseObject({
      inputFields: z.array(OpenLineageInputField).max(10_000),
      /** Deprecated by `transformations`, still sent by older producers. */
      transformationDescription: z.string().max(4096).optional(),
      transformationType: z.string().max(200).optional(),
    }),
  ),
});
export type OpenLineageColumnLineageFacet = z.infer<typeof OpenLineageColumnLineageFacet>;

export const OpenLineageDataset = z.looseObject({
  namespace: OpenLineageName,
  name: OpenLineageName,
  facets: z.object({ columnLineage: OpenLineageColumnLineageFacet.optional() }).catchall(z.looseObject({})).optional(),
});
export type OpenLineageDataset = z.infer<typeof OpenLineageDataset>;

export const OpenLineageRunEvent = z.looseObject({
  eventTime: z.iso.datetime({ offset: true, message: 'eventTime is an ISO 8601 date-time with its offset' }),
  producer: z.url(),
  schemaURL: z.url(),
  /** Optional in the spec; an event without one asserts nothing (lib/lineage/openLineage.ts). */
  eventType: OpenLineageEventType.optional(),
  run: z.looseObject({
    runId: z.guid({ message: 'runId is a UUID' }),
    facets: OpenLineageFacets.optional(),
  }),
  job: z.looseObject({ namespace: OpenLineageName, name: OpenLineageName, facets: OpenLineageFacets.optional() }),
  inputs: z
    .array(OpenLineageDataset.extend({ inputFacets: OpenLineageFacets.optional() }))
    .max(10_000)
    .optional(),
  outputs: z
    .array(OpenLineageDataset.extend({ outputFacets: OpenLineageFacets.optional() }))
    .max(10_000)
    .optional(),
});
export type OpenLineageRunEvent = z.infer<typeof OpenLineageRunEvent>;

/** On metasync.inbound.<tenant>.lineage, keyed `<tenant>/<job namespace>/<job name>` (lib/topics.ts). */
export const OpenLineageReceived = EventEnvelope.extend({
  type: z.literal('lineage.openlineage'),
  version: z.literal(1),
  payload: OpenLineageRunEvent,
});
export type OpenLineageReceived = z.infer<typeof OpenLineageReceived>;

// ---------------------------------------------------------------------------------------------------------------
// dbt artifacts (https://schemas.getdbt.com/dbt/manifest/v12.json, catalog/v1.json): only the parts MetaSync reads,
// loose, so the many other fields (and those of other artifact versions) pass untouched.
// ---------------------------------------------------------------------------------------------------------------

const DbtName = z.string().min(1).max(1024);

export const DbtManifestNode = z.looseObject({
  unique_id: DbtName,
  resource_type: z.string(),
  name: DbtName,
  database: z.string().nullish(),
  schema: DbtName,
  alias: z.string().nullish(),
  config: z.looseObject({ materialized: z.string().nullish() }).nullish(),
  depends_on: z.looseObject({ nodes: z.array(DbtName).default([]) }).nullish(),
});
export type DbtManifestNode = z.infer<typeof DbtManifestNode>;

export const DbtManifestSource = z.looseObject({
  unique_id: DbtName,
  resource_type: z.literal('source'),
  name: DbtName,
  database: z.string().nullish(),
  schema: DbtName,
  identifier: z.string().nullish(),
});
export type DbtManifestSource = z.infer<typeof DbtManifestSource>;

export const DbtManifest = z.looseObject({
  metadata: z.looseObject({
    dbt_schema_version: z.string().optional(),
    project_name: z.string().min(1).nullish(),
    project_id: z.string().min(1).nullish(),
  }),
  nodes: z.record(z.string(), DbtManifestNode),
  sources: z.record(z.string(), DbtManifestSource).default({}),
});
export type DbtManifest = z.infer<typeof DbtManifest>;

/** A relation of catalog.json (`dbt docs generate`): what the database says it holds. */
export const DbtCatalogTable = z.looseObject({
  metadata: z.looseObject({ database: z.string().nullish(), schema: DbtName, name: DbtName }),
  columns: z.record(
    z.string(),
    z.looseObject({ name: DbtName, type: z.string(), index: z.number().int(), comment: z.string().nullish() }),
  ),
});
export type DbtCatalogTable = z.infer<typeof DbtCatalogTable>;

export const DbtCatalog = z.looseObject({
  nodes: z.record(z.string(), DbtCatalogTable).default({}),
  sources: z.record(z.string(), DbtCatalogTable).default({}),
});
export type DbtCatalog = z.infer<typeof DbtCatalog>;
