import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { z } from 'zod';
import type { Config } from './config.js';
import { errorCode, errorMessage, networkFailure } from './extractors/errors.js';
import { postgresClientConfig } from './extractors/postgres.js';
import type {
  MysqlConnection,
  NdjsonConnection,
  PostgresConnection,
  SourceConnection,
} from './extractors/sourceConnection.js';

/**
 * Whether MetaSync can reach a source with the connection as configured, by connecting for real: what a person
 * setting one up wants to know before the first ingestion fails on it.
 */

export const ConnectionCheck = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    latencyMs: z.number().describe('Connecting and asking, in milliseconds'),
    serverVersion: z.string().nullable().describe('Null for a dump, which has no server'),
    details: z
      .record(z.string(), z.union([z.string(), z.number()]))
      .describe('What the user can see (schemas, tables) or the dump’s size and age'),
  }),
  z.object({
    ok: z.literal(false),
    latencyMs: z.number(),
    error: z.string().describe('What failed, and what to check'),
  }),
]);
export type ConnectionCheck = z.infer<typeof ConnectionCheck>;

export interface ConnectionCheckDeps {
  s3: S3Client;
  config: Pick<Config, 's3'>;
}

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
      return probePostgres(source);
    case 'mysql':
      return probeMysql(source);
    case 'ndjson':
      return probeDump(source, deps);
  }
}

/** $1: the schemas to read, or NULL for all but PostgreSQL's own: the scope the extractor reads. */
const PG_IN_SCOPE = `CASE WHEN $1::text[] IS NULL
  THEN n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  ELSE n.nspname = ANY ($1::text[]) END`;

// information_schema.tables lists only the tables the user holds some privilege on: what it can actually read.
const PG_PROBE_SQL = `
SELECT version() AS version,
       (SELECT count(*) FROM pg_namespace n WHERE ${PG_IN_SCOPE} AND has_schema_privilege(n.oid, 'USAGE'))::int AS schemas,
       (SELECT count(*) FROM information_schema.tables t JOIN pg_namespace n ON n.nspname = t.table_schema
        WHERE ${PG_IN_SCOPE})::int AS tables`;

async function probePostgres(source: PostgresConnection): Promise<Found> {
  const client = new pg.Client({
    ...postgresClientConfig(source, 'metasync-connection-check'),
    query_timeout: source.connectTimeoutSeconds * 1000,
  });
  // The check's own query reports a lost connection; without a listener, the stray event would end the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string; schemas: number; tables: number }>(PG_PROBE_SQL, [
      source.schemas ?? null,
    ]);
    const { version, schemas, tables } = rows[0]!;
    return { serverVersion: version, details: { database: source.database, schemas, tables } };
  } finally {
    await client.end().catch(() => undefined);
  }
}

const MYSQL_SYSTEM_DATABASES = ['mysql', 'information_schema', 'performance_schema', 'sys'];

async function probeMysql(source: MysqlConnection): Promise<Found> {
  const timeout = source.connectTimeoutSeconds * 1000;
  const connection = await mysql.createConnection({
    host: source.host,
    port: source.port,
    user: source.user,
    password: source.password,
    connectTimeout: timeout,
  });
  connection.on('error', () => undefined);
  let row: mysql.RowDataPacket;
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
  } catch (error) {
    connection.destroy();
    throw error;
  }
  // Servers count connections dropped without a goodbye as aborted: a sound one says goodbye.
  await connection.end();
  return {
    serverVersion: String(row['version']),
    details: { databases: Number(row['database_count']), tables: Number(row['table_count']) },
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
  const [bucket = '', ...key] = source.uri.slice('s3://'.length).split('/');
  // Extraction reads dumps from MetaSync's own bucket only (activities/index.ts): a check of another would mislead.
  if (bucket !== deps.config.s3.bucket) {
    throw new CheckFailure(`dumps are read from bucket ${deps.config.s3.bucket} only — upload it there`);
  }
  const head = await deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key.join('/') }), {
    abortSignal: AbortSignal.timeout(S3_TIMEOUT_MS),
  });
  return {
    serverVersion: null,
    details: {
      sizeBytes: head.ContentLength ?? 0,
      ...(head.LastModified && { lastModified: head.LastModified.toISOString() }),
    },
  };
}

const S3_TIMEOUT_MS = 10_000;

/** A failure the check itself found, worded already. */
class CheckFailure extends Error {}

const AUTHENTICATION = new Set([
  '28P01', // PostgreSQL invalid_password
  '28000', // PostgreSQL invalid_authorization_specification: no pg_hba.conf entry, unknown role
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_NOT_SUPPORTED_AUTH_MODE',
]);

const DUMP_FAILURES: Record<string, string> = {
  ENOENT: 'there is no such file — check the path',
  EACCES: 'permission denied — make the file readable by MetaSync',
  EPERM: 'permission denied — make the file readable by MetaSync',
  // HeadObject has no body, so S3 names its failures by HTTP status only.
  NotFound: 'there is no such object — check the bucket and key',
  NoSuchKey: 'there is no such object — check the bucket and key',
  NoSuchBucket: 'there is no such bucket — check the bucket name',
  Forbidden: 'access denied — grant s3:GetObject on it',
  AccessDenied: 'access denied — grant s3:GetObject on it',
  TimeoutError: `S3 did not answer within ${S3_TIMEOUT_MS / 1000} s — check the S3 endpoint`,
};

/**
 * What went wrong, said so that whoever configured the connection can act on it. The password is masked out of
 * the driver's words, in case a driver ever repeats it.
 */
export function failureMessage(error: unknown, source: SourceConnection): string {
  return mask(describe(error, source), 'password' in source ? source.password : '');
}

function describe(error: unknown, source: SourceConnection): string {
  if (source.type === 'ndjson') {
    if (error instanceof CheckFailure) return `cannot read ${source.uri}: ${error.message}`;
    const network = networkFailure(error);
    if (network) return `cannot reach S3 for ${source.uri}: ${network} — check the S3 endpoint and that it is running`;
    const name = error instanceof Error ? error.name : '';
    const known = DUMP_FAILURES[name] ?? DUMP_FAILURES[errorCode(error) ?? ''];
    return `cannot read ${source.uri}: ${known ?? errorMessage(error)}`;
  }
  const at = `${source.type === 'postgres' ? 'PostgreSQL' : 'MySQL'} at ${source.host}:${source.port}`;
  const code = errorCode(error);
  const message = errorMessage(error);
  if (code === 'ETIMEDOUT' || (code === undefined && /timeout|timed out/i.test(message))) {
    return `cannot reach ${at}: timed out after ${source.connectTimeoutSeconds} s — check host/port, firewalls and that the server is running`;
  }
  const network = networkFailure(error);
  if (network) return `cannot reach ${at}: ${network} — check host/port and that the server is running`;
  if (code && AUTHENTICATION.has(code)) {
    return `authentication failed at ${at} for user ${JSON.stringify(source.user)} (${message}) — check the user name and password`;
  }
  if (code === '3D000' && source.type === 'postgres') {
    return `${at} has no database ${JSON.stringify(source.database)} — check the database name`;
  }
  return `${at}: ${message}`;
}

/** Replaces every occurrence of the secret; a very short one would mask half the message, and guards little. */
export function mask(text: string, secret: string): string {
  return secret.length < 4 ? text : text.split(secret).join('***');
}
