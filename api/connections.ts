import { z } from 'zod';
import {
  checkConnection,
  ConnectionCheck,
  connectionFromBody,
  SOURCE_TYPE_LIST,
  sourceBodies,
} from '../lib/extractors/index.js';
import { configuredDestinations } from '../lib/platform/destinations.js';
import { log } from '../lib/platform/log.js';
import {
  ConnectionView,
  deleteConnection,
  listConnections,
  loadConnection,
  readConnection,
  saveConnection,
} from '../lib/stores/connections.js';
import { sendError } from './errors.js';
import { errorResponses, Slug, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

const ConnectionBody = z
  .discriminatedUnion('type', sourceBodies, {
    error: (issue) => (issue.code === 'invalid_union' ? `type must be ${SOURCE_TYPE_LIST}` : undefined),
  })
  .describe(
    'How to reach the source. A PUT without password on an existing connection of the same type keeps the stored ' +
      'password, so a client can change the host without sending the secret again.',
  );

const ConnectionParams = TenantParams.extend({
  connectionId: Slug.describe('The connection id, as ingestion runs and sinks name it'),
});

const Connections = z.object({ connections: z.array(ConnectionView) });

/**
 * The connections a tenant reaches its sources and downstream tools by. Passwords go in and are sealed at rest;
 * they never come back out, in an answer or a log line.
 */
export function registerConnectionRoutes(app: Api, deps: ApiDependencies): void {
  const { postgres } = deps;
  const destinations = configuredDestinations(deps.config);
  const notFound = (tenant: string, connectionId: string) =>
    `tenant ${tenant} has no connection ${connectionId}: GET /v1/tenants/${tenant}/connections lists them, PUT creates one`;

  app.get(
    '/v1/tenants/:tenant/connections',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['connections'],
        summary: "The tenant's connections, without their passwords",
        params: TenantParams,
        response: { 200: Connections, ...errorResponses() },
      },
    },
    async (request) => ({ connections: await listConnections(postgres, request.params.tenant) }),
  );

  app.get(
    '/v1/tenants/:tenant/connections/:connectionId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['connections'],
        summary: 'A connection, without its password',
        params: ConnectionParams,
        response: { 200: ConnectionView, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { tenant, connectionId } = request.params;
      const view = await readConnection(postgres, tenant, connectionId);
      return view ?? sendError(reply, 404, notFound(tenant, connectionId));
    },
  );

  app.put(
    '/v1/tenants/:tenant/connections/:connectionId',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['connections'],
        summary: 'Create or replace a connection',
        params: ConnectionParams,
        body: ConnectionBody,
        response: {
          200: ConnectionView.describe('Replaced'),
          201: ConnectionView.describe('Created'),
          ...errorResponses(),
        },
      },
    },
    async (request, reply) => {
      const { tenant, connectionId } = request.params;
      const stored = () => loadConnection(postgres, deps.config.secretsKey, tenant, connectionId);
      const scope = { tenant, bucket: deps.config.s3.bucket, connectionId };
      const given = await connectionFromBody(request.body, stored, scope);
      if ('problem' in given) return sendError(reply, 400, `invalid body: ${given.problem}`);
      const { source } = given;
      const { created, view } = await saveConnection(postgres, deps.config.secretsKey, tenant, connectionId, source);
      log.info(created ? 'connection created' : 'connection replaced', {
        requestId: request.id,
        keyId: request.apiKey?.keyId,
        tenant,
        connectionId,
        type: source.type,
      });
      return reply.code(created ? 201 : 200).send(view);
    },
  );

  app.delete(
    '/v1/tenants/:tenant/connections/:connectionId',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['connections'],
        summary: 'Delete a connection no subscription uses',
        params: ConnectionParams,
        response: { 204: z.null().describe('Deleted'), ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const { tenant, connectionId } = request.params;
      const { found, usedBy } = await deleteConnection(postgres, tenant, connectionId);
      if (!found) return sendError(reply, 404, notFound(tenant, connectionId));
      if (usedBy.length > 0) {
        return sendError(
          reply,
          409,
          `connection ${connectionId} is the sink of subscription ${usedBy.join(', ')}: delete those or point them at another connection first`,
        );
      }
      log.info('connection deleted', { requestId: request.id, keyId: request.apiKey?.keyId, tenant, connectionId });
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/v1/tenants/:tenant/connections/:connectionId/test',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['connections'],
        summary: 'Connect to the source with the stored connection, and say what answered',
        description:
          'Really connects (within the connection’s connectTimeoutSeconds): 200 whether it succeeds or not, with ok and the reason.',
        params: ConnectionParams,
        response: { 200: ConnectionCheck, ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { tenant, connectionId } = request.params;
      const source = await loadConnection(postgres, deps.config.secretsKey, tenant, connectionId);
      if (!source) return sendError(reply, 404, notFound(tenant, connectionId));
      return checkConnection(source, { tenant, destinations, s3: deps.s3, bucket: deps.config.s3.bucket });
    },
  );
}
