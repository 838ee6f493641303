import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { TenantId } from '../lib/contracts.js';
import { tenantExists } from '../lib/stores/tenants.js';
import type { Authenticate } from './auth.js';
import { sendError } from './errors.js';
import type { ApiDependencies } from './server.js';

/** `<sourceType>://<connection>/<path>` (lib/mapping/qualifiedName.ts); checked so a bare table name gets a hint. */
const QualifiedName = z
  .string()
  .max(16_384)
  .regex(
    /^[a-z][a-z0-9+.-]*:\/\/[^/]+\/.+$/,
    'expected a qualified name such as postgres://warehouse/sales/public/orders',
  );

const TenantParams = z.object({ tenant: z.string() });
const Params = TenantParams.extend({ qualifiedName: QualifiedName });
const Query = z.object({ name: QualifiedName });

export function registerAssetRoutes(app: FastifyInstance, deps: ApiDependencies, auth: Authenticate): void {
  const preHandler = auth('read');

  async function answer(reply: FastifyReply, tenantText: string, qualifiedName: string) {
    const tenant = TenantId.safeParse(tenantText);
    if (!tenant.success || !(await tenantExists(deps.postgres, tenant.data))) {
      return sendError(reply, 404, `unknown tenant ${JSON.stringify(tenantText)}: check the tenant in the URL`);
    }
    return reply.send(await deps.incidents.assetView(tenant.data, qualifiedName));
  }

  // Qualified names hold '/' and ':', so the name is one path segment encoded with encodeURIComponent...
  app.get('/v1/tenants/:tenant/assets/:qualifiedName', { preHandler }, async (request, reply) => {
    const params = Params.safeParse(request.params);
    if (!params.success) {
      return sendError(
        reply,
        400,
        `${z.prettifyError(params.error)}; encode it as one path segment (encodeURIComponent) or pass it as ?name=`,
      );
    }
    return answer(reply, params.data.tenant, params.data.qualifiedName);
  });

  // ...or, where encoding a whole name into one segment is awkward (curl, proxies that decode %2F), a query string.
  app.get('/v1/tenants/:tenant/assets', { preHandler }, async (request, reply) => {
    const params = TenantParams.parse(request.params); // the router always fills it
    const query = Query.safeParse(request.query);
    if (!query.success) {
      return sendError(
        reply,
        400,
        `${z.prettifyError(query.error)}; pass the qualified name URL-encoded as ?name=, e.g. ?name=postgres%3A%2F%2Fwarehouse%2Fsales%2Fpublic%2Forders`,
      );
    }
    return answer(reply, params.tenant, query.data.name);
  });
}
