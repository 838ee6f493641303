import type pg from 'pg';
import { SourceType } from '../ingest/contracts.js';
import {
  noCounts,
  openSecret,
  resealed,
  sealSecret,
  type ResealCounts,
  type SealingKeys,
} from '../platform/secrets.js';

/** A tenant's Monte Carlo integration: the webhook secret, and which connection each Monte Carlo account is. */

export async function saveMonteCarloSecret(pool: pg.Pool, key: SealingKeys, tenant: string, secret: string) {
  await pool.query(
    `INSERT INTO webhook_secrets (tenant, provider, secret) VALUES ($1, 'monte-carlo', $2)
     ON CONFLICT (tenant, provider) DO UPDATE SET secret = EXCLUDED.secret, updated_at = now()`,
    [tenant, sealSecret(secret, key)],
  );
}

export async function loadMonteCarloSecret(
  pool: pg.Pool,
  key: SealingKeys,
  tenant: string,
): Promise<string | undefined> {
  const { rows } = await pool.query<{ secret: string }>(
    `SELECT secret FROM webhook_secrets WHERE tenant = $1 AND provider = 'monte-carlo'`,
    [tenant],
  );
  return rows[0] ? openSecret(rows[0].secret, key) : undefined;
}

/** Seals every webhook secret (of the given tenants, or all) under the current key, as a key rotation does. */
export async function resealWebhookSecrets(
  pool: pg.Pool,
  keys: SealingKeys,
  tenants: readonly string[] | null,
): Promise<ResealCounts> {
  const counts = noCounts();
  let after: [string, string] = ['', ''];
  for (;;) {
    const { rows } = await pool.query<{ tenant: string; provider: string; secret: string }>(
      `SELECT tenant, provider, secret FROM webhook_secrets
       WHERE (tenant, provider) > ($1, $2) AND ($3::text[] IS NULL OR tenant = ANY($3))
       ORDER BY tenant, provider LIMIT 500`,
      [...after, tenants],
    );
    for (const row of rows) {
      const next = resealed(row.secret, keys, counts);
      if (typeof next !== 'string') continue;
      // Only if unchanged since it was read; updated_at stays: the secret itself is the same.
      const { rowCount } = await pool.query(
        'UPDATE webhook_secrets SET secret = $3 WHERE tenant = $1 AND provider = $2 AND secret = $4',
        [row.tenant, row.provider, next, row.secret],
      );
      if (rowCount === 1) counts.resealed += 1;
      else counts.changedMeanwhile += 1;
    }
    if (rows.length < 500) return counts;
    const last = rows.at(-1)!;
    after = [last.tenant, last.provider];
  }
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
