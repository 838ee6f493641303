import pg from 'pg';
import Cursor from 'pg-cursor';
import type { RawRecord } from '../../ingest/contracts.js';
import { ExtractionError, sourceFailure } from '../errors.js';
import { openingExtractor, validated, type Extractor, type ExtractorDeps, type OpenResources } from '../extractor.js';
import { postgresClientConfig, where, type PostgresConnection } from './connection.js';
import { postgresFailure } from './failure.js';

/**
 * PostgreSQL's catalog from pg_catalog, in one REPEATABLE READ snapshot (so a table dropped halfway through cannot
 * leave columns without their table), read through server-side cursors: memory stays flat whatever the estate.
 *
 * The catalog lists every object whatever the user's privileges: a table the user cannot SELECT is listed too.
 * Paths are [database, schema, table, column]; constraint records use the constraint name as the last element.
 * Lineage records (one per view and relation it reads) have the view's path.
 */

const BATCH_ROWS = 5_000;

/** $1: the schemas to read, or NULL for all but PostgreSQL's own (it reserves names starting with pg_). */
const IN_SCOPE = `CASE WHEN $1::text[] IS NULL
  THEN n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  ELSE n.nspname = ANY ($1::text[]) END`;

/** Tables, partitioned tables, views, materialized views and foreign tables: what has columns worth cataloguing. */
const RELATION_KINDS = `('r', 'p', 'v', 'm', 'f')`;

// Each query's column aliases are the attribute names of its records; path columns are split off in code.

const DATABASE_SQL = `
SELECT d.datname AS database, pg_get_userbyid(d.datdba) AS owner, pg_encoding_to_char(d.encoding) AS encoding,
       d.datcollate AS collation, shobj_description(d.oid, 'pg_database') AS comment,
       current_setting('server_version') AS server_version
FROM pg_database d WHERE d.datname = current_database()`;

const SCHEMAS_SQL = `
SELECT n.nspname AS schema, pg_get_userbyid(n.nspowner) AS owner, ds.description AS comment
FROM pg_namespace n
LEFT JOIN pg_description ds ON ds.objoid = n.oid AND ds.classoid = 'pg_namespace'::regclass AND ds.objsubid = 0
WHERE ${IN_SCOPE}
ORDER BY n.nspname`;

const RELATIONS_SQL = `
SELECT n.nspname AS schema, c.relname AS name, c.relkind::text AS relkind, pg_get_userbyid(c.relowner) AS owner,
       ds.description AS comment,
       CASE WHEN c.relkind IN ('r', 'p', 'm', 'f') AND c.reltuples >= 0 THEN c.reltuples::bigint::float8 END AS row_count,
       c.relispartition AS is_partition, pn.nspname AS partition_of_schema, pc.relname AS partition_of_table,
       CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END AS view_definition
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = 0
LEFT JOIN pg_inherits i ON c.relispartition AND i.inhrelid = c.oid
LEFT JOIN pg_class pc ON pc.oid = i.inhparent
LEFT JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE c.relkind IN ${RELATION_KINDS} AND ${IN_SCOPE}
ORDER BY n.nspname, c.relname`;

/** Key columns in key order, by name. */
const keyColumns = (relation: string, keys: string) => `ARRAY(
  SELECT a.attname::text FROM unnest(${keys}) WITH ORDINALITY k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = ${relation} AND a.attnum = k.attnum ORDER BY k.ord)`;

const ACTIONS = `CASE $ WHEN 'a' THEN 'NO ACTION' WHEN 'r' THEN 'RESTRICT' WHEN 'c' THEN 'CASCADE'
  WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' END`;

// conparentid <> 0 marks the copies PostgreSQL makes of a partitioned table's keys on each partition: internal.
const FOREIGN_KEYS_SQL = `
SELECT n.nspname AS schema, c.relname AS table, con.conname AS name,
       ${keyColumns('con.conrelid', 'con.conkey')} AS columns,
       rn.nspname AS referenced_schema, rc.relname AS referenced_table,
       ${keyColumns('con.confrelid', 'con.confkey')} AS referenced_columns,
       ${ACTIONS.replace('$', 'con.confupdtype')} AS update_rule,
       ${ACTIONS.replace('$', 'con.confdeltype')} AS delete_rule
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_class rc ON rc.oid = con.confrelid
JOIN pg_namespace rn ON rn.oid = rc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0 AND ${IN_SCOPE}
ORDER BY n.nspname, c.relname, con.conname`;

/**
 * What each view and materialized view reads, one row per (view, relation read). The view's rewrite rule depends
 * (pg_depend) on every relation its query reads. Its query tree (ev_action) marks each output column that is a
 * plain column reference with its origin (resorigtbl, resorigcol); an expression has none. Subqueries have target
 * lists of their own, so only entries whose number and name are the view's own column's count.
 */
const VIEW_LINEAGE_SQL = String.raw`
WITH views AS (
  SELECT c.oid, n.nspname, c.relname, c.relkind, r.oid AS rule, r.ev_action::text AS action
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_rewrite r ON r.ev_class = c.oid AND r.rulename = '_RETURN'
  WHERE c.relkind IN ('v', 'm') AND ${IN_SCOPE}
),
origins AS (
  SELECT DISTINCT v.oid AS view, va.attnum, va.attname::text AS column, ua.attrelid AS upstream,
         ua.attname::text AS upstream_column
  FROM views v
  CROSS JOIN LATERAL regexp_matches(v.action,
    ':resno (\d+) :resname ((?:\\.|[^\s\\])+) :ressortgroupref \d+ :resorigtbl (\d+) :resorigcol (\d+)', 'g') m(t)
  JOIN pg_attribute va ON va.attrelid = v.oid AND va.attnum = m.t[1]::int2 AND NOT va.attisdropped
  JOIN pg_attribute ua ON ua.attrelid = m.t[3]::oid AND ua.attnum = m.t[4]::int2 AND NOT ua.attisdropped
  -- resname is written with a backslash before spaces, parentheses, braces and backslashes.
  WHERE m.t[3] <> '0' AND va.attname = regexp_replace(m.t[2], '\\(.)', '\1', 'g')
)
SELECT v.nspname AS schema, v.relname AS name,
       CASE v.relkind WHEN 'm' THEN 'materialized_view' ELSE 'view' END AS downstream_type,
       un.nspname AS upstream_schema, u.relname AS upstream_table,
       ARRAY(SELECT o.column FROM origins o WHERE o.view = v.oid AND o.upstream = u.oid
             ORDER BY o.attnum, o.upstream_column) AS columns,
       ARRAY(SELECT o.upstream_column FROM origins o WHERE o.view = v.oid AND o.upstream = u.oid
             ORDER BY o.attnum, o.upstream_column) AS upstream_columns
FROM views v
JOIN (SELECT DISTINCT objid, refobjid FROM pg_depend
      WHERE classid = 'pg_rewrite'::regclass AND refclassid = 'pg_class'::regclass AND deptype = 'n') d
  ON d.objid = v.rule
JOIN pg_class u ON u.oid = d.refobjid AND u.oid <> v.oid AND u.relkind IN ${RELATION_KINDS}
JOIN pg_namespace un ON un.oid = u.relnamespace
WHERE un.nspname !~ '^pg_' AND un.nspname <> 'information_schema'
ORDER BY v.nspname, v.relname, un.nspname, u.relname`;

// The default of a generated column is its expression, reported apart as information_schema does.
const COLUMNS_SQL = `
SELECT n.nspname AS schema, c.relname AS table, a.attname AS name,
       format_type(a.atttypid, a.atttypmod) AS data_type,
       NOT a.attnotnull AS is_nullable,
       CASE WHEN a.attgenerated = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS column_default,
       CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END AS generation_expression,
       a.attidentity <> '' AS is_identity,
       row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum)::int AS ordinal_position,
       ds.description AS comment,
       array_position(pk.conkey, a.attnum) IS NOT NULL AS is_primary_key,
       array_position(pk.conkey, a.attnum) AS primary_key_position
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
LEFT JOIN pg_description ds ON ds.objoid = c.oid AND ds.classoid = 'pg_class'::regclass AND ds.objsubid = a.attnum
LEFT JOIN pg_constraint pk ON pk.conrelid = c.oid AND pk.contype = 'p'
WHERE c.relkind IN ${RELATION_KINDS} AND a.attnum > 0 AND NOT a.attisdropped AND ${IN_SCOPE}
ORDER BY n.nspname, c.relname, a.attnum`;

type Value = string | number | boolean | null;
interface DatabaseRow extends Record<string, Value> {
  database: string;
}
interface SchemaRow extends Record<string, Value> {
  schema: string;
}
interface RelationRow extends Record<string, Value> {
  schema: string;
  name: string;
  relkind: string;
}
interface ForeignKeyRow {
  schema: string;
  table: string;
  name: string;
  columns: string[];
  referenced_schema: string;
  referenced_table: string;
  referenced_columns: string[];
  update_rule: string;
  delete_rule: string;
}
interface ViewLineageRow {
  schema: string;
  name: string;
  downstream_type: string;
  upstream_schema: string;
  upstream_table: string;
  columns: string[];
  upstream_columns: string[];
}
interface ColumnRow extends Record<string, Value> {
  schema: string;
  table: string;
  name: string;
}

const RELATION_KIND: Record<string, RawRecord['kind']> = { v: 'view', m: 'materialized_view' };

export function createPostgresExtractor(source: PostgresConnection, deps: ExtractorDeps): Extractor {
  return openingExtractor('postgres', (open) => validated(readCatalog(source, deps, open)));
}

async function* readCatalog(
  source: PostgresConnection,
  deps: ExtractorDeps,
  open: OpenResources,
): AsyncGenerator<RawRecord> {
  let client: pg.Client | undefined;
  // A connection lost while the consumer is busy fails the next read too; remember why, to report that.
  let lost: unknown;
  let connected = false;
  const close = open.add(() => client?.end().catch(() => undefined));
  try {
    client = new pg.Client({
      ...(await postgresClientConfig(source, 'metasync-extractor', deps.destinations)),
      keepAlive: true,
    });
    client.on('error', (error) => {
      lost = error;
    });
    await client.connect();
    connected = true;
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const schemas = source.schemas ?? null;
    if (schemas) await requireSchemas(client, source, schemas);

    let database = source.database;
    for await (const { database: name, ...attributes } of rows<DatabaseRow>(client, DATABASE_SQL, [])) {
      database = name;
      yield { kind: 'database', path: [name], attributes };
    }
    for await (const { schema, ...attributes } of rows<SchemaRow>(client, SCHEMAS_SQL, [schemas])) {
      yield { kind: 'schema', path: [database, schema], attributes };
    }
    for await (const { schema, name, ...attributes } of rows<RelationRow>(client, RELATIONS_SQL, [schemas])) {
      yield { kind: RELATION_KIND[attributes.relkind] ?? 'table', path: [database, schema, name], attributes };
    }
    for await (const row of rows<ForeignKeyRow>(client, FOREIGN_KEYS_SQL, [schemas])) {
      const { schema, table, name, columns, referenced_columns, ...rules } = row;
      yield {
        kind: 'foreign_key',
        path: [database, schema, table, name],
        // Lists are JSON arrays: names may contain commas, quotes or anything else.
        attributes: {
          ...rules,
          columns: JSON.stringify(columns),
          referenced_columns: JSON.stringify(referenced_columns),
        },
      };
    }
    for await (const row of rows<ViewLineageRow>(client, VIEW_LINEAGE_SQL, [schemas])) {
      const { schema, name, columns, upstream_columns, ...upstream } = row;
      yield {
        kind: 'lineage',
        path: [database, schema, name],
        attributes: {
          ...upstream,
          columns: JSON.stringify(columns),
          upstream_columns: JSON.stringify(upstream_columns),
        },
      };
    }
    for await (const { schema, table, name, ...attributes } of rows<ColumnRow>(client, COLUMNS_SQL, [schemas])) {
      yield { kind: 'column', path: [database, schema, table, name], attributes };
    }
    await client.query('COMMIT');
  } catch (error) {
    throw sourceFailure(postgresFailure, source, lost ?? error, connected);
  } finally {
    await close();
  }
}

/** Streams a query's rows through a server-side cursor, BATCH_ROWS at a time. */
async function* rows<Row>(client: pg.Client, sql: string, values: unknown[]): AsyncGenerator<Row> {
  const cursor = client.query(new Cursor<Row>(sql, values));
  try {
    for (;;) {
      const batch = await cursor.read(BATCH_ROWS);
      if (batch.length === 0) return;
      yield* batch;
    }
  } finally {
    await cursor.close().catch(() => undefined);
  }
}

async function requireSchemas(client: pg.Client, source: PostgresConnection, schemas: string[]): Promise<void> {
  const { rows: missing } = await client.query<{ name: string }>(
    'SELECT s AS name FROM unnest($1::text[]) s WHERE NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = s)',
    [schemas],
  );
  if (missing.length === 0) return;
  const names = missing.map(({ name }) => JSON.stringify(name)).join(', ');
  throw new ExtractionError(
    'not_found',
    `${where(source)}: database ${JSON.stringify(source.database)} has no schema ${names} — check the source's schemas`,
  );
}
