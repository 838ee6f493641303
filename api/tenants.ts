import { z } from 'zod';
import { TenantId } from '../lib/platform/ids.js';
import { onboardTenant } from '../control/onboarding.js';
import { getTenant, listTenants, updateTenant, type Tenant } from '../lib/stores/tenants.js';
import { log } from '../lib/platform/log.js';
import { sendError } from './errors.js';
import { refuseForNow } from './kafkaHandoff.js';
import { errorResponses, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

const TenantView = z.object({
  tenant: TenantId,
  displayName: z.string(),
  status: z.enum(['active', 'suspended']),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  suspendedAt: z.iso.datetime().nullable(),
});

const view = (tenant: Tenant): z.infer<typeof TenantView> => ({
  tenant: tenant.tenant,
  displayName: tenant.displayName,
  status: tenant.suspendedAt ? 'suspended' : 'active',
  createdAt: tenant.createdAt.toISOString(),
  updatedAt: tenant.updatedAt.toISOString(),
  suspendedAt: tenant.suspendedAt?.toISOString() ?? null,
});

const DisplayName = z.string().trim().min(1).max(200);

const NewTenant = z.strictObject({
  tenant: TenantId,
  displayName: DisplayName.optional().describe('Defaults to the tenant id'),
});

const Created = TenantView.extend({
  adminKey: z
    .object({ keyId: z.string(), key: z.string(), serviceAccount: z.string() })
    .describe('The tenant’s first admin key, shown this once: hand it to the tenant’s administrators'),
  kafka: z
    .object({
      bootstrapServers: z.array(z.string()),
      mechanism: z.literal('SCRAM-SHA-512'),
      username: z.string(),
      password: z.string(),
      inboundTopics: z.object({ commands: z.string(), incidents: z.string(), lineage: z.string() }),
      outboundTopic: z.string(),
      sinkTopicPrefix: z.string(),
      consumerGroupPrefix: z.string(),
    })
    .describe(
      'The tenant’s Kafka principal (SASL/SCRAM), shown this once: it may write only its inbound topics and read only its outbound and sink topics, in consumer groups of its prefix',
    ),
});

const TenantChange = z
  .strictObject({
    displayName: DisplayName.optional(),
    suspended: z
      .boolean()
      .optional()
      .describe('True refuses every key and inbound event of the tenant; its data is kept'),
  })
  .refine((change) => change.displayName !== undefined || change.suspended !== undefined, {
    message: 'say what to change: displayName, suspended, or both',
  });

const TenantPage = z.object({
  tenants: z.array(TenantView),
  nextPageToken: TenantId.nullable().describe('Pass it as pageToken for the next page; null on the last'),
});

/**
 * The tenant lifecycle, for the operator tenant's admin keys: they create, list, rename, suspend and resume
 * tenants, and see none of a tenant's data. A tenant's own keys read their tenant.
 */
export function registerTenantRoutes(app: Api, deps: ApiDependencies): void {
  const { config, postgres } = deps;
  const operator = { scope: 'operator' as const };

  app.post(
    '/v1/tenants',
    {
      config: operator,
      schema: {
        tags: ['tenants'],
        summary: 'Create a tenant and its first admin key',
        body: NewTenant,
        response: { 201: Created, ...errorResponses(409, 503) },
      },
    },
    async (request, reply) => {
      const { tenant, displayName } = request.body;
      const createdBy = `operator key ${request.apiKey!.keyId}`;
      let onboarded: Awaited<ReturnType<typeof onboardTenant>>;
      try {
        onboarded = await onboardTenant(postgres, config, { tenant, displayName: displayName ?? tenant, createdBy });
      } catch (error) {
        // Nothing was kept (onboarding takes the tenant back), so the same request can be made again.
        log.error('tenant not created: its Kafka topics and credential could not be made', {
          tenant,
          error: (error as Error).message,
        });
        return refuseForNow(
          reply,
          `tenant ${tenant} was not created: its Kafka topics and credential could not be made (${(error as Error).message}); nothing was kept, send the same request again later`,
        );
      }
      if (!onboarded) return sendError(reply, 409, `tenant ${tenant} exists already: choose another id`);
      return reply.code(201).send({ ...view(onboarded.tenant), adminKey: onboarded.adminKey, kafka: onboarded.kafka });
    },
  );

  app.get(
    '/v1/tenants',
    {
      config: operator,
      schema: {
        tags: ['tenants'],
        summary: 'List tenants, in id order',
        querystring: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          pageToken: TenantId.optional().describe('The nextPageToken of the previous page'),
        }),
        response: { 200: TenantPage, ...errorResponses() },
      },
    },
    async (request) => {
      const { limit, pageToken } = request.query;
      const page = await listTenants(postgres, limit + 1, pageToken);
      const tenants = page.slice(0, limit);
      return { tenants: tenants.map(view), nextPageToken: page.length > limit ? tenants.at(-1)!.tenant : null };
    },
  );

  app.patch(
    '/v1/tenants/:tenant',
    {
      config: operator,
      schema: {
        tags: ['tenants'],
        summary: 'Rename, suspend or resume a tenant',
        params: TenantParams,
        body: TenantChange,
        response: { 200: TenantView, ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params;
      if (tenant === deps.config.api.operatorTenant && request.body.suspended) {
        return sendError(reply, 409, 'the operator tenant cannot be suspended: nobody could resume it');
      }
      const updated = await updateTenant(postgres, tenant, request.body);
      return updated ? view(updated) : sendError(reply, 404, `no tenant ${tenant}`);
    },
  );

  app.get(
    '/v1/tenants/:tenant',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['tenants'],
        summary: 'The key’s own tenant',
        params: TenantParams,
        response: { 200: TenantView, ...errorResponses() },
      },
    },
    async (request) => view((await getTenant(postgres, request.params.tenant))!), // the key's tenant exists
  );
}
