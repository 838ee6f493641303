import type cassandra from 'cassandra-driver';
import type { LoadedAsset, Rejection } from '../ingest/contracts.js';
import { concurrentRunner } from './cql.js';

/** A database has no parent; the listing by parent keys it under the empty string (a partition key can't be null). */
export const ROOT_PARENT = '';

const UPSERT_ASSET = `INSERT INTO assets (tenant, qualified_name, asset_type, name, parent_qualified_name, data_type,
  source_data_type, nullable, default_value, ordinal, comment, tags, properties, fingerprint, connection_id, run_id,
  deleted, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, false, toTimestamp(now()))`;
const UPSERT_CHILD = `INSERT INTO assets_by_parent (tenant, parent_qualified_name, qualified_name, asset_type, name,
  ordinal, deleted) VALUES (?, ?, ?, ?, ?, ?, false)`;
const MARK_DELETED = `UPDATE assets SET deleted = true, run_id = ?, updated_at = toTimestamp(now())
  WHERE tenant = ? AND qualified_name = ?`;
const MARK_CHILD_DELETED = `UPDATE assets_by_parent SET deleted = true
  WHERE tenant = ? AND parent_qualified_name = ? AND qualified_name = ?`;
const INSERT_REJECTION = `INSERT INTO rejections (tenant, run_id, source_ref, kind, path, reason, record)
  VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** Writes to the metadata lake. Every statement is an upsert by primary key, so a retried load changes nothing. */
export function lakeWriter(client: cassandra.Client, concurrencyLevel = 64) {
  const run = concurrentRunner(client, concurrencyLevel);
  return {
    async upsertAssets(tenant: string, connectionId: string, runId: string, loaded: LoadedAsset[]): Promise<void> {
      await run(
        UPSERT_ASSET,
        loaded.map(({ asset: a, fingerprint }) => [
          tenant,
          a.qualifiedName,
          a.assetType,
          a.name,
          a.parentQualifiedName,
          a.dataType,
          a.sourceDataType,
          a.nullable,
          a.defaultValue,
          a.ordinal,
          a.comment,
          a.tags,
          a.properties,
          fingerprint,
          connectionId,
          runId,
        ]),
      );
      await run(
        UPSERT_CHILD,
        loaded.map(({ asset: a }) => [
          tenant,
          a.parentQualifiedName ?? ROOT_PARENT,
          a.qualifiedName,
          a.assetType,
          a.name,
          a.ordinal,
        ]),
      );
    },

    async markDeleted(tenant: string, runId: string, gone: { qualifiedName: string; parent: string | null }[]) {
      await run(
        MARK_DELETED,
        gone.map(({ qualifiedName }) => [runId, tenant, qualifiedName]),
      );
      await run(
        MARK_CHILD_DELETED,
        gone.map(({ qualifiedName, parent }) => [tenant, parent ?? ROOT_PARENT, qualifiedName]),
      );
    },

    async recordRejections(tenant: string, runId: string, rejections: Rejection[]): Promise<void> {
      await run(
        INSERT_REJECTION,
        rejections.map((r) => [tenant, runId, r.sourceRef, r.kind, r.path, r.reason, r.record]),
      );
    },
  };
}
export type LakeWriter = ReturnType<typeof lakeWriter>;

/** The asset's type, or null while the catalog does not have it. */
export async function readAssetType(
  client: cassandra.Client,
  tenant: string,
  qualifiedName: string,
): Promise<string | null> {
  const result = await client.execute(
    'SELECT asset_type, deleted FROM assets WHERE tenant = ? AND qualified_name = ?',
    [tenant, qualifiedName],
    { prepare: true },
  );
  const row = result.first();
  return row && row.get('deleted') !== true ? (row.get('asset_type') as string) : null;
}
