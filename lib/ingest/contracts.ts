import { z } from 'zod';
import { EventEnvelope } from '../kafka/envelope.js';
import { RunId, TenantId } from '../platform/ids.js';

// Contracts of estate ingestion and of the walking skeleton.

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

/** An asset ready for the lake, with the fingerprint the next run diffs against. */
export const LoadedAsset = z.object({ asset: EstateAsset, fingerprint: z.string() });
export type LoadedAsset = z.infer<typeof LoadedAsset>;

/** A record that did not become an asset, kept in the lake's `rejections` with the reason. */
export const Rejection = z.object({
  /** Where it was read: the raw part (relative to the run) and the line. */
  sourceRef: z.string(),
  kind: z.string(),
  /** Its path as JSON, or empty when it had none. */
  path: z.string(),
  reason: z.string(),
  /** The record itself, cut short when long. */
  record: z.string(),
});
export type Rejection = z.infer<typeof Rejection>;

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
  /**
   * A digest of each bucket's column lines (128 bits of SHA-256, hex), so a re-run can tell a bucket whose columns did
   * not change. Kept in manifest.json only (runs before it have none): the workflow gets the manifest without it.
   */
  columnDigests: z.array(z.string()).optional(),
});
export type ExtractManifest = z.infer<typeof ExtractManifest>;

/**
 * What a columns job says of the state it wrote (buckets.json beside it): what it mapped with, and the lines it refused
 * per bucket. A re-run reuses a bucket's state instead of a job only when all of it matches and nothing was refused.
 */
export const ColumnJobRecord = z.object({
  /** SHA-256 of the job's code (spark/metasync_rules.py, column_frames.py, load_columns.py, in that order). */
  engine: z.string(),
  /** SHA-256 of the run's rules.json. */
  rules: z.string(),
  sourceType: z.string(),
  connectionId: z.string(),
  /** Lines refused per bucket of the job (every bucket of it, 0 when none). */
  rejected: z.record(z.string(), z.number().int().nonnegative()),
});
export type ColumnJobRecord = z.infer<typeof ColumnJobRecord>;

export const IngestOptions = z.object({
  /** Buckets the raw extract is split into; fixed per connection, so runs diff bucket against bucket. */
  buckets: z.number().int().min(1).max(4096).default(64),
  /** Container buckets loaded at once. */
  containerConcurrency: z.number().int().min(1).max(64).default(8),
  /**
   * Columns per Spark job (one child workflow each), in whole buckets: each job pays an application's start and its
   * fixed steps, so jobs follow the size of the extract and a small source is one job.
   */
  columnsPerJob: z.number().int().min(1).default(1_000_000),
  /** A fixed number of buckets per Spark job instead of `columnsPerJob` (tests use it to get several small jobs). */
  bucketsPerColumnsJob: z.number().int().min(1).max(4096).optional(),
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

/** What a run needs before it extracts, resolved once (prepareIngestRun) and carried through the whole run. */
export const PreparedRun = z.object({
  sourceType: SourceType,
  /** The last completed run of this connection: the baseline that added, updated and deleted are counted against. */
  previousRunId: RunId.nullable(),
});
export type PreparedRun = z.infer<typeof PreparedRun>;

/** One bucket of a run's containers, for the activity that loads it (loadContainerBucket). */
export const ContainerBucketInput = PreparedRun.extend({
  tenant: TenantId,
  connectionId: z.string(),
  runId: RunId,
  bucket: z.number().int().nonnegative(),
});
export type ContainerBucketInput = z.infer<typeof ContainerBucketInput>;

const Done = z.object({ done: z.number().int(), total: z.number().int() });

/** A Spark job of the run's columns, running now. */
const RunningColumnJob = z.object({
  workflowId: z.string(),
  /** The columns of its buckets. */
  columns: z.number().int(),
  /** What the job is doing and how many of its columns it has written so far, from its last heartbeat. */
  step: z.string().optional(),
  written: z.number().int().optional(),
});
export type RunningColumnJob = z.infer<typeof RunningColumnJob>;

/** What an ingestion run's workflow reports, live (its `progress` query), and returns at its end. */
export const IngestProgress = z
  .object({
    phase: z.enum(['preparing', 'extracting', 'containers', 'columns', 'completed', 'failed', 'cancelled']),
    /** True once every container is in the lake: from then on they can be queried. */
    containersReady: z.boolean().describe('Every container is in the lake: they can be queried'),
    containers: Done,
    /** `done` counts the columns of finished jobs; `running`, the jobs still at work and what they have written. */
    columns: Done.extend({ running: z.array(RunningColumnJob).optional() }),
    counts: CountsByType,
    continuedAsNew: z.number().int(),
  })
  .describe('What the run’s workflow reports, live');
export type IngestProgress = z.infer<typeof IngestProgress>;

// Runs: every run (skeleton or ingestion) has a row in PostgreSQL's `runs`, which its workflow keeps.

export const RunStatus = z.enum(['running', 'completed', 'failed', 'cancelled']);
export type RunStatus = z.infer<typeof RunStatus>;

/** A run's row as its workflow records it (recordRun); recording the same state twice changes nothing. */
export const RunRecord = z.object({
  tenant: TenantId,
  runId: RunId,
  kind: z.enum(['skeleton', 'ingest']),
  workflowId: z.string(),
  connectionId: z.string().optional(),
  status: RunStatus,
  counts: z.record(z.string(), z.unknown()),
  /** Why a failed run failed. */
  error: z.string().optional(),
  /** Who started the run; a record without it keeps the one already there. */
  requestedBy: z.string().optional(),
  /** When its containers were all in the lake (an ingestion's end records it, for the containers-ready metric). */
  containersReadyAt: z.iso.datetime().optional(),
});
export type RunRecord = z.infer<typeof RunRecord>;

/** What the Spark jobs print as their last line, for the activity that submitted them. */
export const SparkJobResult = z.object({
  written: z.number().int().nonnegative(),
  rejected: z.number().int().nonnegative(),
  counts: CountsByType.optional(),
});
export type SparkJobResult = z.infer<typeof SparkJobResult>;

/** Where a running Spark job stands, as it says every few seconds (spark/job_progress.py). */
export const SparkJobProgress = z.object({
  step: z.string().max(100),
  /** Rows the step's writes have put so far, as Spark last reported them. */
  rowsWritten: z.number().int().nonnegative(),
  /** Rows the step writes in all; 0 when it does not say (a step that writes no rows, or not to Cassandra). */
  rowsToWrite: z.number().int().nonnegative(),
  tasksDone: z.number().int().nonnegative(),
  tasks: z.number().int().nonnegative(),
});
export type SparkJobProgress = z.infer<typeof SparkJobProgress>;

/** What the Spark activity heartbeats: the Web UI shows it on the pending activity, and the run's progress reads it. */
export const SparkJobHeartbeat = z.object({
  elapsedMs: z.number().int().nonnegative(),
  progress: SparkJobProgress.optional(),
});
export type SparkJobHeartbeat = z.infer<typeof SparkJobHeartbeat>;
