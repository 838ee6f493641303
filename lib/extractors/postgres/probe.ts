import pg from 'pg';
import type { ExtractorDeps } from '../extractor.js';
import type { Probed } from '../source.js';
import { postgresClientConfig, type PostgresConnection } from './connection.js';

/** $1: the schemas to read, or NULL for all but PostgreSQL's own: the scope the extractor reads. */
const IN_SCOPE = `CASE WHEN $1::text[] IS NULL
  THEN n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
  ELSE n.nspname = ANY ($1::text[]) END`;

// information_schema.tables lists only the tables the user holds some privilege on: what it can actually read.
// pg_stat_ssl is what the server sees of this session's TLS.
const PROBE_SQL = `
SELECT version() AS version,
       (SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()) AS tls,
       (SELECT count(*) FROM pg_namespace n WHERE ${IN_SCOPE} AND has_schema_privilege(n.oid, 'USAGE'))::int AS schemas,
       (SELECT count(*) FROM information_schema.tables t JOIN pg_namespace n ON n.nspname = t.table_schema
        WHERE ${IN_SCOPE})::int AS tables`;

/** Connects as the extractor does, and counts the schemas and tables in its scope that the user can see. */
export async function probePostgres(source: PostgresConnection, deps: ExtractorDeps): Promise<Probed> {
  const client = new pg.Client({
    ...(await postgresClientConfig(source, 'metasync-connection-check', deps.destinations)),
    query_timeout: source.connectTimeoutSeconds * 1000,
  });
  // The probe's own query reports a lost connection; without a listener, the stray event would end the process.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const { rows } = await client.query<{ version: string; tls: string | null; schemas: number; tables: number }>(
      PROBE_SQL,
      [source.schemas ?? null],
    );
    const { version, tls, schemas, tables } = rows[0]!;
    return { serverVersion: version, details: { database: source.database, schemas, tables, tls: tls ?? 'off' } };
  } finally {
    await client.end().catch(() => undefined);
  }
}
