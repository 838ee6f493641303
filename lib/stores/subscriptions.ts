import type pg from 'pg';
import { TenantId } from '../platform/ids.js';
import { sinkTopicProblem, Subscription, SubscriptionId, type SubscriptionInput } from '../subscriptions/contracts.js';

/** Subscriptions as data (`subscriptions`), and the delivery status workers/subscribers.ts keeps on each. */

/** A row as stored: its spec is checked by whoever runs it, so a spec edited by hand is reported, not trusted. */
export interface SubscriptionRow {
  tenant: string;
  id: string;
  spec: unknown;
  updatedAt: Date;
}

export interface SubscriptionStatus {
  tenant: string;
  id: string;
  sinkType: string;
  delivered: number;
  lastDeliveredAt: Date | null;
  lastError: string | null;
  lastErrorAt: Date | null;
  failingSince: Date | null;
  updatedAt: Date;
}

/** Creates or replaces a subscription; a new spec starts with a clean status (its consumer restarts with it). */
export async function saveSubscription(
  pool: pg.Pool,
  tenant: string,
  id: string,
  spec: SubscriptionInput,
): Promise<Subscription> {
  const parsed = Subscription.parse(spec);
  const problem = sinkTopicProblem(tenant, parsed.sink);
  if (problem) throw new Error(`invalid subscription: ${problem}`);
  await pool.query(
    `INSERT INTO subscriptions (tenant, subscription_id, spec) VALUES ($1, $2, $3)
     ON CONFLICT (tenant, subscription_id) DO UPDATE
       SET spec = EXCLUDED.spec, updated_at = now(), last_error = NULL, failing_since = NULL`,
    [TenantId.parse(tenant), SubscriptionId.parse(id), JSON.stringify(parsed)],
  );
  return parsed;
}

export async function deleteSubscription(pool: pg.Pool, tenant: string, id: string): Promise<boolean> {
  const { rowCount } = await pool.query('DELETE FROM subscriptions WHERE tenant = $1 AND subscription_id = $2', [
    tenant,
    id,
  ]);
  return (rowCount ?? 0) > 0;
}

export async function loadSubscriptions(pool: pg.Pool, tenants?: readonly string[]): Promise<SubscriptionRow[]> {
  const { rows } = await pool.query<{ tenant: string; subscription_id: string; spec: unknown; updated_at: Date }>(
    `SELECT tenant, subscription_id, spec, updated_at FROM subscriptions
     WHERE $1::text[] IS NULL OR tenant = ANY($1) ORDER BY tenant, subscription_id`,
    [tenants ?? null],
  );
  return rows.map((row) => ({
    tenant: row.tenant,
    id: row.subscription_id,
    spec: row.spec,
    updatedAt: row.updated_at,
  }));
}

export async function subscriptionStatuses(pool: pg.Pool, tenant?: string): Promise<SubscriptionStatus[]> {
  const { rows } = await pool.query<{
    tenant: string;
    subscription_id: string;
    sink_type: string | null;
    delivered: string;
    last_delivered_at: Date | null;
    last_error: string | null;
    last_error_at: Date | null;
    failing_since: Date | null;
    updated_at: Date;
  }>(
    `SELECT tenant, subscription_id, spec #>> '{sink,type}' AS sink_type, delivered, last_delivered_at, last_error,
            last_error_at, failing_since, updated_at
     FROM subscriptions WHERE $1::text IS NULL OR tenant = $1 ORDER BY tenant, subscription_id`,
    [tenant ?? null],
  );
  return rows.map((row) => ({
    tenant: row.tenant,
    id: row.subscription_id,
    sinkType: row.sink_type ?? '?',
    delivered: Number(row.delivered),
    lastDeliveredAt: row.last_delivered_at,
    lastError: row.last_error,
    lastErrorAt: row.last_error_at,
    failingSince: row.failing_since,
    updatedAt: row.updated_at,
  }));
}

export async function recordDelivered(pool: pg.Pool, tenant: string, id: string): Promise<void> {
  await pool.query(
    `UPDATE subscriptions SET delivered = delivered + 1, last_delivered_at = now(), last_error = NULL,
       failing_since = NULL WHERE tenant = $1 AND subscription_id = $2`,
    [tenant, id],
  );
}

/** The sink works again (last_error_at stays, as the time of the last failure). */
export async function recordRecovered(pool: pg.Pool, tenant: string, id: string): Promise<void> {
  await pool.query(
    'UPDATE subscriptions SET last_error = NULL, failing_since = NULL WHERE tenant = $1 AND subscription_id = $2',
    [tenant, id],
  );
}

export async function recordFailure(pool: pg.Pool, tenant: string, id: string, error: string): Promise<void> {
  await pool.query(
    `UPDATE subscriptions SET last_error = $3, last_error_at = now(), failing_since = coalesce(failing_since, now())
     WHERE tenant = $1 AND subscription_id = $2`,
    [tenant, id, error.slice(0, 4096)],
  );
}
