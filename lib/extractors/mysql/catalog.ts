import mysql, { type Connection } from 'mysql2';
import type { RawRecord } from '../../ingest/contracts.js';
import { sourceFailure } from '../errors.js';
import { openingExtractor, validated, type Extractor, type ExtractorDeps, type OpenResources } from '../extractor.js';
import { mysqlClientConfig, SYSTEM_DATABASES, type MysqlConnection } from './connection.js';
import { mysqlFailure } from './failure.js';

/**
 * MySQL and MariaDB catalogs from information_schema, streamed row by row (mysql2 pauses the socket while the
 * consumer is busy), so memory stays flat whatever the estate; only the list of database names is held.
 *
 * Paths are [database, table, column] (MySQL's databases are its schemas); constraint records use the
 * constraint name as the last element. information_schema shows only what the user holds some privilege on: a
 * table the user has no privilege on is not listed. It is not transactional either: an object changed while
 * the catalog is read may be seen before or after the change.
 */

// Identifiers compare case-insensitively in information_schema, but table and database names are case-sensitive
// on Linux: BINARY makes the order (and the joins on table names) exact and the same on every run.
//
// Each per-database query names its database as a constant, so the server reads only that database's
// definitions. The joined information_schema tables are grouped in a derived table: grouping keeps the server
// from merging it into the outer query, so it is read for that database alone and joined through an index
// rather than scanned once per row.

const TABLES_SQL = `
SELECT t.TABLE_NAME AS name, t.TABLE_TYPE AS table_type, t.ENGINE AS engine, t.TABLE_ROWS AS row_count,
       t.TABLE_COMMENT AS comment, t.TABLE_COLLATION AS collation, v.view_definition
FROM information_schema.TABLES t
LEFT JOIN (SELECT BINARY TABLE_NAME AS table_key, MIN(VIEW_DEFINITION) AS view_definition
           FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? GROUP BY BINARY TABLE_NAME) v
  ON v.table_key = BINARY t.TABLE_NAME
WHERE t.TABLE_SCHEMA = ? AND t.TABLE_TYPE <> 'TEMPORARY'
ORDER BY BINARY t.TABLE_NAME`;

// One row per key column, in key order: consecutive rows of one constraint are gathered into one record.
const FOREIGN_KEYS_SQL = `
SELECT k.TABLE_NAME AS table_name, k.CONSTRAINT_NAME AS name, k.COLUMN_NAME AS column_name,
       k.REFERENCED_TABLE_SCHEMA AS referenced_database, k.REFERENCED_TABLE_NAME AS referenced_table,
       k.REFERENCED_COLUMN_NAME AS referenced_column, r.update_rule, r.delete_rule
FROM information_schema.KEY_COLUMN_USAGE k
JOIN (SELECT BINARY CONSTRAINT_NAME AS constraint_key, MIN(UPDATE_RULE) AS update_rule, MIN(DELETE_RULE) AS delete_rule
      FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = ? GROUP BY BINARY CONSTRAINT_NAME) r
  ON r.constraint_key = BINARY k.CONSTRAINT_NAME
WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
ORDER BY BINARY k.TABLE_NAME, BINARY k.CONSTRAINT_NAME, k.ORDINAL_POSITION`;

// COLUMN_KEY says 'PRI' also for a unique NOT NULL key standing in for a missing primary key: the primary key
// itself comes from KEY_COLUMN_USAGE. (Column names are case-insensitive in MySQL, so they are joined as such.)
const COLUMNS_SQL = `
SELECT c.TABLE_NAME AS table_name, c.COLUMN_NAME AS name, c.DATA_TYPE AS data_type, c.COLUMN_TYPE AS column_type,
       c.IS_NULLABLE AS is_nullable, c.COLUMN_DEFAULT AS column_default, c.ORDINAL_POSITION AS ordinal_position,
       c.COLUMN_COMMENT AS comment, c.COLUMN_KEY AS column_key, c.EXTRA AS extra,
       c.CHARACTER_SET_NAME AS character_set, c.COLLATION_NAME AS collation, k.position AS primary_key_position
FROM information_schema.COLUMNS c
LEFT JOIN (SELECT BINARY TABLE_NAME AS table_key, COLUMN_NAME AS column_name, MIN(ORDINAL_POSITION) AS position
           FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = ? AND CONSTRAINT_NAME = 'PRIMARY'
           GROUP BY BINARY TABLE_NAME, COLUMN_NAME) k
  ON k.table_key = BINARY c.TABLE_NAME AND k.column_name = c.COLUMN_NAME
WHERE c.TABLE_SCHEMA = ?
ORDER BY BINARY c.TABLE_NAME, c.ORDINAL_POSITION`;

/** information_schema's numbers are BIGINT UNSIGNED, which mysql2 may hand over as strings. */
type Count = number | string | null;

interface SchemaRow {
  SCHEMA_NAME: string;
  DEFAULT_CHARACTER_SET_NAME: string;
  DEFAULT_COLLATION_NAME: string;
  /** MariaDB only (10.5 and later). */
  SCHEMA_COMMENT?: string;
}
interface TableRow {
  name: string;
  table_type: string;
  engine: string | null;
  row_count: Count;
  comment: string;
  collation: string | null;
  view_definition: string | null;
}
interface ForeignKeyRow {
  table_name: string;
  name: string;
  column_name: string;
  referenced_database: string;
  referenced_table: string;
  referenced_column: string;
  update_rule: string;
  delete_rule: string;
}
interface ColumnRow {
  table_name: string;
  name: string;
  data_type: string;
  column_type: string;
  is_nullable: string;
  column_default: string | null;
  ordinal_position: Count;
  comment: string;
  column_key: string;
  extra: string;
  character_set: string | null;
  collation: string | null;
  primary_key_position: Count;
}

export function createMysqlExtractor(source: MysqlConnection, deps: ExtractorDeps): Extractor {
  return openingExtractor('mysql', (open) => validated(readCatalog(source, deps, open)));
}

async function* readCatalog(
  source: MysqlConnection,
  deps: ExtractorDeps,
  open: OpenResources,
): AsyncGenerator<RawRecord> {
  let connection: Connection | undefined;
  // A connection lost while the consumer is busy fails the next query too; remember why, to report that.
  let lost: unknown;
  let connected = false;
  // Servers count aborted connections, so an idle, sound session says goodbye; one stopped halfway (a query may
  // still be sending rows) or broken is simply dropped.
  let idle = false;
  const close = open.add(() => {
    if (connection) return idle && lost === undefined ? quit(connection) : connection.destroy();
  });
  try {
    connection = mysql.createConnection({
      ...(await mysqlClientConfig(source, deps.destinations)),
      charset: 'utf8mb4_general_ci',
      supportBigNumbers: true,
    });
    connection.on('error', (error: Error) => {
      lost = error;
    });
    const opened = connection;
    await new Promise<void>((resolve, reject) => opened.connect((error) => (error ? reject(error) : resolve())));
    connected = true;
    const [[server]] = await connection.promise().query<mysql.RowDataPacket[]>('SELECT VERSION() AS version');
    // USE tells a database that does not exist from one the user may not see, which information_schema does not.
    for (const database of source.databases ?? []) await connection.promise().query('USE ??', [database]);

    const databases: string[] = [];
    const scope = source.databases ? 'SCHEMA_NAME IN (?)' : 'SCHEMA_NAME NOT IN (?)';
    const schemataSql = `SELECT * FROM information_schema.SCHEMATA WHERE ${scope} ORDER BY BINARY SCHEMA_NAME`;
    for await (const row of rows<SchemaRow>(connection, schemataSql, [source.databases ?? SYSTEM_DATABASES])) {
      databases.push(row.SCHEMA_NAME);
      yield {
        kind: 'database',
        path: [row.SCHEMA_NAME],
        attributes: {
          character_set: row.DEFAULT_CHARACTER_SET_NAME,
          collation: row.DEFAULT_COLLATION_NAME,
          comment: row.SCHEMA_COMMENT || null,
          server_version: String(server?.['version']),
        },
      };
    }
    for (const database of databases) {
      for await (const row of rows<TableRow>(connection, TABLES_SQL, [database, database])) {
        yield tableRecord(database, row);
      }
    }
    for (const database of databases) yield* foreignKeys(connection, database);
    for (const database of databases) {
      for await (const row of rows<ColumnRow>(connection, COLUMNS_SQL, [database, database])) {
        yield columnRecord(database, row);
      }
    }
    idle = true;
  } catch (error) {
    idle = isStatementRefusal(error);
    throw sourceFailure(mysqlFailure, source, lost ?? error, connected);
  } finally {
    await close();
  }
}

function tableRecord(database: string, row: TableRow): RawRecord {
  const isView = row.table_type === 'VIEW';
  return {
    kind: isView ? 'view' : 'table',
    path: [database, row.name],
    attributes: {
      table_type: row.table_type,
      engine: row.engine,
      row_count: count(row.row_count),
      // A view cannot have a comment: MySQL shows 'VIEW' there (or, for a broken view, the error).
      comment: isView ? null : row.comment || null,
      collation: row.collation,
      view_definition: row.view_definition,
    },
  };
}

async function* foreignKeys(connection: Connection, database: string): AsyncGenerator<RawRecord> {
  let current: { first: ForeignKeyRow; columns: string[]; referenced: string[] } | undefined;
  const finished = (key: NonNullable<typeof current>): RawRecord => ({
    kind: 'foreign_key',
    path: [database, key.first.table_name, key.first.name],
    attributes: {
      // Lists are JSON arrays: names may contain commas, quotes or anything else.
      columns: JSON.stringify(key.columns),
      referenced_database: key.first.referenced_database,
      referenced_table: key.first.referenced_table,
      referenced_columns: JSON.stringify(key.referenced),
      update_rule: key.first.update_rule,
      delete_rule: key.first.delete_rule,
    },
  });
  for await (const row of rows<ForeignKeyRow>(connection, FOREIGN_KEYS_SQL, [database, database])) {
    if (current && (current.first.table_name !== row.table_name || current.first.name !== row.name)) {
      yield finished(current);
      current = undefined;
    }
    current ??= { first: row, columns: [], referenced: [] };
    current.columns.push(row.column_name);
    current.referenced.push(row.referenced_column);
  }
  if (current) yield finished(current);
}

function columnRecord(database: string, row: ColumnRow): RawRecord {
  const primaryKeyPosition = count(row.primary_key_position);
  return {
    kind: 'column',
    path: [database, row.table_name, row.name],
    attributes: {
      data_type: row.data_type,
      column_type: row.column_type,
      is_nullable: row.is_nullable === 'YES',
      // As the server reports it: MariaDB quotes string literals ('abc') and says NULL for a DEFAULT NULL.
      column_default: row.column_default,
      ordinal_position: count(row.ordinal_position),
      comment: row.comment || null,
      column_key: row.column_key || null,
      extra: row.extra || null,
      character_set: row.character_set,
      collation: row.collation,
      is_primary_key: primaryKeyPosition !== null,
      primary_key_position: primaryKeyPosition,
    },
  };
}

/** Says goodbye (COM_QUIT); drops the socket if the server does not take it. */
const quit = (connection: Connection) =>
  connection
    .promise()
    .end()
    .catch(() => connection.destroy());

/** The server refused one statement (an unknown database): the session itself is sound, unlike after a fatal error. */
function isStatementRefusal(error: unknown): boolean {
  const { sqlState, fatal } = (error ?? {}) as { sqlState?: unknown; fatal?: unknown };
  return typeof sqlState === 'string' && fatal !== true;
}

const count = (value: Count): number | null => (value === null ? null : Number(value));

/** Streams a query's rows; mysql2 stops reading the socket while the consumer is busy. */
async function* rows<Row>(connection: Connection, sql: string, values: unknown[]): AsyncGenerator<Row> {
  const stream = connection.query(sql, values).stream({ highWaterMark: 1_000 });
  try {
    for await (const row of stream as AsyncIterable<Row>) yield row;
  } finally {
    stream.destroy();
  }
}
