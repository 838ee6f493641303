import type pg from 'pg';
import { z } from 'zod';
import {
  SECRET_FIELDS,
  secretsOf,
  SourceConnection,
  sourceViews,
  type SourceConnectionInput,
} from '../extractors/registry.js';
import {
  noCounts,
  openSecret,
  resealed,
  sealSecret,
  type ResealCounts,
  type SealingKeys,
} from '../platform/secrets.js';

/** Creates or replaces a connection; says whether it was created, and how it may now be shown. */
export async function saveConnection(
  pool: pg.Pool,
  secretsKey: SealingKeys,
  tenant: string,
  connectionId: string,
  input: SourceConnectionInput,
): Promise<{ created: boolean; view: ConnectionView }> {
  const source = SourceConnection.parse(input);
  const stored: Record<string, unknown> = { ...source };
  for (const field of SECRET_FIELDS) {
    if (typeof stored[field] === 'string') stored[field] = sealSecret(stored[field], secretsKey);
  }
  // xmax is 0 on a row version no transaction has replaced: the insert's own, not an update's.
  const { rows } = await pool.query<ConnectionRow & { created: boolean }>(
    `INSERT INTO connections (tenant, connection_id, source_type, source) VALUES ($1, $2, $3, $4)
     ON CONFLICT (tenant, connection_id) DO UPDATE
       SET source_type = EXCLUDED.source_type, source = EXCLUDED.source, updated_at = now()
     RETURNING ${VIEW_COLUMNS}, xmax = 0 AS created`,
    [tenant, connectionId, source.type, JSON.stringify(stored)],
  );
  const row = rows[0]!;
  return { created: row.created, view: toView(row) };
}

/** The connection with its secrets opened; undefined when the tenant has no such connection. */
export async function loadConnection(
  pool: pg.Pool,
  secretsKey: SealingKeys,
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

/**
 * A connection as it may be shown: its settings without the secrets, and whether each secret is set (each source's
 * view, lib/extractors/<type>/). The objects stay strict and have no secret field, so a secret that slipped into
 * one fails loudly instead of being shown.
 */
export const ConnectionView = z.discriminatedUnion('type', sourceViews);
export type ConnectionView = z.infer<typeof ConnectionView>;

interface ConnectionRow {
  connection_id: string;
  source: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
}

function toView(row: ConnectionRow): ConnectionView {
  const settings = { ...row.source };
  const isSet = (field: string) => typeof settings[field] === 'string';
  // Every view says whether a password is set; a source's other secrets each have their own flag.
  const flags = Object.fromEntries(
    secretsOf(settings['type'])
      .filter((field) => field !== 'password')
      .map((field) => [`${field}Set`, isSet(field)]),
  );
  const passwordSet = isSet('password');
  for (const field of SECRET_FIELDS) delete settings[field];
  return ConnectionView.parse({
    ...settings,
    connectionId: row.connection_id,
    passwordSet,
    ...flags,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  });
}

const VIEW_COLUMNS = 'connection_id, source, created_at, updated_at';

/** Every connection of a tenant, without secrets, by connection id. */
export async function listConnections(pool: pg.Pool, tenant: string): Promise<ConnectionView[]> {
  const { rows } = await pool.query<ConnectionRow>(
    `SELECT ${VIEW_COLUMNS} FROM connections WHERE tenant = $1 ORDER BY connection_id`,
    [tenant],
  );
  return rows.map(toView);
}

/** One connection without secrets; undefined when the tenant has no such connection. */
export async function readConnection(
  pool: pg.Pool,
  tenant: string,
  connectionId: string,
): Promise<ConnectionView | undefined> {
  const { rows } = await pool.query<ConnectionRow>(
    `SELECT ${VIEW_COLUMNS} FROM connections WHERE tenant = $1 AND connection_id = $2`,
    [tenant, connectionId],
  );
  return rows[0] && toView(rows[0]);
}

/**
 * Deletes a connection unless a subscription of the tenant names it as its sink's (a postgres-enforcement sink
 * would fail on every change). One statement, so no subscription is counted against a connection half-deleted.
 */
export async function deleteConnection(
  pool: pg.Pool,
  tenant: string,
  connectionId: string,
): Promise<{ found: boolean; usedBy: string[] }> {
  const { rows } = await pool.query<{ found: boolean; used_by: string[] }>(
    `WITH users AS (
       SELECT subscription_id FROM subscriptions WHERE tenant = $1 AND spec #>> '{sink,connectionId}' = $2
     ), deleted AS (
       DELETE FROM connections WHERE tenant = $1 AND connection_id = $2 AND NOT EXISTS (SELECT FROM users)
       RETURNING connection_id
     )
     -- Every part of the statement sees the rows as they were before it: found is whether it existed.
     SELECT EXISTS (SELECT FROM connections WHERE tenant = $1 AND connection_id = $2) AS found,
            ARRAY(SELECT subscription_id FROM users ORDER BY subscription_id) AS used_by`,
    [tenant, connectionId],
  );
  const row = rows[0]!;
  return { found: row.found, usedBy: row.used_by };
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

/**
 * Seals every connection secret (of the given tenants, or all) under the current key: what a key rotation does to
 * connections. A row is updated only if its secret is still the one read, so a connection saved meanwhile is left
 * to the next pass; updated_at stays, since the connection itself did not change.
 */
export async function resealConnectionSecrets(
  pool: pg.Pool,
  keys: SealingKeys,
  tenants: readonly string[] | null,
): Promise<ResealCounts> {
  const counts = noCounts();
  let after: [string, string] = ['', ''];
  for (;;) {
    const { rows } = await pool.query<{ tenant: string; connection_id: string; source: Record<string, unknown> }>(
      `SELECT tenant, connection_id, source FROM connections
       WHERE (tenant, connection_id) > ($1, $2) AND ($3::text[] IS NULL OR tenant = ANY($3))
       ORDER BY tenant, connection_id LIMIT 500`,
      [...after, tenants],
    );
    for (const row of rows) {
      for (const field of SECRET_FIELDS) {
        const sealed = row.source[field];
        if (typeof sealed !== 'string') continue;
        const next = resealed(sealed, keys, counts);
        if (typeof next !== 'string') continue;
        const { rowCount } = await pool.query(
          `UPDATE connections SET source = jsonb_set(source, ARRAY[$3::text], to_jsonb($4::text))
           WHERE tenant = $1 AND connection_id = $2 AND source->>$3 = $5`,
          [row.tenant, row.connection_id, field, next, sealed],
        );
        if (rowCount === 1) counts.resealed += 1;
        else counts.changedMeanwhile += 1;
      }
    }
    if (rows.length < 500) return counts;
    const last = rows.at(-1)!;
    after = [last.tenant, last.connection_id];
  }
}
