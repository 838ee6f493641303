import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import type { Config } from '../lib/platform/config.js';
import { log } from '../lib/platform/log.js';
import { sendError } from './errors.js';

type Limits = Config['api']['limits'];
type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

/** What the API's routes take from the limits: the tenant's budget, and run-event stream slots. */
export interface ApiLimits {
  /** After the API key's guard: counts the request against the key's tenant. */
  perTenant: onRequestAsyncHookHandler;
  /** For the webhook, once its signature is checked; false when it answered 429. */
  webhookPerTenant(request: FastifyRequest, reply: FastifyReply, tenant: string): Promise<boolean>;
  /** A slot for one more run-event stream of this key, released by calling it; undefined when it holds its most. */
  openStream(keyId: string): (() => void) | undefined;
  streamsPerKey: number;
}

/**
 * The limits a public endpoint needs (@fastify/rate-limit, fixed windows): every request counts against its client
 * address, before anything else is done for it; an authenticated request counts against its key's tenant, and a
 * webhook whose signature holds against its tenant. Counting a tenant only once the caller proved to be it keeps a
 * stranger from spending a tenant's budget. Counters live in this process (the plugin's in-memory store).
 */
export async function registerLimits(app: FastifyInstance, limits: Limits): Promise<ApiLimits> {
  await app.register(rateLimit, { global: false, timeWindow: limits.windowMs });
  const windowSeconds = Math.round(limits.windowMs / 1000);
  const limiter = (max: number, key: (request: FastifyRequest) => string): Limiter =>
    app.createRateLimit({ max, timeWindow: limits.windowMs, keyGenerator: key });

  /** Counts the request; when over, answers 429 with retry-after and returns false. */
  async function admit(limiter: Limiter, request: FastifyRequest, reply: FastifyReply, whose: string) {
    const counted = await limiter(request);
    if (counted.isAllowed || !counted.isExceeded) return true;
    log.warn('api request limited', {
      requestId: request.id,
      keyId: request.apiKey?.keyId,
      method: request.method,
      route: request.routeOptions.url,
      limit: whose,
      max: counted.max,
    });
    reply.header('retry-after', String(counted.ttlInSeconds));
    sendError(
      reply,
      429,
      `too many requests ${whose}: at most ${counted.max} every ${windowSeconds} s; retry after ${counted.ttlInSeconds} s`,
    );
    return false;
  }

  const bySource = limiter(limits.perSource, (request) => `source ${request.ip}`);
  app.addHook('onRequest', async (request, reply) => {
    if (!(await admit(bySource, request, reply, 'from this address'))) return reply;
  });

  const byTenant = limiter(limits.perTenant, (request) => `tenant ${request.apiKey?.tenant ?? ''}`);
  const byWebhookTenant = limiter(
    limits.webhookPerTenant,
    (request) => `webhook ${(request.params as { tenant?: string }).tenant ?? ''}`,
  );

  const streams = new Map<string, number>();
  return {
    async perTenant(request, reply) {
      if (request.apiKey && !(await admit(byTenant, request, reply, `for tenant ${request.apiKey.tenant}`))) {
        return reply;
      }
    },
    webhookPerTenant: (request, reply, tenant) =>
      admit(byWebhookTenant, request, reply, `to tenant ${tenant}'s webhook`),
    openStream(keyId) {
      const held = streams.get(keyId) ?? 0;
      if (held >= limits.streamsPerKey) return undefined;
      streams.set(keyId, held + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (streams.get(keyId) ?? 1) - 1;
        if (left > 0) streams.set(keyId, left);
        else streams.delete(keyId);
      };
    },
    streamsPerKey: limits.streamsPerKey,
  };
}
