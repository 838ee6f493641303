import { type RawRecord } from '../ingest/contracts.js';
import { LineageEdge } from './contracts.js';
import { qualifiedName } from '../mapping/qualifiedName.js';
import { columnName, relationName, type NamingContext } from './names.js';

/**
 * The lineage a source's catalog states (lib/extractors/): a view reads the relations its `lineage` records name,
 * column by column where the source knows the origin of a view column; a foreign key relates the referenced
 * columns to the referencing ones. Pure: the containers phase writes and diffs what this returns.
 */

export const catalogOrigin = (connectionId: string): string => `catalog:${connectionId}`;

export type StatedEdges =
  /** `owner` is the qualified name of what stated the edges (the foreign key, or the view). */
  { ok: true; edges: LineageEdge[]; owner: string } | { ok: false; reason: string; owner?: string };

class Problem extends Error {}

/** The edges a `lineage` or `foreign_key` record states; any other record states none. */
export function catalogEdges(record: RawRecord, context: NamingContext): StatedEdges {
  const owner =
    record.kind === 'foreign_key'
      ? qualifiedName(context, 'foreign_key', record.path, context.nameCase)
      : relationName(context, record.path);
  try {
    if (record.path.length < 2 || record.path.some((name) => name === '')) {
      throw new Problem(`a ${record.kind} record needs a path of at least 2 non-empty names`);
    }
    const edges =
      record.kind === 'foreign_key'
        ? foreignKeyEdges(record, context)
        : record.kind === 'lineage'
          ? viewEdges(record, context)
          : [];
    return { ok: true, edges: edges.filter((edge) => edge.upstream !== edge.downstream).map(checked), owner };
  } catch (error) {
    if (!(error instanceof Problem)) throw error;
    return { ok: false, reason: `${record.kind} ${JSON.stringify(record.path)}: ${error.message}`, owner };
  }
}

/**
 * Referenced column -> referencing column, which holds copies of its values; and referenced table -> referencing
 * table, which does not propagate: the tables are related, one is not a copy of the other.
 */
function foreignKeyEdges(record: RawRecord, context: NamingContext): LineageEdge[] {
  const table = record.path.slice(0, -1);
  const referenced = relationPath(table, record.attributes, 'referenced');
  const pairs = columnPairs(record.attributes, 'columns', 'referenced_columns');
  const edge = { kind: 'foreign_key', origin: catalogOrigin(context.connectionId) } as const;
  const transformation = `foreign key ${record.path.at(-1)}`;
  return [
    {
      ...edge,
      upstream: relationName(context, referenced),
      downstream: relationName(context, table),
      level: 'table',
      propagates: false,
      transformation,
      downstreamType: 'table',
    },
    ...pairs.map(([column, from]): LineageEdge => ({
      ...edge,
      upstream: columnName(context, referenced, from),
      downstream: columnName(context, table, column),
      level: 'column',
      propagates: true,
      transformation,
      downstreamType: 'column',
    })),
  ];
}

/** The relation read -> the view; and each view column that copies a column -> from that column. */
function viewEdges(record: RawRecord, context: NamingContext): LineageEdge[] {
  const view = record.path;
  const upstream = relationPath(view, record.attributes, 'upstream');
  const pairs = columnPairs(record.attributes, 'columns', 'upstream_columns');
  const type = record.attributes['downstream_type'];
  const edge = {
    kind: 'view',
    origin: catalogOrigin(context.connectionId),
    propagates: true,
    transformation: null,
  } as const;
  return [
    {
      ...edge,
      upstream: relationName(context, upstream),
      downstream: relationName(context, view),
      level: 'table',
      downstreamType: typeof type === 'string' && type !== '' ? type : 'view',
    },
    ...pairs.map(([column, from]): LineageEdge => ({
      ...edge,
      upstream: columnName(context, upstream, from),
      downstream: columnName(context, view, column),
      level: 'column',
      downstreamType: 'column',
    })),
  ];
}

/**
 * The path of the relation `<prefix>_table` names, beside the record's own relation: same depth, the schema from
 * `<prefix>_schema` when paths have one, the database from `<prefix>_database` when given (MySQL's keys name it).
 */
function relationPath(own: readonly string[], attributes: RawRecord['attributes'], prefix: string): string[] {
  const name = (suffix: string, required: boolean) => {
    const value = attributes[`${prefix}_${suffix}`];
    if (typeof value === 'string' && value !== '') return value;
    if (required || (value !== undefined && value !== null)) {
      throw new Problem(`${prefix}_${suffix} must be a non-empty name, got ${JSON.stringify(value ?? null)}`);
    }
    return undefined;
  };
  const path = [...own];
  path[path.length - 1] = name('table', true)!;
  if (path.length >= 3) path[path.length - 2] = name('schema', true)!;
  path[0] = name('database', false) ?? path[0]!;
  return path;
}

/** [own column, the column it comes from] pairs, from two JSON arrays of names read side by side. */
function columnPairs(attributes: RawRecord['attributes'], own: string, from: string): [string, string][] {
  const names = (attribute: string): string[] => {
    const text = attributes[attribute] ?? '[]';
    let value: unknown;
    try {
      value = typeof text === 'string' ? JSON.parse(text) : undefined;
    } catch {
      value = undefined;
    }
    if (!Array.isArray(value) || value.some((name) => typeof name !== 'string' || name === '')) {
      throw new Problem(`${attribute} must be a JSON array of non-empty names, got ${JSON.stringify(text)}`);
    }
    return value as string[];
  };
  const columns = names(own);
  const origins = names(from);
  if (columns.length !== origins.length) {
    throw new Problem(`${own} has ${columns.length} names but ${from} has ${origins.length}: they go in pairs`);
  }
  return columns.map((column, index) => [column, origins[index]!]);
}

/** Names too long for the lake's keys are refused here rather than by Cassandra. */
function checked(edge: LineageEdge): LineageEdge {
  const parsed = LineageEdge.safeParse(edge);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new Problem(`${issue.path.join('.')}: ${issue.message}`);
}
