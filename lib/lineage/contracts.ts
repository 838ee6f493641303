import { z } from 'zod';
import { EventEnvelope } from '../kafka/envelope.js';

// ---------------------------------------------------------------------------------------------------------------
// Lineage: an edge says data flows from `upstream` to `downstream`. Annotations propagate along edges
// (lib/propagation/contracts.ts). Edges come from the catalog, from OpenLineage events and from dbt artifacts.
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

/** On metasync.inbound.<tenant>.lineage, keyed `<tenant>/<job namespace>/<job name>` (lib/kafka/topics.ts). */
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
