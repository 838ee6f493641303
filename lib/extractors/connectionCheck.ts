import { HeadObjectCommand } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { z } from 'zod';
import { cannotConnect, errorMessage, ExtractionError } from './errors.js';
import type { ExtractorDeps } from './extractor.js';
import { mysqlClientConfig, mysqlFailure } from './mysql.js';
import { dumpFailure, openDump } from './ndjson.js';
import { postgresClientConfig, postgresFailure } from './postgres.js';
import type { MysqlConnection, NdjsonConnection, PostgresConnection, SourceConnection } from './sourceConnection.js';

/**
 * Whether MetaSync can reach a source with the connection as configured, by connecting for real: what a person
 * setting one up wants to know before the first ingestion fails on it. It connects as an ingestion run does (the
 * destination policy first, the same TLS, the same dump access rule) and fails with the run's own words, so a
 * failing check and a failing run say the same; a refused destination reads as one that does not answer.
 */

export const ConnectionCheck = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    latencyMs: z.number().describe('Connecting and asking, in milliseconds'),
    serverVersion: z.string().nullable().describe('Null for a dump, which has no server'),
    details: z
      .record(z.string(), z.union([z.string(), z.number()]))
      .describe(
        'What the user can see (schemas, tables), the session’s TLS version (or off), or the dump’s size and age',
      ),
  }),
  z.object({
    ok: z.literal(false),
    latencyMs: z.number(),
    error: z.string().describe('What failed, and what to check'),
  }),
]);
export type ConnectionCheck = z.infer<typeof ConnectionCheck>;

/** What an extractor is given: the tenant whose source it is, the destination policy, MetaSync's bucket. */
export type ConnectionCheckDeps = ExtractorDeps;

type Found = { serverVersion: string | null; details: Record<string, string | number> };

export async function checkConnection(source: SourceConnection, deps: ConnectionCheckDeps): Promise<ConnectionCheck> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  try {
    const found = await probe(source, deps);
    return { ok: true, latencyMs: latencyMs(), ...found };
  } catch (error) {
    return { ok: false, latencyMs: latencyMs(), error: failureMessage(error, source) };
  }
}

function probe(source: SourceConnection, deps: ConnectionCheckDeps): Promise<Found> {
  switch (source.type) {
    case 'postgres':
      return probePostgres(source, deps);
    case 'mysql':
      return probeMysql(source, deps);
    case 'ndjson':
      return probeDump(source, deps);
  }
}

/** $1: the schemas to read, or NULL for all but PostgreSQL's own: the scope the extractor reads. */
const PG_IN_SCOPE = `CASE WHEN $1::text[] IS NULL
  THEN n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  ELSE n.nspname = ANY ($1::text[]) END`;

// information_schema.tables lists only the tables the user holds some privilege on: what it can actually read.
// pg_stat_ssl is what the server sees of this session's TLS.
const PG_PROBE_SQL = `
SELECT version() AS version,
       (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls,
       (SELECT count(*) FROM pg_namespace n WHERE ${PG_IN_SCOPE} AND has_schema_privilege(n.oid, 'USAGE'))::int AS schemas,
       (SELECT count(*) FROM information_schema.tables t JOIN pg_namespace n ON n.nspname = t.table_schema
        WHERE ${PG_IN_SCOPE})::int AS tables`;

async function probePostgres(source: PostgresConnection, deps: ConnectionCheckDeps): Promise<Found> {
  const address = await deps.destinations.pin(source);
  const client = new pg.Client({
    ...postgresClientConfig(source, 'metasync-connection-check', address),
    query_timeout: source.connectTimeoutSeconds * 1000,
  });
  // The check's own query reports a lost connection; without a listener, the stray event would end the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string; tls: string | null; schemas: number; tables: number }>(
      PG_PROBE_SQL,
      [source.schemas ?? null],
    );
    const { version, tls, schemas, tables } = rows[0]!;
    return { serverVersion: version, details: { database: source.database, schemas, tables, tls: tls ?? 'off' } };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const MYSQL_SYSTEM_DATABASES = ['mysql', 'information_schema', 'performance_schema', 'sys'];

async function probeMysql(source: MysqlConnection, deps: ConnectionCheckDeps): Promise<Found> {
  const timeout = source.connectTimeoutSeconds * 1000;
  const address = await deps.destinations.pin(source);
  const connection = await mysql.createConnection(mysqlClientConfig(source, address));
  connection.on('error', () => undefined);
  let row: mysql.RowDataPacket;
  let tls: string;
  try {
    // information_schema shows only what the user holds some privilege on: what it can actually read.
    const scope = source.databases ? 'IN (?)' : 'NOT IN (?)';
    const names = source.databases ?? MYSQL_SYSTEM_DATABASES;
    const [rows] = await connection.query<mysql.RowDataPacket[]>({
      sql: `SELECT VERSION() AS version,
                   (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME ${scope}) AS database_count,
                   (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA ${scope}) AS table_count`,
      values: [names, names],
      timeout,
    });
    row = rows[0]!;
    // What the server sees of this session's TLS ('' without).
    const [status] = await connection.query<mysql.RowDataPacket[]>({
      sql: "SHOW SESSION STATUS LIKE 'Ssl_version'",
      timeout,
    });
    tls = String(status[0]?.['Value'] ?? '') || 'off';
  } catch (error) {
    connection.destroy();
    throw error;
  }
  // Servers count connections dropped without a goodbye as aborted: a sound one says goodbye.
  await connection.end();
  return {
    serverVersion: String(row['version']),
    details: { databases: Number(row['database_count']), tables: Number(row['table_count']), tls },
  };
}

/** A dump is there and readable: S3's HeadObject or the file's metadata, without reading it. */
async function probeDump(source: NdjsonConnection, deps: ConnectionCheckDeps): Promise<Found> {
  if (source.uri.startsWith('file://')) {
    const path = fileURLToPath(source.uri);
    const info = await stat(path);
    if (!info.isFile()) throw new CheckFailure('it is not a file — name a file');
    await access(path, constants.R_OK);
    return { serverVersion: null, details: { sizeBytes: info.size, lastModified: info.mtime.toISOString() } };
  }
  const dump = await openDump(source, deps);
  try {
    const head = await dump.client.send(new HeadObjectCommand({ Bucket: dump.bucket, Key: dump.key }), {
      abortSignal: AbortSignal.timeout(S3_TIMEOUT_MS),
    });
    return {
      serverVersion: null,
      details: {
        sizeBytes: head.ContentLength ?? 0,
        ...(head.LastModified && { lastModified: head.LastModified.toISOString() }),
      },
    };
  } finally {
    dump.close();
  }
}

const S3_TIMEOUT_MS = 10_000;

/** A failure the check itself found, worded already. */
class CheckFailure extends Error {}

/**
 * What went wrong, said so that whoever configured the connection can act on it. The password is masked out of
 * the driver's words, in case a driver ever repeats it.
 */
export function failureMessage(error: unknown, source: SourceConnection): string {
  return mask(describe(error, source), 'password' in source ? source.password : '');
}

function describe(error: unknown, source: SourceConnection): string {
  if (error instanceof CheckFailure && source.type === 'ndjson') return `cannot read ${source.uri}: ${error.message}`;
  if (error instanceof Error && error.name === 'TimeoutError' && source.type === 'ndjson') {
    return `cannot read ${source.uri}: S3 did not answer within ${S3_TIMEOUT_MS / 1000} s — check the S3 endpoint`;
  }
  // Until the probe's session is established, anything but the server's own answer reads as "cannot connect".
  const failure =
    source.type === 'postgres'
      ? postgresFailure(error, source, false)
      : source.type === 'mysql'
        ? mysqlFailure(error, source, false)
        : dumpFailure(error, source);
  if (failure instanceof ExtractionError) return failure.message;
  // A dump in MetaSync's own bucket or a local file: MetaSync's own systems, no tenant's destination.
  if (source.type === 'ndjson') return `cannot read ${source.uri}: ${errorMessage(error)}`;
  return cannotConnect(`${source.type === 'postgres' ? 'PostgreSQL' : 'MySQL'} at ${source.host}:${source.port}`);
}

/** Replaces every occurrence of the secret; a very short one would mask half the message, and guards little. */
export function mask(text: string, secret: string): string {
  return secret.length < 4 ? text : text.split(secret).join('***');
}
