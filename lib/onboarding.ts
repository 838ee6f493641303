import type pg from 'pg';
import { createApiKey, saveServiceAccount } from './stores/apiKeys.js';
import { createTenant, type Tenant } from './stores/tenants.js';

/** The account a new tenant's first admin key belongs to. */
export const FIRST_ADMIN_ACCOUNT = 'admin';

/**
 * Creates a tenant with an "admin" service account and its first admin key: the operator hands that key over,
 * and the tenant's administrators make every other account and key themselves. Undefined when the tenant exists.
 * The API's POST /v1/tenants and `npm run tenant -- create` both come here.
 */
export async function onboardTenant(
  pool: pg.Pool,
  input: { tenant: string; displayName: string; createdBy: string },
): Promise<{ tenant: Tenant; adminKey: { keyId: string; key: string; serviceAccount: string } } | undefined> {
  const tenant = await createTenant(pool, input.tenant, input.displayName);
  if (!tenant) return undefined;
  await saveServiceAccount(pool, {
    tenant: input.tenant,
    accountId: FIRST_ADMIN_ACCOUNT,
    description: 'created with the tenant',
  });
  const key = await createApiKey(pool, {
    tenant: input.tenant,
    serviceAccount: FIRST_ADMIN_ACCOUNT,
    name: `first admin key (by ${input.createdBy})`,
    scopes: ['admin'],
  });
  return { tenant, adminKey: { ...key, serviceAccount: FIRST_ADMIN_ACCOUNT } };
}
