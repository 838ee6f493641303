import type pg from 'pg';
import { TenantId } from '../contracts.js';

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
