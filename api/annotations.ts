import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { assetPropagationId } from '../control/annotate.js';
import { QualifiedName } from '../lib/lineage/contracts.js';
import {
  AnnotationAttribute,
  AnnotationChange,
  AnnotationValue,
  EffectiveAnnotation,
  type AnnotationRequested,
} from '../lib/propagation/contracts.js';
import { annotationStore } from '../lib/stores/annotations.js';
import { inboundTopic } from '../lib/kafka/topics.js';
import { changeWorkflowId } from '../lib/temporal/workflowIds.js';
import { sendError } from './errors.js';
import { handToKafka } from './kafkaHandoff.js';
import { errorResponses, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

/** What a caller sends: the change without its actor, who is always the key's service account and name. */
const AnnotationRequestBody = z.strictObject({
  qualifiedName: QualifiedName,
  op: AnnotationChange.shape.op,
  attribute: AnnotationAttribute,
  value: AnnotationValue,
  actor: z.string().optional().describe('Ignored: the actor recorded is the API key'),
});

const Accepted = z.object({
  changeId: z.string(),
  propagationWorkflowId: z.string().describe('The asset’s propagation workflow, in the Temporal Web UI'),
  changeWorkflowId: z.string().describe('The walk of this change'),
});

const Annotations = z.object({
  qualifiedName: QualifiedName,
  annotations: z.array(EffectiveAnnotation),
});

/**
 * Annotating assets (classifications, tags, owners, descriptions) and reading what they hold.
 * An annotation request goes to the commands topic like any producer's, so the HTTP API and Kafka share one path.
 */
export function registerAnnotationRoutes(app: Api, deps: ApiDependencies): void {
  const annotations = annotationStore(deps.cassandra);

  app.post(
    '/v1/tenants/:tenant/annotations',
    {
      config: { scope: 'annotate' },
      schema: {
        tags: ['annotations'],
        summary: 'Add or remove a classification, tag, owner or description; it propagates down lineage',
        params: TenantParams,
        body: AnnotationRequestBody,
        response: { 202: Accepted, ...errorResponses(503) },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params; // auth checked it is the key's tenant
      // The actor is who the key says, never what the body claims.
      const parsed = AnnotationChange.safeParse({ ...request.body, actor: `api-key:${request.apiKey!.name}` });
      if (!parsed.success) return sendError(reply, 400, `invalid annotation: ${z.prettifyError(parsed.error)}`);
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
      const where = { tenant, requestId: request.id, changeId };
      const record = { topic: inboundTopic(tenant, 'commands'), messages: [message] };
      if (!(await handToKafka(reply, deps.producer, record, 'annotation', where))) return reply;
      return reply.code(202).send({
        changeId,
        propagationWorkflowId: assetPropagationId(tenant, parsed.data.qualifiedName),
        changeWorkflowId: changeWorkflowId(tenant, changeId),
      });
    },
  );

  app.get(
    '/v1/tenants/:tenant/annotations',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['annotations'],
        summary: 'What an asset holds: each value with where it came from',
        params: TenantParams,
        querystring: z.object({ name: QualifiedName }),
        response: { 200: Annotations, ...errorResponses() },
      },
    },
    async (request) => ({
      qualifiedName: request.query.name,
      annotations: await annotations.annotationsOf(request.params.tenant, request.query.name),
    }),
  );
}
