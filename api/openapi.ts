import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
} from 'fastify-type-provider-zod';

/**
 * Routes validate with their zod schemas (fastify-type-provider-zod) and the same schemas become the OpenAPI
 * document (@fastify/swagger), served at /openapi.json with a browsable copy at /docs. Both must be in place
 * before any route is added, so buildApi calls this first.
 */
export async function registerOpenApi(app: FastifyInstance, version: string): Promise<void> {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'MetaSync API',
        version,
        description:
          'The control plane and read API of MetaSync. Every route under /v1/tenants/{tenant} takes an API key of that tenant ' +
          '(`Authorization: Bearer msk_...`) with the scope the route names; the operator routes take an admin key of the operator tenant.',
      },
      components: {
        securitySchemes: { apiKey: { type: 'http', scheme: 'bearer', description: 'msk_<key id>_<secret>' } },
      },
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true }, config: { scope: 'public' } }, () => app.swagger());
}

/**
 * For routes that must see a request as it was sent (to check its signature, or to dead-letter it byte for byte):
 * their schemas document them, and the handler checks the request itself.
 */
export const documentedOnly = () => (data: unknown) => ({ value: data });

/** A request that broke its route's zod schema, said as "where: what" for each issue. */
export function validationMessage(error: unknown): string | undefined {
  if (!hasZodFastifySchemaValidationErrors(error)) return undefined;
  const where = { body: 'body', querystring: 'query', params: 'URL', headers: 'header' }[
    String((error as { validationContext?: unknown }).validationContext)
  ];
  const issues = error.validation.map((issue) => {
    const path = issue.instancePath.replace(/^\//, '').replaceAll('/', '.');
    return path ? `${path}: ${issue.message}` : issue.message;
  });
  return `invalid ${where ?? 'request'}: ${issues.join('; ')}`;
}
