import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { type ChangeCounts } from '../ingest/contracts.js';
import { LineageEdge } from './contracts.js';
import { type TenantId } from '../platform/ids.js';
import type { RuleSet } from '../mapping/rules.js';
import { tenantPrefix } from '../platform/objectKeys.js';
import { objectStore } from '../platform/objectStore.js';
import type { LakeWriter } from '../stores/lake.js';
import type { LineageStore } from '../stores/lineage.js';
import { DbtError, readDbt } from './dbt.js';
import { diffEdges, edgeFingerprint, type EdgeState } from './edges.js';
import type { NamingContext } from './names.js';

/**
 * Where a project's imports live in S3, per tenant, connection and project:
 *   lineage/dbt/<connection>/<project>/imports/<import>/manifest.json|catalog.json   the artifacts as given
 *   lineage/dbt/<connection>/<project>/edges.ndjson.gz                              the last import's edges
 * The next import of the project diffs against that edge list, to delete the edges dbt no longer states.
 */
export const dbtObjectKeys = (tenant: TenantId, connectionId: string, project: string) => {
  const prefix = `${tenantPrefix(tenant)}lineage/dbt/${connectionId}/${encodeURIComponent(project)}/`;
  return {
    edges: `${prefix}edges.ndjson.gz`,
    artifact: (importId: string, file: string) => `${prefix}imports/${importId}/${file}`,
  };
};

export interface DbtImportInput {
  tenant: TenantId;
  connectionId: string;
  /** Names the import in S3 and in the lake's rejections (as a run id does). */
  importId: string;
  manifest: Buffer;
  catalog?: Buffer;
  naming: NamingContext;
  rules: RuleSet;
  project?: string;
}

export interface DbtImportResult {
  project: string;
  origin: string;
  edges: ChangeCounts;
  columns: { written: number; rejected: number };
  archived: string[];
}

/**
 * Imports a dbt project's lineage: validates the artifacts, archives them, writes the edges and deletes the ones
 * the previous import of the project stated and this one does not, upserts catalog.json's columns, and saves the
 * edge list for the next import. Saved last: an import that fails halfway is diffed against the one before it.
 */
export async function importDbt(
  deps: { s3: S3Client; bucket: string; lineage: LineageStore; lake: LakeWriter },
  input: DbtImportInput,
): Promise<DbtImportResult> {
  const json = (bytes: Buffer, file: string): unknown => {
    try {
      return JSON.parse(bytes.toString('utf8'));
    } catch (error) {
      throw new DbtError(`${file} is not JSON: ${(error as Error).message}`);
    }
  };
  const read = readDbt({
    manifest: json(input.manifest, 'manifest.json'),
    catalog: input.catalog && json(input.catalog, 'catalog.json'),
    naming: input.naming,
    rules: input.rules,
    project: input.project,
  });
  const keys = dbtObjectKeys(input.tenant, input.connectionId, read.project);
  const store = objectStore(deps.s3, deps.bucket);

  const artifacts: [string, Buffer | undefined][] = [
    ['manifest.json', input.manifest],
    ['catalog.json', input.catalog],
  ];
  const archived: string[] = [];
  for (const [file, body] of artifacts) {
    if (!body) continue;
    const key = keys.artifact(input.importId, file);
    await deps.s3.send(
      new PutObjectCommand({ Bucket: deps.bucket, Key: key, Body: body, ContentType: 'application/json' }),
    );
    archived.push(key);
  }

  const previous: EdgeState[] = [];
  if (await store.exists(keys.edges)) {
    for await (const line of store.lines(keys.edges)) {
      const edge = LineageEdge.parse(JSON.parse(line));
      previous.push({ ...edge, fingerprint: edgeFingerprint(edge) });
    }
  }
  const diff = diffEdges(previous, read.edges);
  await deps.lineage.upsertEdges(input.tenant, diff.changed);
  await deps.lineage.deleteEdges(input.tenant, diff.gone);
  await deps.lake.upsertAssets(input.tenant, input.connectionId, input.importId, read.columns);
  await deps.lake.recordRejections(
    input.tenant,
    input.importId,
    read.rejected.map(({ what, ref, reason, record }) => ({
      sourceRef: `${read.origin}:${ref}`,
      kind: what === 'column' ? 'column' : 'lineage',
      path: ref,
      reason,
      record: record.slice(0, 10_000),
    })),
  );
  await store.putNdjsonGz(
    keys.edges,
    read.edges.map((edge) => JSON.stringify(edge)),
  );
  return {
    project: read.project,
    origin: read.origin,
    edges: { ...diff.counts, rejected: read.rejected.filter(({ what }) => what !== 'column').length },
    columns: { written: read.columns.length, rejected: read.rejected.filter(({ what }) => what === 'column').length },
    archived,
  };
}
