import type { TenantId } from './ids.js';

/** The S3 key layout: every object lives under its tenant's prefix, so a tenant's data can be listed or removed whole. */

export const tenantPrefix = (tenant: TenantId): string => `tenants/${tenant}/`;

/**
 * Where a tenant puts its estate dumps (uploads through the API's presigned URLs), and the only part of MetaSync's
 * bucket an NDJSON connection may name. It is apart from what MetaSync writes under the tenant's prefix (runs,
 * states, dead letters), so an upload can never overwrite those, nor a dump connection read them.
 */
export const dumpsPrefix = (tenant: TenantId): string => `${tenantPrefix(tenant)}dumps/`;

export const skeletonObjectKey = (tenant: TenantId, runId: string): string =>
  `${tenantPrefix(tenant)}runs/${runId}/skeleton/assets.ndjson.gz`;

/**
 * Rejected messages whose tenant could not be trusted are kept apart from every tenant's prefix. The key ends in
 * a digest of the content: a replayed message overwrites its own archive, while another message at the same
 * offset (a recreated topic, a reset broker) can never overwrite it.
 */
export const deadLetterKey = (
  tenant: TenantId | undefined,
  topic: string,
  partition: number,
  offset: string,
  contentDigest: string,
): string =>
  `${tenant ? tenantPrefix(tenant) : 'unattributed/'}dead-letters/${topic}/${partition}/${offset}-${contentDigest}.bin`;

/**
 * An ingestion run's objects. Raw extracts are bucketed by table: a table and its columns always share a bucket,
 * so each bucket can be loaded, and diffed against the same bucket of the previous run, on its own.
 *   runs/<run>/manifest.json                        what was extracted: counts and parts per bucket
 *   runs/<run>/rules.json                           the effective mapping rules the run applied
 *   runs/<run>/raw/<phase>/b<bucket>/part-<n>.ndjson.gz   RawRecord lines
 *   runs/<run>/state/<phase>/b<bucket>/...          qualified name, type and fingerprint of what the run loaded
 */
export type IngestPhase = 'containers' | 'columns';

export const connectionRunPrefix = (tenant: TenantId, connectionId: string, runId: string): string =>
  `${tenantPrefix(tenant)}connections/${connectionId}/runs/${runId}/`;

const bucketDir = (bucket: number): string => `b${String(bucket).padStart(5, '0')}`;

export const runObjectKeys = (tenant: TenantId, connectionId: string, runId: string) => {
  const prefix = connectionRunPrefix(tenant, connectionId, runId);
  return {
    prefix,
    manifest: `${prefix}manifest.json`,
    rules: `${prefix}rules.json`,
    rawPrefix: `${prefix}raw/`,
    rawBucketPrefix: (phase: IngestPhase, bucket: number) => `${prefix}raw/${phase}/${bucketDir(bucket)}/`,
    rawPart: (phase: IngestPhase, bucket: number, sequence: number) =>
      `${prefix}raw/${phase}/${bucketDir(bucket)}/part-${String(sequence).padStart(5, '0')}.ndjson.gz`,
    containerState: (bucket: number) => `${prefix}state/containers/${bucketDir(bucket)}/state.ndjson.gz`,
  };
};
