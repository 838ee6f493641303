import type { FastifyInstance, FastifyReply } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { AnnotationChange, LineageEdge, QualifiedName, TenantId, type AnnotationRequested } from '../lib/contracts.js';
import { annotationStore } from '../lib/stores/annotations.js';
import { lineageStore } from '../lib/stores/lineage.js';
import { topics } from '../lib/topics.js';
import { changeWorkflowId } from '../lib/workflowIds.js';
import { assetPropagationId } from '../lib/annotate.js';
import type { Authenticate } from './auth.js';
import { sendError } from './errors.js';
import { handToKafka } from './kafkaHandoff.js';
import type { ApiDependencies } from './server.js';

const TenantParams = z.object({ tenant: z.string() });

/** A Cassandra paging state, as the previous page handed it out: hex, and bounded. */
const PageToken = z.string().regex(/^[0-9a-f]{2,4096}$/, 'a page token is the nextPageToken of the previous page');

const LineageQuery = z.object({
  name: QualifiedName,
  direction: z.enum(['downstream', 'upstream']).default('downstream'),
  limit: z.coerce.number().int().min(1).max(5_000).default(500),
  pageToken: PageToken.optional(),
});

/**
 * Annotating assets (classifications, tags, owners, descriptions) and reading what they hold and their lineage.
 * An annotation request goes to the commands topic like any producer's, so the HTTP API and Kafka share one path.
 */
export function registerAnnotationRoutes(app: FastifyInstance, deps: ApiDependencies, auth: Authenticate): void {
  const annotations = annotationStore(deps.cassandra);
  const lineage = lineageStore(deps.cassandra);

  app.post('/v1/tenants/:tenant/annotations', { preHandler: auth('annotate') }, async (request, reply) => {
    const tenant = TenantId.parse(request.apiKey!.tenant); // auth checked it is the URL's tenant
    const body = parseJson(request.body);
    if (!body.ok) return sendError(reply, 400, body.error);
    // The actor is who the key says, never what the body claims.
    const parsed = AnnotationChange.safeParse({ ...(body.value as object), actor: `api-key:${request.apiKey!.name}` });
    if (!parsed.success) {
      return sendError(reply, 400, `invalid annotation: ${z.prettifyError(parsed.error)}`);
    }
    const changeId = randomUUID();
    const command: AnnotationRequested = {
      id: changeId,
      type: 'asset.annotation-requested',
      version: 1,
      tenant,
      source: 'metasync-api',
      occurredAt: new Date().toISOString(),
      payload: parsed.data,
    };
    const message = { key: tenant, value: JSON.stringify(command), headers: { tenant, 'event-type': command.type } };
    const handed = await handToKafka(
      reply,
      deps.producer,
      { topic: topics.commands, messages: [message] },
      'annotation',
      {
        tenant,
        requestId: request.id,
        changeId,
      },
    );
    if (!handed) return reply;
    return reply.code(202).send({
      changeId,
      propagationWorkflowId: assetPropagationId(tenant, parsed.data.qualifiedName),
      changeWorkflowId: changeWorkflowId(tenant, changeId),
    });
  });

  app.get('/v1/tenants/:tenant/lineage', { preHandler: auth('read') }, async (request, reply) => {
    const { tenant } = TenantParams.parse(request.params);
    const query = LineageQuery.safeParse(request.query);
    if (!query.success) return sendError(reply, 400, z.prettifyError(query.error));
    const { name, direction, limit, pageToken } = query.data;
    try {
      const page =
        direction === 'downstream'
          ? await lineage.downstreamOf(tenant, name, limit, pageToken ?? null)
          : await lineage.upstreamOf(tenant, name, limit, pageToken ?? null);
      const edges = page.items.map((item) =>
        LineageEdge.parse(
          direction === 'downstream'
            ? { ...item, upstream: name }
            : { ...item, downstream: name, downstreamType: null },
        ),
      );
      return reply.send({ qualifiedName: name, direction, edges, nextPageToken: page.next });
    } catch (error) {
      if (pageToken && isBadPagingState(error)) return badPageToken(reply);
      throw error;
    }
  });

  app.get('/v1/tenants/:tenant/annotations', { preHandler: auth('read') }, async (request, reply) => {
    const { tenant } = TenantParams.parse(request.params);
    const query = z.object({ name: QualifiedName }).safeParse(request.query);
    if (!query.success) return sendError(reply, 400, z.prettifyError(query.error));
    return reply.send({
      qualifiedName: query.data.name,
      annotations: await annotations.annotationsOf(tenant, query.data.name),
    });
  });
}

function parseJson(body: unknown): { ok: true; value: unknown } | { ok: false; error: string } {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return { ok: true, value };
    return { ok: false, error: 'the body must be a JSON object' };
  } catch (error) {
    return { ok: false, error: `malformed JSON: ${(error as Error).message}` };
  }
}

const isBadPagingState = (error: unknown) => /paging state|pageState|Invalid value/i.test(String(error));
const badPageToken = (reply: FastifyReply) =>
  sendError(reply, 400, 'invalid pageToken: pass the nextPageToken of the previous page, unchanged');
