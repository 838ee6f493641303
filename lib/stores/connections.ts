import type pg from 'pg';
import { SourceConnection } from '../extractors/sourceConnection.js';
import { openSecret, sealSecret } from '../secrets.js';

/** The source fields that are secrets: sealed before they reach PostgreSQL, opened only where a source is read. */
const SECRET_FIELDS = ['password'] as const;

export async function saveConnection(
  pool: pg.Pool,
  secretsKey: Buffer,
  tenant: string,
  connectionId: string,
  source: SourceConnection,
): Promise<void> {
  const stored: Record<string, unknown> = { ...SourceConnection.parse(source) };
  for (const field of SECRET_FIELDS) {
    if (typeof stored[field] === 'string') stored[field] = sealSecret(stored[field], secretsKey);
  }
  await pool.query(
    `INSERT INTO connections (tenant, connection_id, source_type, source) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant, connection_id) DO UPDATE
       SET source_type = EXCLUDED.source_type, source = EXCLUDED.source, updated_at = now()`,
    [tenant, connectionId, source.type, JSON.stringify(stored)],
  );
}

/** The connection with its secrets opened; undefined when the tenant has no such connection. */
export async function loadConnection(
  pool: pg.Pool,
  secretsKey: Buffer,
  tenant: string,
  connectionId: string,
): Promise<SourceConnection | undefined> {
  const { rows } = await pool.query<{ source: Record<string, unknown> }>(
    'SELECT source FROM connections WHERE tenant = $1 AND connection_id = $2',
    [tenant, connectionId],
  );
  if (!rows[0]) return undefined;
  const source = { ...rows[0].source };
  for (const field of SECRET_FIELDS) {
    if (typeof source[field] === 'string') source[field] = openSecret(source[field], secretsKey);
  }
  return SourceConnection.parse(source);
}

/** Where a connection's source is, without its secrets: enough to recognize the source under another tool's name. */
export interface ConnectionEndpoint {
  connectionId: string;
  sourceType: SourceConnection['type'];
  /** Null for a source that is not a server (an NDJSON dump). */
  host: string | null;
  port: number | null;
  /** A PostgreSQL connection reads one database; MySQL's read many, so theirs is null. */
  database: string | null;
}

/** Every connection of a tenant, by connection id. */
export async function listConnectionEndpoints(pool: pg.Pool, tenant: string): Promise<ConnectionEndpoint[]> {
  const { rows } = await pool.query<ConnectionEndpoint>(
    `SELECT connection_id AS "connectionId", source_type AS "sourceType", source->>'host' AS host,
            (source->>'port')::int AS port, source->>'database' AS database
     FROM connections WHERE tenant = $1 ORDER BY connection_id`,
    [tenant],
  );
  return rows;
}
