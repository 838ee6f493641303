import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { TenantId } from '../platform/ids.js';

/** API keys of the HTTP API (schema/postgres/1764000007000_api_keys.sql). A key is `msk_<key id>_<secret>`. */

export const ApiKeyScope = z.enum(['ingest', 'read', 'annotate', 'admin']);
export type ApiKeyScope = z.infer<typeof ApiKeyScope>;

/** Who a verified key speaks for. */
export interface ApiPrincipal {
  keyId: string;
  tenant: string;
  serviceAccount: string;
  name: string;
  scopes: ApiKeyScope[];
}

export type ApiKeyRefusal = 'malformed' | 'unknown' | 'revoked' | 'expired' | 'disabled' | 'suspended';

export type ApiKeyVerification =
  | { ok: true; principal: ApiPrincipal }
  // keyId is set once the key id is found, so a log can name the key even when its secret was wrong.
  | { ok: false; reason: ApiKeyRefusal; keyId?: string };

export interface ApiKeyInfo {
  keyId: string;
  tenant: string;
  serviceAccount: string;
  name: string;
  scopes: ApiKeyScope[];
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  lastUsedAt: Date | null;
}

const PREFIX = 'msk_';
// The key id is hex, so the first '_' after the prefix ends it; the base64url secret may hold '_' itself.
const KEY_PATTERN = /^msk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function newApiKey(): { keyId: string; secret: string; key: string } {
  const keyId = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { keyId, secret, key: `${PREFIX}${keyId}_${secret}` };
}

export function parseApiKey(key: string): { keyId: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(key);
  return match?.[1] && match[2] ? { keyId: match[1], secret: match[2] } : undefined;
}

// The secret is 32 random bytes, so a fast hash is enough: there is no dictionary to run through it.
export const hashSecret = (secret: string): Buffer => createHash('sha256').update(secret).digest();

export function secretMatches(secret: string, hash: Buffer): boolean {
  const candidate = hashSecret(secret);
  return candidate.length === hash.length && timingSafeEqual(candidate, hash);
}

export const ServiceAccountId = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'a service account id is 1-63 lowercase letters, digits, - or _');

const NewKey = z.object({
  tenant: TenantId,
  serviceAccount: ServiceAccountId.default('default'),
  name: z.string().trim().min(1).max(200),
  scopes: z.array(ApiKeyScope).min(1, 'a key needs at least one scope'),
  expiresAt: z.date().nullable().default(null),
});

/**
 * Creates a key and returns it whole: this is the only time the plain key exists. The tenant must exist; its
 * "default" service account is made on first use, any other must have been made (and not disabled) before.
 * Throws ServiceAccountUnavailable when the account is missing or disabled.
 */
export async function createApiKey(
  pool: pg.Pool,
  input: z.input<typeof NewKey>,
): Promise<{ keyId: string; key: string; info: ApiKeyInfo }> {
  const { tenant, serviceAccount, name, scopes, expiresAt } = NewKey.parse(input);
  if (serviceAccount === 'default') await saveServiceAccount(pool, { tenant, accountId: 'default' });
  const { keyId, secret, key } = newApiKey();
  const { rows } = await pool.query<KeyRow>(
    `INSERT INTO api_keys (key_id, tenant, service_account, name, secret_hash, scopes, expires_at)
     SELECT $1, $2, $3, $4, $5, $6, $7 FROM service_accounts
      WHERE tenant = $2 AND account_id = $3 AND disabled_at IS NULL
     RETURNING ${KEY_INFO_COLUMNS}`,
    [keyId, tenant, serviceAccount, name, hashSecret(secret), [...new Set(scopes)], expiresAt],
  );
  if (!rows[0]) throw new ServiceAccountUnavailable(tenant, serviceAccount);
  return { keyId, key, info: toInfo(rows[0]) };
}

export class ServiceAccountUnavailable extends Error {
  constructor(tenant: string, accountId: string) {
    super(`tenant ${tenant} has no enabled service account ${JSON.stringify(accountId)}: create or enable it first`);
    this.name = 'ServiceAccountUnavailable';
  }
}

export interface ServiceAccount {
  tenant: string;
  accountId: string;
  description: string;
  createdAt: Date;
  disabledAt: Date | null;
}

const NewServiceAccount = z.object({
  tenant: TenantId,
  accountId: ServiceAccountId,
  description: z.string().max(1000).default(''),
});

/** Creates a service account; making it again updates its description and leaves its keys and state alone. */
export async function saveServiceAccount(
  pool: pg.Pool,
  input: z.input<typeof NewServiceAccount>,
): Promise<ServiceAccount> {
  const { tenant, accountId, description } = NewServiceAccount.parse(input);
  const { rows } = await pool.query<ServiceAccount>(
    `INSERT INTO service_accounts (tenant, account_id, description) VALUES ($1, $2, $3)
     ON CONFLICT (tenant, account_id) DO UPDATE
       SET description = CASE WHEN EXCLUDED.description = '' THEN service_accounts.description ELSE EXCLUDED.description END
     RETURNING ${SERVICE_ACCOUNT_FIELDS}`,
    [tenant, accountId, description],
  );
  return rows[0]!;
}

const SERVICE_ACCOUNT_FIELDS = `tenant, account_id AS "accountId", description, created_at AS "createdAt",
  disabled_at AS "disabledAt"`;

export async function listServiceAccounts(pool: pg.Pool, tenant: string): Promise<ServiceAccount[]> {
  const { rows } = await pool.query<ServiceAccount>(
    `SELECT ${SERVICE_ACCOUNT_FIELDS} FROM service_accounts WHERE tenant = $1 ORDER BY account_id`,
    [tenant],
  );
  return rows;
}

/** Disables (or enables again) a service account: all its keys stop (or resume) working. Undefined: no such account. */
export async function setServiceAccountDisabled(
  pool: pg.Pool,
  tenant: string,
  accountId: string,
  disabled: boolean,
): Promise<ServiceAccount | undefined> {
  const { rows } = await pool.query<ServiceAccount>(
    `UPDATE service_accounts SET disabled_at = CASE WHEN $3 THEN coalesce(disabled_at, now()) END
      WHERE tenant = $1 AND account_id = $2 RETURNING ${SERVICE_ACCOUNT_FIELDS}`,
    [tenant, accountId, disabled],
  );
  return rows[0];
}

interface KeyRow {
  key_id: string;
  tenant: string;
  service_account: string;
  name: string;
  secret_hash: Buffer;
  scopes: string[];
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

/** What a key's listing shows: everything but its hash. */
const KEY_INFO_COLUMNS =
  'key_id, tenant, service_account, name, scopes, created_at, expires_at, revoked_at, last_used_at';

/** A key row as the verifier reads it: with its account's and tenant's state. */
interface VerifiedRow extends KeyRow {
  account_disabled: boolean;
  tenant_suspended: boolean;
}

const toInfo = (row: KeyRow): ApiKeyInfo => ({
  keyId: row.key_id,
  tenant: row.tenant,
  serviceAccount: row.service_account,
  name: row.name,
  scopes: z.array(ApiKeyScope).parse(row.scopes),
  createdAt: row.created_at,
  expiresAt: row.expires_at,
  revokedAt: row.revoked_at,
  lastUsedAt: row.last_used_at,
});

export async function listApiKeys(pool: pg.Pool, tenant: string): Promise<ApiKeyInfo[]> {
  const { rows } = await pool.query<KeyRow>(
    `SELECT ${KEY_INFO_COLUMNS} FROM api_keys WHERE tenant = $1 ORDER BY created_at, key_id`,
    [tenant],
  );
  return rows.map(toInfo);
}

/** False when the tenant has no such key, or it was revoked already. */
export async function revokeApiKey(pool: pg.Pool, tenant: string, keyId: string): Promise<boolean> {
  const { rowCount } = await pool.query(
    'UPDATE api_keys SET revoked_at = now() WHERE tenant = $1 AND key_id = $2 AND revoked_at IS NULL',
    [tenant, keyId],
  );
  return (rowCount ?? 0) > 0;
}

/**
 * A revoked key keeps working for at most this long on each API process, the price of not reading PostgreSQL on
 * every request. Expiry is checked on every request, so an expired key stops at once.
 */
export const API_KEY_CACHE_MS = 5_000;
// Unknown key ids are cached too (so a flood of made-up keys doesn't reach PostgreSQL); this bounds the memory.
const MAX_CACHED_KEYS = 10_000;

/** Returns verifyApiKey(key), with its own cache of key rows (never of plain keys or secrets). */
export function apiKeyVerifier(pool: pg.Pool, cacheMs = API_KEY_CACHE_MS) {
  const cache = new Map<string, { row: VerifiedRow | undefined; until: number }>();

  async function load(keyId: string): Promise<{ row: VerifiedRow | undefined; fresh: boolean }> {
    const cached = cache.get(keyId);
    if (cached && cached.until > Date.now()) return { row: cached.row, fresh: false };
    const { rows } = await pool.query<VerifiedRow>(
      `SELECT k.key_id, k.tenant, k.service_account, k.name, k.secret_hash, k.scopes, k.created_at, k.expires_at,
              k.revoked_at, k.last_used_at, a.disabled_at IS NOT NULL AS account_disabled,
              t.suspended_at IS NOT NULL AS tenant_suspended
         FROM api_keys k
         JOIN service_accounts a ON a.tenant = k.tenant AND a.account_id = k.service_account
         JOIN tenants t ON t.tenant = k.tenant
        WHERE k.key_id = $1`,
      [keyId],
    );
    if (cache.size >= MAX_CACHED_KEYS) cache.clear();
    cache.set(keyId, { row: rows[0], until: Date.now() + cacheMs });
    return { row: rows[0], fresh: true };
  }

  return async function verifyApiKey(key: string): Promise<ApiKeyVerification> {
    const parsed = parseApiKey(key);
    if (!parsed) return { ok: false, reason: 'malformed' };
    const { row, fresh } = await load(parsed.keyId);
    if (!row) return { ok: false, reason: 'unknown' };
    // The secret is checked first, so only the key's holder learns that it was revoked or expired.
    if (!secretMatches(parsed.secret, row.secret_hash)) return { ok: false, reason: 'unknown', keyId: row.key_id };
    if (row.revoked_at) return { ok: false, reason: 'revoked', keyId: row.key_id };
    if (row.expires_at && row.expires_at.getTime() <= Date.now()) {
      return { ok: false, reason: 'expired', keyId: row.key_id };
    }
    if (row.tenant_suspended) return { ok: false, reason: 'suspended', keyId: row.key_id };
    if (row.account_disabled) return { ok: false, reason: 'disabled', keyId: row.key_id };
    // Written once per cache window at most, so last_used_at is exact to within that window.
    if (fresh) await pool.query('UPDATE api_keys SET last_used_at = now() WHERE key_id = $1', [row.key_id]);
    const { keyId, tenant, serviceAccount, name, scopes } = toInfo(row);
    return { ok: true, principal: { keyId, tenant, serviceAccount, name, scopes } };
  };
}
