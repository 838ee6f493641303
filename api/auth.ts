import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import type pg from 'pg';
import { log } from '../lib/log.js';
import { apiKeyVerifier, type ApiKeyScope, type ApiPrincipal } from '../lib/stores/apiKeys.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified API key, set by `authenticate(scope)`; null on routes that take none. */
    apiKey: ApiPrincipal | null;
  }
}

/** `authenticate(scope)` goes in a route's `preHandler`; buildApi makes one and hands it to the route registrars. */
export type Authenticate = (scope: ApiKeyScope) => preHandlerAsyncHookHandler;

const CREATE = 'npm run api-key -- create --tenant <tenant> --name <name> --scopes <scopes>';

const UNAUTHENTICATED = {
  missing: `no API key: send one as "Authorization: Bearer msk_..."; create one with ${CREATE}`,
  malformed: `the Authorization header is not "Bearer msk_<key id>_<secret>": send the key whole, as ${CREATE} printed it`,
  unknown: `unknown API key: check that it was copied whole, or create one with ${CREATE}`,
  revoked: `this API key was revoked: create a new one with ${CREATE}`,
  expired: `this API key has expired: create a new one with ${CREATE}`,
} as const;

const BEARER = /^Bearer +(\S+)$/i;

export function authenticate(deps: { postgres: pg.Pool }): Authenticate {
  const verifyApiKey = apiKeyVerifier(deps.postgres);

  function refuse(
    request: FastifyRequest,
    reply: FastifyReply,
    status: 401 | 403,
    reason: string,
    error: string,
    keyId?: string,
  ) {
    log.warn('api request refused', {
      requestId: request.id,
      keyId,
      method: request.method,
      route: request.routeOptions.url, // the pattern, not the URL: a qualified name in it is the tenant's business
      tenant: tenantAsked(request),
      reason,
    });
    if (status === 401) reply.header('www-authenticate', 'Bearer');
    return sendError(reply, status, error);
  }

  return (scope) =>
    async function checkApiKey(request, reply) {
      const header = request.headers.authorization;
      if (header === undefined || header.trim() === '') {
        return refuse(request, reply, 401, 'missing', UNAUTHENTICATED.missing);
      }
      const bearer = BEARER.exec(header.trim())?.[1];
      const verified =
        bearer === undefined ? { ok: false as const, reason: 'malformed' as const } : await verifyApiKey(bearer);
      if (!verified.ok) {
        return refuse(request, reply, 401, verified.reason, UNAUTHENTICATED[verified.reason], verified.keyId);
      }
      const { principal } = verified;
      const asked = tenantAsked(request);
      // Every authenticated route is a tenant's; one without a :tenant is refused rather than open to any key.
      if (asked !== principal.tenant) {
        return refuse(
          request,
          reply,
          403,
          'wrong tenant',
          `this API key is not a key of tenant ${JSON.stringify(asked ?? '')}: use one created with --tenant ${asked ?? '<tenant>'}`,
          principal.keyId,
        );
      }
      if (!principal.scopes.includes(scope) && !principal.scopes.includes('admin')) {
        return refuse(
          request,
          reply,
          403,
          `missing scope ${scope}`,
          `this API key lacks the "${scope}" scope (it has ${principal.scopes.join(', ')}): use a key created with --scopes ${scope}`,
          principal.keyId,
        );
      }
      request.apiKey = principal;
    };
}

function tenantAsked(request: FastifyRequest): string | undefined {
  const { tenant } = (request.params ?? {}) as { tenant?: unknown };
  return typeof tenant === 'string' ? tenant : undefined;
}
