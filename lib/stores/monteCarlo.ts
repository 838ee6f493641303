import type pg from 'pg';
import { SourceType } from '../contracts.js';
import { openSecret, sealSecret } from '../secrets.js';

/** A tenant's Monte Carlo integration: the webhook secret, and which connection each Monte Carlo account is. */

export async function saveMonteCarloSecret(pool: pg.Pool, key: Buffer, tenant: string, secret: string) {
  await pool.query(
    `INSERT INTO webhook_secrets (tenant, provider, secret) VALUES ($1, 'monte-carlo', $2)
     ON CONFLICT (tenant, provider) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()`,
    [tenant, sealSecret(secret, key)],
  );
}

export async function loadMonteCarloSecret(pool: pg.Pool, key: Buffer, tenant: string): Promise<string | undefined> {
  const { rows } = await pool.query<{ secret: string }>(
    `SELECT secret FROM webhook_secrets WHERE tenant = $1 AND provider = 'monte-carlo'`,
    [tenant],
  );
  return rows[0] ? openSecret(rows[0].secret, key) : undefined;
}

export async function mapMonteCarloAccount(pool: pg.Pool, tenant: string, accountId: string, connectionId: string) {
  await pool.query(
    `INSERT INTO monte_carlo_accounts (tenant, account_id, connection_id) VALUES ($1, $2, $3)
     ON CONFLICT (tenant, account_id) DO UPDATE SET connection_id = EXCLUDED.connection_id`,
    [tenant, accountId, connectionId],
  );
}

/** The connection a Monte Carlo account's tables belong to, with its source type (which shapes qualified names). */
export async function connectionOfMonteCarloAccount(
  pool: pg.Pool,
  tenant: string,
  accountId: string,
): Promise<{ connectionId: string; sourceType: SourceType } | undefined> {
  const { rows } = await pool.query<{ connection_id: string; source_type: string }>(
    `SELECT a.connection_id, c.source_type FROM monte_carlo_accounts a
       JOIN connections c ON c.tenant = a.tenant AND c.connection_id = a.connection_id
     WHERE a.tenant = $1 AND a.account_id = $2`,
    [tenant, accountId],
  );
  const row = rows[0];
  return row ? { connectionId: row.connection_id, sourceType: SourceType.parse(row.source_type) } : undefined;
}
