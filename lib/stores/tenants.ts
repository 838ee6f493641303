import type pg from 'pg';
import { TenantId } from '../platform/ids.js';

export interface Tenant {
  tenant: string;
  displayName: string;
  createdAt: Date;
  updatedAt: Date;
  suspendedAt: Date | null;
}

const TENANT_FIELDS = `tenant, display_name AS "displayName", created_at AS "createdAt", updated_at AS "updatedAt",
  suspended_at AS "suspendedAt"`;

/** Creates a tenant; undefined when it exists already (the caller says so rather than changing it). */
export async function createTenant(pool: pg.Pool, tenant: string, displayName: string): Promise<Tenant | undefined> {
  const { rows } = await pool.query<Tenant>(
    `INSERT INTO tenants (tenant, display_name) VALUES ($1, $2) ON CONFLICT (tenant) DO NOTHING
     RETURNING ${TENANT_FIELDS}`,
    [TenantId.parse(tenant), displayName],
  );
  return rows[0];
}

/**
 * Takes back a tenant that onboarding created moments ago and could not finish (Kafka was not reachable), so the
 * same request can be made again. Nothing else refers to it yet.
 */
export async function deleteNewTenant(pool: pg.Pool, tenant: string): Promise<void> {
  await pool.query('DELETE FROM tenants WHERE tenant = $1', [tenant]);
}

export async function getTenant(pool: pg.Pool, tenant: string): Promise<Tenant | undefined> {
  const { rows } = await pool.query<Tenant>(`SELECT ${TENANT_FIELDS} FROM tenants WHERE tenant = $1`, [tenant]);
  return rows[0];
}

/** A page of tenants in id order, after `after` (the last id of the previous page). */
export async function listTenants(pool: pg.Pool, limit: number, after?: string): Promise<Tenant[]> {
  const { rows } = await pool.query<Tenant>(
    `SELECT ${TENANT_FIELDS} FROM tenants WHERE tenant > $1 ORDER BY tenant LIMIT $2`,
    [after ?? '', limit],
  );
  return rows;
}

/** Renames, suspends or resumes a tenant; undefined when there is no such tenant. */
export async function updateTenant(
  pool: pg.Pool,
  tenant: string,
  change: { displayName?: string | undefined; suspended?: boolean | undefined },
): Promise<Tenant | undefined> {
  const { rows } = await pool.query<Tenant>(
    `UPDATE tenants SET display_name = coalesce($2, display_name),
        suspended_at = CASE WHEN $3::boolean IS NULL THEN suspended_at
                            WHEN $3 THEN coalesce(suspended_at, now()) END,
        updated_at = now()
      WHERE tenant = $1 RETURNING ${TENANT_FIELDS}`,
    [tenant, change.displayName ?? null, change.suspended ?? null],
  );
  return rows[0];
}

/** Registers a tenant (again: the display name is updated). */
export async function saveTenant(pool: pg.Pool, tenant: string, displayName = tenant): Promise<void> {
  await pool.query(
    `INSERT INTO tenants (tenant, display_name) VALUES ($1, $2)
     ON CONFLICT (tenant) DO UPDATE SET display_name = EXCLUDED.display_name`,
    [TenantId.parse(tenant), displayName],
  );
}

export async function tenantExists(pool: pg.Pool, tenant: string): Promise<boolean> {
  const { rowCount } = await pool.query('SELECT 1 FROM tenants WHERE tenant = $1', [tenant]);
  return (rowCount ?? 0) > 0;
}

/**
 * Why a tenant's events are refused (unknown, or suspended by the operator), or undefined for an active tenant.
 * Answers are cached per process for `cacheMs`, so a consumer does not ask PostgreSQL for every message; a
 * suspension reaches every consumer within that window.
 */
export function tenantGate(pool: pg.Pool, cacheMs = 10_000) {
  const cache = new Map<string, { refusal: string | undefined; until: number }>();
  return async function refusalFor(tenant: string): Promise<string | undefined> {
    const cached = cache.get(tenant);
    if (cached && cached.until > Date.now()) return cached.refusal;
    const { rows } = await pool.query<{ suspended: boolean }>(
      'SELECT suspended_at IS NOT NULL AS suspended FROM tenants WHERE tenant = $1',
      [tenant],
    );
    const refusal = !rows[0]
      ? `unknown tenant ${JSON.stringify(tenant)}`
      : rows[0].suspended
        ? `tenant ${JSON.stringify(tenant)} is suspended: its events are kept here until it is resumed`
        : undefined;
    if (cache.size > 10_000) cache.clear();
    cache.set(tenant, { refusal, until: Date.now() + cacheMs });
    return refusal;
  };
}
