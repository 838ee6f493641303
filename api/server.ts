import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describeProblem, findInputProblem } from '../lib/platform/jsonInput.js';
import { log } from '../lib/platform/log.js';
import { methodLabel, metrics, routeLabel, statusLabel } from '../lib/platform/metrics.js';
import { registerAnnotationRoutes } from './annotations.js';
import { registerAssetRoutes } from './assets.js';
import { registerCatalogRoutes } from './catalog.js';
import { registerCredentialRoutes } from './credentials.js';
import type { Api, ApiDependencies } from './dependencies.js';
import { guardRoutes } from './auth.js';
import { registerConnectionRoutes } from './connections.js';
import { registerDumpRoutes } from './dumps.js';
import { errorAnswer, sendError } from './errors.js';
import { registerLimits } from './limits.js';
import { registerLineageRoutes, registerOpenLineageIngest } from './lineage.js';
import { registerMonteCarloWebhook } from './monteCarloWebhook.js';
import { registerOpenApi, validationMessage } from './openapi.js';
import { registerRunRoutes } from './runs.js';
import { registerTenantRoutes } from './tenants.js';

/** Qualified names travel as one URL segment; find-my-way's default (100 characters) would 404 deep names. */
const MAX_PARAM_LENGTH = 16_384;

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

/** The HTTP API: the control plane, the read API, and the doors events come in by. Not listening yet. */
export async function buildApi(deps: ApiDependencies): Promise<Api> {
  // A body becomes at most one Kafka message (or a dead letter), so it has the Kafka message limit.
  const bodyLimit = deps.config.kafka.maxMessageBytes;
  const app = Fastify({
    bodyLimit,
    trustProxy: deps.config.api.trustProxy,
    logger: false, // lib/platform/log.ts writes the log lines, the same shape as every other MetaSync process
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: (error, request, reply) => void answerError(error, request, reply, bodyLimit),
  }).withTypeProvider<ZodTypeProvider>();

  // Every answer is counted by its route's pattern (never the URL, which may hold an asset's name), method and status.
  app.addHook('onResponse', async (request, reply) => {
    const labels = { route: routeLabel(request.routeOptions.url), method: methodLabel(request.method) };
    metrics.apiRequests.inc({ ...labels, status: statusLabel(reply.statusCode) });
    metrics.apiRequestDuration.observe(labels, reply.elapsedTime / 1000);
  });
  // The limits and the input check come first, so every route (the API's own description too) has them.
  const limits = await registerLimits(app, deps.config.api.limits);
  // Every string a request carries is checked before its route sees it (lib/platform/jsonInput.ts): the URL's parameters, its
  // query and a JSON body. The routes that read their bytes themselves check them as they parse them.
  app.addHook('preValidation', async (request, reply) => {
    const refused = refuseUnacceptableInput(request);
    if (refused !== undefined) {
      log.warn('api request rejected', {
        requestId: request.id,
        keyId: request.apiKey?.keyId,
        method: request.method,
        route: request.routeOptions.url,
        reason: refused,
      });
      return sendError(reply, 400, refused);
    }
  });

  await registerOpenApi(app, version);
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is answered 415
  app.setErrorHandler((error, request, reply) => answerError(error, request, reply, bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      reply,
      404,
      `no route ${request.method} ${request.url.split('?')[0]}: GET /openapi.json (or /docs) lists every route`,
    ),
  );

  app.decorateRequest('apiKey', null);
  // Every route from here on declares its scope, and gets its guard from it (api/auth.ts).
  app.addHook(
    'onRoute',
    guardRoutes({
      postgres: deps.postgres,
      operatorTenant: deps.config.api.operatorTenant,
      afterAuth: limits.perTenant,
    }),
  );

  app.get('/healthz', { config: { scope: 'public' }, schema: { hide: true } }, () => ({ status: 'ok' }));
  // Routes that must see the exact bytes (to check a signature, or to dead-letter them as sent) parse them
  // themselves, in a context of their own. Named, because the plugin's name names its hooks' spans in a trace.
  await app.register(function rawBodyRoutes(raw, _options, done) {
    raw.removeAllContentTypeParsers();
    raw.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, parsed) => parsed(null, body));
    registerMonteCarloWebhook(raw, deps, limits);
    registerOpenLineageIngest(raw, deps);
    done();
  });
  registerTenantRoutes(app, deps);
  registerCredentialRoutes(app, deps);
  registerAssetRoutes(app, deps);
  registerAnnotationRoutes(app, deps);
  registerLineageRoutes(app, deps);
  registerConnectionRoutes(app, deps);
  registerDumpRoutes(app, deps);
  registerRunRoutes(app, deps, limits);
  registerCatalogRoutes(app, deps);
  return app;
}

/** Why a request's parameters, query or (parsed) body carry what MetaSync does not accept, or undefined. */
function refuseUnacceptableInput(request: FastifyRequest): string | undefined {
  const parts = [
    ['URL', request.params],
    ['query', request.query],
    ['body', Buffer.isBuffer(request.body) ? undefined : request.body],
  ] as const;
  for (const [where, value] of parts) {
    const problem = findInputProblem(value);
    if (problem) return `invalid ${where}: ${describeProblem(problem)}`;
  }
  return undefined;
}

function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply, bodyLimit: number) {
  const invalid = validationMessage(error);
  if (invalid !== undefined) {
    log.warn('api request rejected', {
      requestId: request.id,
      keyId: request.apiKey?.keyId,
      method: request.method,
      route: request.routeOptions.url,
      reason: invalid,
    });
    return sendError(reply, 400, invalid);
  }
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
