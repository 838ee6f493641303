import { z } from 'zod';
import { AssetView } from '../lib/incidents/contracts.js';
import { errorResponses, QualifiedNameParam, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

/** An asset with its open and recent incidents, by qualified name. */
export function registerAssetRoutes(app: Api, deps: ApiDependencies): void {
  const response = { 200: AssetView, ...errorResponses() };

  // Qualified names hold '/' and ':', so the name is one path segment encoded with encodeURIComponent...
  app.get(
    '/v1/tenants/:tenant/assets/:qualifiedName',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['assets'],
        summary: 'An asset and its incidents',
        description: 'The qualified name is one path segment (encodeURIComponent); or pass it as ?name= instead.',
        params: TenantParams.extend({ qualifiedName: QualifiedNameParam }),
        response,
      },
    },
    (request) => deps.incidents.assetView(request.params.tenant, request.params.qualifiedName),
  );

  // ...or, where encoding a whole name into one segment is awkward (curl, proxies that decode %2F), a query string.
  app.get(
    '/v1/tenants/:tenant/assets',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['assets'],
        summary: 'An asset and its incidents, named in the query string',
        params: TenantParams,
        querystring: z.object({ name: QualifiedNameParam }),
        response,
      },
    },
    (request) => deps.incidents.assetView(request.params.tenant, request.query.name),
  );
}
