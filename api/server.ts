import type { S3Client } from '@aws-sdk/client-s3';
import type cassandra from 'cassandra-driver';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Producer } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../lib/config.js';
import { log } from '../lib/log.js';
import type { IncidentStore } from '../lib/stores/incidents.js';
import { registerAnnotationRoutes } from './annotations.js';
import { registerLineageRoutes } from './lineage.js';
import { registerAssetRoutes } from './assets.js';
import { authenticate } from './auth.js';
import { errorAnswer, sendError } from './errors.js';
import { registerMonteCarloWebhook } from './monteCarloWebhook.js';

export interface ApiDependencies {
  config: Config;
  postgres: pg.Pool;
  producer: Producer;
  s3: S3Client;
  incidents: IncidentStore;
  /** The metadata lake, for annotations and lineage. */
  cassandra: cassandra.Client;
}

/** Qualified names travel as one URL segment; find-my-way's default (100 characters) would 404 deep names. */
const MAX_PARAM_LENGTH = 16_384;

/** The HTTP API: Monte Carlo's incident webhooks in, assets with their incidents out. Not listening yet. */
export function buildApi(deps: ApiDependencies): FastifyInstance {
  // A webhook body becomes one Kafka message (or a dead letter), so it has the Kafka message limit.
  const bodyLimit = deps.config.kafka.maxMessageBytes;
  const app = Fastify({
    bodyLimit,
    logger: false, // lib/log.ts writes the log lines, the same shape as every other MetaSync process
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => void answerError(error, request, reply, bodyLimit),
  });

  // Monte Carlo signs what Python parses from the bytes (lib/monteCarlo/signature.ts), so the raw body is kept
  // as is and parsed only after its signature is checked. No other content type is accepted.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  app.setErrorHandler((error, request, reply) => answerError(error, request, reply, bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      404,
      `no route ${request.method} ${request.url.split('?')[0]}: the API serves POST /v1/tenants/:tenant/webhooks/monte-carlo, GET /v1/tenants/:tenant/assets/:qualifiedName (or ?name=), POST and GET /v1/tenants/:tenant/annotations, POST (OpenLineage) and GET /v1/tenants/:tenant/lineage and GET /healthz`,
    ),
  );

  app.decorateRequest('apiKey', null);
  const auth = authenticate(deps);

  app.get('/healthz', () => ({ status: 'ok' }));
  registerMonteCarloWebhook(app, deps); // authenticated by Monte Carlo's signature, not by an API key
  registerAssetRoutes(app, deps, auth);
  registerAnnotationRoutes(app, deps, auth);
  registerLineageRoutes(app, deps, auth);
  return app;
}

function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply, bodyLimit: number) {
  const answer = errorAnswer(error, bodyLimit, request.id);
  if (answer.internal) {
    log.error('api request failed', {
      requestId: request.id,
      method: request.method,
      url: request.url,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
  return sendError(reply, answer.status, answer.error);
}
