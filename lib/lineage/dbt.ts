import { z } from 'zod';
import type { LoadedAsset, RawRecord } from '../ingest/contracts.js';
import { DbtCatalog, DbtManifest, type DbtManifestNode, type DbtManifestSource, LineageEdge } from './contracts.js';
import { mapRecord } from '../mapping/mapRecord.js';
import type { RuleSet } from '../mapping/rules.js';
import { distinctEdges } from './edges.js';
import { relationName, tablePath, type NamingContext } from './names.js';

/**
 * A dbt project's lineage from its artifacts: manifest.json says which relation each model, seed and snapshot
 * builds from which (depends_on), catalog.json (optional) what columns the built relations have. Relations are named
 * as ingestion names them on the MetaSync connection the project builds into. An ephemeral model is no relation:
 * what it reads flows straight into the models that use it. Pure: lib/lineage/dbtImport.ts writes the result.
 */

export const dbtOrigin = (project: string): string => `dbt:${project}`;

/** Nodes that are relations in the database (when not ephemeral). */
const RELATION_TYPES = new Set(['model', 'seed', 'snapshot']);

export class DbtError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DbtError';
  }
}

export interface DbtRejection {
  /** A relation that cannot be named (so no edges to or from it), an edge, or a column of catalog.json. */
  what: 'relation' | 'edge' | 'column';
  ref: string;
  reason: string;
  record: string;
}

export interface DbtLineage {
  project: string;
  origin: string;
  edges: LineageEdge[];
  /** Columns of catalog.json as assets of the connection, mapped by its rules as ingestion maps them. */
  columns: LoadedAsset[];
  /** What could not be named or mapped, with the reason. */
  rejected: DbtRejection[];
}

/** Shown of a wrong artifact's issues: a wrong file (a catalog given as the manifest) has one per node. */
const MAX_ISSUES = 10;

function parseDbtArtifact<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { issues } = parsed.error;
  const shown = issues.slice(0, MAX_ISSUES).map((issue) => `  ${z.core.toDotPath(issue.path)}: ${issue.message}`);
  if (issues.length > MAX_ISSUES) shown.push(`  ...and ${issues.length - MAX_ISSUES} more`);
  throw new DbtError(`${what} is not a dbt ${what} this import reads:\n${shown.join('\n')}`);
}

export function readDbt(input: {
  manifest: unknown;
  catalog?: unknown;
  naming: NamingContext;
  rules: RuleSet;
  /** Overrides the manifest's project name. */
  project?: string;
}): DbtLineage {
  const manifest = parseDbtArtifact(DbtManifest, input.manifest, 'manifest.json');
  const catalog = input.catalog === undefined ? undefined : parseDbtArtifact(DbtCatalog, input.catalog, 'catalog.json');
  const project = input.project ?? manifest.metadata.project_name ?? manifest.metadata.project_id;
  if (!project) throw new DbtError('manifest.json has no metadata.project_name or project_id: name the project');
  const { naming } = input;
  const rejected: DbtRejection[] = [];

  // Undefined for a relation that cannot be named: it is rejected once, however many edges it has.
  const names = new Map<string, string | undefined>();
  const nameOf = (node: DbtManifestNode | DbtManifestSource, table: string): string | undefined => {
    if (names.has(node.unique_id)) return names.get(node.unique_id);
    if (naming.tableDepth === 3 && !node.database) {
      rejected.push({
        what: 'relation',
        ref: node.unique_id,
        reason: `${node.unique_id} has no database: a ${naming.sourceType} table is named database/schema/table`,
        record: JSON.stringify({ database: node.database, schema: node.schema, table }),
      });
      names.set(node.unique_id, undefined);
      return undefined;
    }
    const name = relationName(naming, tablePath(naming, node.database ?? '', node.schema, table));
    names.set(node.unique_id, name);
    return name;
  };
  const upstreamOf = (id: string, seen: Set<string>): string[] => {
    const source = manifest.sources[id];
    if (source) return [nameOf(source, source.identifier || source.name)].filter((name) => name !== undefined);
    const node = manifest.nodes[id];
    if (!node || !RELATION_TYPES.has(node.resource_type) || seen.has(id)) return [];
    if (node.config?.materialized !== 'ephemeral')
      return [nameOf(node, node.alias || node.name)].filter((n) => n !== undefined);
    seen.add(id);
    return (node.depends_on?.nodes ?? []).flatMap((parent) => upstreamOf(parent, seen));
  };

  const origin = dbtOrigin(project);
  const stated: { edge: LineageEdge }[] = [];
  for (const node of Object.values(manifest.nodes)) {
    const materialized = node.config?.materialized;
    if (!RELATION_TYPES.has(node.resource_type) || materialized === 'ephemeral') continue;
    const downstream = nameOf(node, node.alias || node.name);
    if (downstream === undefined) continue;
    for (const parent of node.depends_on?.nodes ?? []) {
      for (const upstream of upstreamOf(parent, new Set())) {
        if (upstream === downstream) continue;
        stated.push({
          edge: {
            upstream,
            downstream,
            level: 'table',
            kind: 'dbt',
            origin,
            propagates: true,
            transformation: `dbt ${node.unique_id}`,
            downstreamType: materialized === 'view' || materialized === 'materialized_view' ? materialized : 'table',
          },
        });
      }
    }
  }

  const columns: LoadedAsset[] = [];
  const source = input.rules.sources[naming.sourceType];
  const attribute = (field: 'dataType' | 'ordinal' | 'comment') => source.fields[field]?.from[0] ?? field;
  for (const [id, table] of Object.entries({ ...catalog?.nodes, ...catalog?.sources })) {
    const { database, schema, name } = table.metadata;
    const path = tablePath(naming, database ?? '', schema, name);
    for (const column of Object.values(table.columns)) {
      const record: RawRecord = {
        kind: 'column',
        path: [...path, column.name],
        attributes: {
          [attribute('dataType')]: column.type,
          [attribute('ordinal')]: column.index,
          [attribute('comment')]: column.comment ?? null,
        },
      };
      const mapped = mapRecord(record, naming, input.rules);
      if (mapped.ok) columns.push({ asset: mapped.asset, fingerprint: mapped.fingerprint });
      else
        rejected.push({
          what: 'column',
          ref: `${id}/${column.name}`,
          reason: mapped.reason,
          record: JSON.stringify(record),
        });
    }
  }

  const edges = distinctEdges(stated).flatMap(({ edge }) => {
    const parsed = LineageEdge.safeParse(edge);
    if (parsed.success) return [parsed.data];
    const issue = parsed.error.issues[0]!;
    const reason = `${issue.path.join('.')}: ${issue.message}`;
    rejected.push({ what: 'edge', ref: edge.transformation ?? '', reason, record: JSON.stringify(edge) });
    return [];
  });
  return { project, origin, edges, columns, rejected };
}
