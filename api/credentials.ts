import { z } from 'zod';
import {
  ApiKeyScope,
  createApiKey,
  listApiKeys,
  listServiceAccounts,
  revokeApiKey,
  saveServiceAccount,
  ServiceAccountId,
  ServiceAccountUnavailable,
  setServiceAccountDisabled,
  type ApiKeyInfo,
  type ServiceAccount,
} from '../lib/stores/apiKeys.js';
import { sendError } from './errors.js';
import { errorResponses, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

const iso = (date: Date | null) => date?.toISOString() ?? null;
const Timestamp = z.iso.datetime();

const ServiceAccountView = z.object({
  accountId: ServiceAccountId,
  description: z.string(),
  status: z.enum(['enabled', 'disabled']),
  createdAt: Timestamp,
  disabledAt: Timestamp.nullable(),
});
const accountView = (account: ServiceAccount): z.infer<typeof ServiceAccountView> => ({
  accountId: account.accountId,
  description: account.description,
  status: account.disabledAt ? 'disabled' : 'enabled',
  createdAt: account.createdAt.toISOString(),
  disabledAt: iso(account.disabledAt),
});

/** A key as listed: never the key itself, nor its hash. */
const KeyView = z.object({
  keyId: z.string(),
  serviceAccount: ServiceAccountId,
  name: z.string(),
  scopes: z.array(ApiKeyScope),
  status: z.enum(['active', 'expired', 'revoked']),
  createdAt: Timestamp,
  expiresAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
});
const keyView = (key: ApiKeyInfo): z.infer<typeof KeyView> => ({
  keyId: key.keyId,
  serviceAccount: key.serviceAccount,
  name: key.name,
  scopes: key.scopes,
  status: key.revokedAt ? 'revoked' : key.expiresAt && key.expiresAt <= new Date() ? 'expired' : 'active',
  createdAt: key.createdAt.toISOString(),
  expiresAt: iso(key.expiresAt),
  revokedAt: iso(key.revokedAt),
  lastUsedAt: iso(key.lastUsedAt),
});

const NewKey = z.strictObject({
  serviceAccount: ServiceAccountId.default('default').describe('The account the key speaks for (it must exist)'),
  name: z.string().trim().min(1).max(200).describe('What the key is for, e.g. "nightly dbt import"'),
  scopes: z.array(ApiKeyScope).min(1, 'a key needs at least one scope').describe('admin implies every scope'),
  expiresInDays: z.number().positive().max(3650).optional().describe('Default: the key does not expire'),
});

const KeyParams = TenantParams.extend({ keyId: z.string().regex(/^[0-9a-f]{16}$/, 'a key id is 16 hex digits') });
const AccountParams = TenantParams.extend({ accountId: ServiceAccountId });

/** A tenant's admin keys manage the tenant's service accounts and their API keys. */
export function registerCredentialRoutes(app: Api, deps: ApiDependencies): void {
  const { postgres } = deps;
  const admin = { scope: 'admin' as const };
  const tags = ['credentials'];

  app.get(
    '/v1/tenants/:tenant/service-accounts',
    {
      config: admin,
      schema: {
        tags,
        summary: 'List service accounts',
        params: TenantParams,
        response: { 200: z.object({ serviceAccounts: z.array(ServiceAccountView) }), ...errorResponses() },
      },
    },
    async (request) => ({
      serviceAccounts: (await listServiceAccounts(postgres, request.params.tenant)).map(accountView),
    }),
  );

  app.put(
    '/v1/tenants/:tenant/service-accounts/:accountId',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Create a service account (or update its description), and enable or disable it',
        description: 'Disabling refuses every key of the account at once; enabling lets them work again.',
        params: AccountParams,
        body: z.strictObject({
          description: z.string().max(1000).optional(),
          disabled: z.boolean().optional(),
        }),
        response: { 200: ServiceAccountView, ...errorResponses() },
      },
    },
    async (request) => {
      const { tenant, accountId } = request.params;
      const { description, disabled } = request.body;
      const saved = await saveServiceAccount(postgres, { tenant, accountId, description: description ?? '' });
      if (disabled === undefined) return accountView(saved);
      return accountView((await setServiceAccountDisabled(postgres, tenant, accountId, disabled))!);
    },
  );

  app.get(
    '/v1/tenants/:tenant/api-keys',
    {
      config: admin,
      schema: {
        tags,
        summary: 'List API keys (never the keys themselves)',
        params: TenantParams,
        response: { 200: z.object({ apiKeys: z.array(KeyView) }), ...errorResponses() },
      },
    },
    async (request) => ({ apiKeys: (await listApiKeys(postgres, request.params.tenant)).map(keyView) }),
  );

  app.post(
    '/v1/tenants/:tenant/api-keys',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Create an API key; the answer holds the key, shown this once',
        params: TenantParams,
        body: NewKey,
        response: {
          201: KeyView.extend({ key: z.string().describe('msk_<key id>_<secret>: keep it in a secret store') }),
          ...errorResponses(409),
        },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params;
      const { serviceAccount, name, scopes, expiresInDays } = request.body;
      const expiresAt = expiresInDays === undefined ? null : new Date(Date.now() + expiresInDays * 86_400_000);
      try {
        const { key, info } = await createApiKey(postgres, { tenant, serviceAccount, name, scopes, expiresAt });
        return reply.code(201).send({ ...keyView(info), key });
      } catch (error) {
        if (error instanceof ServiceAccountUnavailable) return sendError(reply, 409, error.message);
        throw error;
      }
    },
  );

  app.delete(
    '/v1/tenants/:tenant/api-keys/:keyId',
    {
      config: admin,
      schema: {
        tags,
        summary: 'Revoke an API key: every API process refuses it within seconds',
        params: KeyParams,
        response: { 204: z.null().describe('Revoked'), ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { tenant, keyId } = request.params;
      if (!(await revokeApiKey(postgres, tenant, keyId))) {
        return sendError(reply, 404, `tenant ${tenant} has no active key ${keyId}: GET /v1/tenants/${tenant}/api-keys`);
      }
      return reply.code(204).send(null);
    },
  );
}
