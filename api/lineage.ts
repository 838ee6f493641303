import type { FastifyInstance } from 'fastify';
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { LineageEdge, OpenLineageRunEvent, QualifiedName, type OpenLineageReceived } from '../lib/lineage/contracts.js';
import { decodeJsonInput } from '../lib/platform/jsonInput.js';
import { lineageStore } from '../lib/stores/lineage.js';
import { inboundTopic, openLineageMessage } from '../lib/kafka/topics.js';
import { sendError } from './errors.js';
import { handToKafka } from './kafkaHandoff.js';
import { documentedOnly } from './openapi.js';
import { cassandraPager, PageToken } from './paging.js';
import { answerRejectedBody } from './rejectedBodies.js';
import { ErrorBody, errorResponses, NextPageToken, pageLimit, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

/** The dead-letter "source topic" of posted events that break the spec (see MONTE_CARLO_WEBHOOK_SOURCE). */
export const OPENLINEAGE_HTTP_SOURCE = 'http.openlineage';

/**
 * `POST /v1/tenants/:tenant/lineage`: the endpoint of an OpenLineage HTTP transport (its body is one bare RunEvent).
 * A valid event goes to the tenant's metasync.inbound.<tenant>.lineage in the envelope, and is answered 202 once
 * Kafka has it; the lineage bridge writes its edges. One that breaks the spec is answered 400 with the issues, and kept as a dead letter.
 */
export function registerOpenLineageIngest(app: FastifyInstance, deps: ApiDependencies): void {
  const { config, producer } = deps;

  const schema = {
    tags: ['lineage'],
    summary: 'Receive an OpenLineage RunEvent (the endpoint of an OpenLineage HTTP transport)',
    description: 'A body that breaks the spec is answered 400 and kept as a dead letter.',
    params: TenantParams,
    body: OpenLineageRunEvent,
    response: {
      ...errorResponses(413, 415, 503),
      202: z.object({ eventId: z.string() }),
      400: ErrorBody.extend({ issues: z.array(z.unknown()).describe('The spec violations, as zod reports them') }),
    },
  };

  app.post(
    '/v1/tenants/:tenant/lineage',
    { config: { scope: 'ingest' }, schema, validatorCompiler: documentedOnly },
    async (request, reply) => {
      const receivedAt = new Date();
      const { tenant } = TenantParams.parse(request.params);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      const where = { tenant, requestId: request.id, bytes: body.length };

      const checked = decodeJsonInput(OpenLineageRunEvent, body, {
        what: 'body',
        expected: 'an OpenLineage RunEvent (JSON)',
        maxBytes: config.kafka.maxMessageBytes,
        invalid: 'not an OpenLineage RunEvent (spec 2-0-2)',
      });
      if (!checked.ok) {
        const rejected = { source: OPENLINEAGE_HTTP_SOURCE, tenant, body, reason: checked.reason, receivedAt };
        return answerRejectedBody(reply, request, deps, rejected, { issues: checked.issues ?? [] });
      }

      const event: OpenLineageReceived = {
        // The same body is the same event: a transport's retry repeats the id rather than making a new one.
        id: `openlineage-${createHash('sha256').update(body).digest('hex').slice(0, 32)}`,
        type: 'lineage.openlineage',
        version: 1,
        tenant,
        source: OPENLINEAGE_HTTP_SOURCE,
        occurredAt: receivedAt.toISOString(),
        payload: checked.value,
      };
      const message = openLineageMessage(event);
      if (Buffer.byteLength(String(message.value)) > config.kafka.maxMessageBytes) {
        return sendError(
          reply,
          413,
          `the event is over ${config.kafka.maxMessageBytes} bytes once enveloped (the Kafka message limit): send fewer datasets or facets per event`,
        );
      }
      const handed = await handToKafka(
        reply,
        producer,
        { topic: inboundTopic(tenant, 'lineage'), messages: [message] },
        'event',
        {
          ...where,
          eventId: event.id,
        },
      );
      if (!handed) return reply;
      return reply.code(202).send({ eventId: event.id });
    },
  );
}

const LineageQuery = z.object({
  name: QualifiedName,
  direction: z.enum(['downstream', 'upstream']).default('downstream'),
  limit: pageLimit(500, 5_000),
  pageToken: PageToken.optional(),
});

const LineagePage = z.object({
  qualifiedName: QualifiedName,
  direction: z.enum(['downstream', 'upstream']),
  edges: z.array(LineageEdge),
  nextPageToken: NextPageToken,
});

/** `GET /v1/tenants/:tenant/lineage`: one asset's direct downstreams or upstreams, paged. */
export function registerLineageRoutes(app: Api, deps: ApiDependencies): void {
  const lineage = lineageStore(deps.cassandra);
  const readPage = cassandraPager(deps.config.secretsKey);

  app.get(
    '/v1/tenants/:tenant/lineage',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['lineage'],
        summary: "An asset's direct downstream or upstream edges, paged",
        params: TenantParams,
        querystring: LineageQuery,
        response: { 200: LineagePage, ...errorResponses() },
      },
    },
    async (request) => {
      const { tenant } = request.params;
      const { name, direction, limit, pageToken } = request.query;
      const page = await readPage<LineageEdge>([tenant, 'lineage', name, direction], pageToken, async (state) => {
        if (direction === 'downstream') {
          const found = await lineage.downstreamOf(tenant, name, limit, state);
          return { next: found.next, items: found.items.map((edge) => ({ ...edge, upstream: name })) };
        }
        const found = await lineage.upstreamOf(tenant, name, limit, state);
        const items = found.items.map((edge) => ({ ...edge, downstream: name, downstreamType: null }));
        return { next: found.next, items };
      });
      return { qualifiedName: name, direction, edges: page.items, nextPageToken: page.nextPageToken };
    },
  );
}
