import {
  LineageEdge,
  type OpenLineageEventType,
  type OpenLineageInputField,
  type OpenLineageRunEvent,
} from './contracts.js';
import { openLineageNaming } from '../extractors/registry.js';
import { encodeSegment } from '../mapping/qualifiedName.js';
import type { RuleSet } from '../mapping/rules.js';
import type { ConnectionEndpoint } from '../stores/connections.js';
import { distinctEdges } from './edges.js';
import { columnName, namingContext, relationName } from './names.js';

/**
 * OpenLineage run events as lineage edges. Every input of a run flows into every output (table level), and the
 * output's columnLineage facet says which input columns each output column comes from (column level).
 *
 * Which events assert edges: COMPLETE (the run wrote its outputs) and RUNNING (a streaming job that never completes
 * is already writing them). START only announces what a run means to do, and may be followed by FAIL; FAIL, ABORT,
 * OTHER and events without a type assert nothing. Such events are still valid and accepted. Edges are added, never
 * retracted by a later run: a job that stops reading a dataset keeps its edge until someone removes it.
 *
 * Dataset names (OpenLineage's naming conventions): a PostgreSQL table is namespace `postgres://host:port`, name
 * `database.schema.table`; a MySQL one `mysql://host:port`, `database.table`. Such a dataset is named as ingestion
 * names it on the tenant's connection to that host and port (and database, for PostgreSQL), so the edges meet the
 * assets. Any other dataset, or one no connection matches, is `openlineage://<encoded namespace>/<encoded name>`
 * (each part percent-encoded as qualified name segments are), and its field `<that>/<encoded field>`.
 */

export const openLineageOrigin = (job: { namespace: string; name: string }): string =>
  `openlineage:${job.namespace}/${job.name}`;

const ASSERTING: ReadonlySet<OpenLineageEventType | undefined> = new Set(['COMPLETE', 'RUNNING']);

/** A dataset's qualified name, and its fields'. */
export interface DatasetNames {
  table: string;
  column(field: string): string;
}
export type DatasetResolver = (namespace: string, name: string) => DatasetNames;

export type OpenLineageEdges = { ok: true; edges: LineageEdge[] } | { ok: false; reason: string };

/** Names datasets as the tenant's connections name their tables (see the module's comment). */
export function datasetResolver(
  connections: readonly ConnectionEndpoint[],
  rules: Pick<RuleSet, 'sources'>,
): DatasetResolver {
  return (namespace, name) => {
    const matched = matchConnection(connections, namespace, name);
    if (matched) {
      const { connection, path } = matched;
      const naming = namingContext(connection.sourceType, connection.connectionId, rules);
      return { table: relationName(naming, path), column: (field) => columnName(naming, path, field) };
    }
    const table = `openlineage://${encodeSegment(namespace)}/${encodeSegment(name)}`;
    return { table, column: (field) => `${table}/${encodeSegment(field)}` };
  };
}

function matchConnection(connections: readonly ConnectionEndpoint[], namespace: string, name: string) {
  let url: URL;
  try {
    url = new URL(namespace);
  } catch {
    return undefined;
  }
  const naming = openLineageNaming(url.protocol);
  if (!naming || !url.hostname) return undefined;
  const port = url.port ? Number(url.port) : naming.defaultPort;
  // A table name may hold dots; the database and schema before it may not (OpenLineage does not quote them).
  const names = name.split('.');
  const containers = names.slice(0, naming.containers);
  const table = names.slice(naming.containers).join('.');
  if (containers.length < naming.containers || containers.includes('') || !table) return undefined;
  // A connection that reads one database (PostgreSQL's) names it; one that reads many (MySQL's) has none.
  const found = connections.find(
    (connection) =>
      connection.sourceType === naming.sourceType &&
      connection.host?.toLowerCase() === url.hostname.toLowerCase() &&
      connection.port === port &&
      (connection.database === null || connection.database === containers[0]),
  );
  return found && { connection: found, path: [...containers, table] };
}

/** The edges a run event asserts, or why they cannot be named (a name too long for the lake, say). */
export function openLineageEdges(event: OpenLineageRunEvent, resolve: DatasetResolver): OpenLineageEdges {
  if (!ASSERTING.has(event.eventType)) return { ok: true, edges: [] };
  const origin = openLineageOrigin(event.job);
  const edge = { kind: 'openlineage', origin } as const;
  const inputs = (event.inputs ?? []).map((dataset) => resolve(dataset.namespace, dataset.name));
  const stated: LineageEdge[] = [];
  for (const output of event.outputs ?? []) {
    const downstream = resolve(output.namespace, output.name);
    for (const input of inputs) {
      stated.push({
        ...edge,
        upstream: input.table,
        downstream: downstream.table,
        level: 'table',
        propagates: true,
        transformation: null,
        downstreamType: null,
      });
    }
    for (const [field, lineage] of Object.entries(output.facets?.columnLineage?.fields ?? {})) {
      const legacy = [lineage.transformationType, lineage.transformationDescription].filter(Boolean).join(': ');
      for (const input of lineage.inputFields) {
        stated.push({
          ...edge,
          upstream: resolve(input.namespace, input.name).column(input.field),
          downstream: downstream.column(field),
          level: 'column',
          propagates: copiesValues(input),
          transformation: describe(input) ?? (legacy || null),
          downstreamType: 'column',
        });
      }
    }
  }
  const edges = distinctEdges(stated.filter((e) => e.upstream !== e.downstream).map((e) => ({ edge: e }))).map(
    ({ edge: e }) => e,
  );
  for (const candidate of edges) {
    const parsed = LineageEdge.safeParse(candidate);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return {
        ok: false,
        reason: `a lineage edge of this event is invalid: ${issue.path.join('.')}: ${issue.message}`,
      };
    }
  }
  return { ok: true, edges };
}

/**
 * An output column holds (some of) an input column's values when a DIRECT transformation that does not mask them
 * derives it, or when the producer lists no transformations (older facets): only then does a classification follow.
 * INDIRECT inputs (filters, joins, group by, sort) shape which rows come out, not what they hold.
 */
function copiesValues(input: OpenLineageInputField): boolean {
  const transformations = input.transformations ?? [];
  return transformations.length === 0 || transformations.some((t) => t.type === 'DIRECT' && t.masking !== true);
}

function describe(input: OpenLineageInputField): string | null {
  const described = (input.transformations ?? []).map((t) =>
    [[t.type, t.subtype].filter(Boolean).join('/'), t.masking ? '(masking)' : '', t.description ?? '']
      .filter(Boolean)
      .join(' '),
  );
  return described.length ? described.join('; ') : null;
}
