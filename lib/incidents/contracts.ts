import { z } from 'zod';
import {
  MonteCarloAlertFeedback,
  MonteCarloFullTableId,
  MonteCarloIncidentType,
  MonteCarloMcon,
  MonteCarloSeverity,
} from './monteCarlo/contracts.js';
import { EventEnvelope, MessageOrigin } from '../kafka/envelope.js';
import { TenantId } from '../platform/ids.js';

// ---------------------------------------------------------------------------------------------------------------
// MetaSync's own incident events (normalized from Monte Carlo's webhooks, carried in the EventEnvelope), the
// incident as the lake keeps it, and what reading an asset shows.
// ---------------------------------------------------------------------------------------------------------------

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
// The incident workflow (one per tenant and inbound partition): what the incident bridge delivers to it.
// ---------------------------------------------------------------------------------------------------------------

/** How hard the workflow tries each write, and how long it waits before trying a stuck event again. */
export const IncidentRetry = z.object({
  /** Attempts of each activity (about a minute and a half at the default), then the events count as failed. */
  attempts: z.number().int().positive(),
  /** The first wait after an event could be neither saved nor dead-lettered; it doubles up to maxBackoffMs. */
  firstBackoffMs: z.number().int().positive(),
  maxBackoffMs: z.number().int().positive(),
});
export type IncidentRetry = z.infer<typeof IncidentRetry>;

/** The incidents of one partition of a tenant's incident topic: Kafka keys each incident to one partition. */
export const IncidentPartitionInput = z.object({
  tenant: TenantId,
  topic: z.string().min(1),
  partition: z.number().int().nonnegative(),
  /** Without news for this long, the workflow ends; the partition's next event starts it again. */
  quietPeriodMs: z.number().int().positive(),
  /** Events applied (or tries at one) before continuing as new, so the history stays small. */
  eventsPerRun: z.number().int().positive().optional(),
  retry: IncidentRetry.partial().optional(),
});
export type IncidentPartitionInput = z.infer<typeof IncidentPartitionInput>;

/** One event for the workflow, with where the bridge read it, so a dead letter points back at it. */
export const IncidentSignal = z.object({ event: IncidentEvent, origin: MessageOrigin });
export type IncidentSignal = z.infer<typeof IncidentSignal>;

/** W3C trace context of the Kafka message that brought an event, so its work is done in its own trace. */
export const TraceContext = z.object({ traceparent: z.string(), tracestate: z.string().optional() });

/** An event as the bridge delivers it: with its origin and the trace of its message (absent when not traced). */
export const IncidentDelivery = IncidentSignal.extend({ trace: TraceContext.optional() });
export type IncidentDelivery = z.infer<typeof IncidentDelivery>;

/** Consecutive events of one partition, in offset order: what one update of the workflow carries. */
export const IncidentBatch = z.object({ deliveries: z.array(IncidentDelivery).min(1) });
export type IncidentBatch = z.infer<typeof IncidentBatch>;

/** What one batch did: what the workflow shows of its incidents, and the events it must dead-letter. */
export interface IncidentBatchOutcome {
  applied: number;
  /** Events applied before (a redelivery after a restart): passed over. */
  redelivered: number;
  /** Events of incidents the lake refuses for what they are (a key over Cassandra's limit): never applicable. */
  refused: { eventId: string; reason: string }[];
  incidents: IncidentSummary[];
}

/** An incident as the workflow's query and the Web UI show it. */
export interface IncidentSummary {
  incidentId: string;
  status: 'open' | 'resolved';
  eventsApplied: number;
  updatedAt: string;
  qualifiedNames: number;
  unmappedTables: number;
}

/** What the bridge learns once the events it delivered are applied (or queued, when the workflow hands over). */
export interface IncidentBatchReceipt {
  /** The offset through which the partition's events are applied or dead-lettered. */
  appliedThrough: number;
  /** Events still queued (they go along if the workflow continues as new). */
  queued: number;
}

/** The partition as its query (and the Web UI's current details) shows it. */
export interface IncidentPartitionView {
  tenant: string;
  topic: string;
  partition: number;
  receivedThrough: number;
  appliedThrough: number;
  queued: number;
  eventsApplied: number;
  /** The incidents this run touched last, newest last. */
  recentIncidents: IncidentSummary[];
}

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
