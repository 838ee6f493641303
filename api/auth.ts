import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler, RouteOptions } from 'fastify';
import type pg from 'pg';
import { log } from '../lib/platform/log.js';
import { apiKeyVerifier, type ApiKeyScope, type ApiPrincipal } from '../lib/stores/apiKeys.js';
import { sendError } from './errors.js';

/**
 * Who may call a route, declared by the route itself as `config: { scope }`:
 * - a key scope (`read`, `ingest`, `annotate`, `admin`): a key of the tenant in the URL, holding that scope
 *   (`admin` holds every scope);
 * - `operator`: an admin key of the operator tenant (METASYNC_OPERATOR_TENANT), for the tenant lifecycle only;
 * - `signed`: the route checks a signature itself (Monte Carlo's webhook);
 * - `public`: health and the API's own description.
 * buildApi refuses to start with a route that declares none, so no route is open by omission.
 */
export type RouteScope = ApiKeyScope | 'operator' | 'signed' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    scope?: RouteScope;
  }
  interface FastifyRequest {
    /** The verified API key; null on routes that take none. */
    apiKey: ApiPrincipal | null;
  }
}

const CREATE = 'npm run api-key -- create --tenant <tenant> --name <name> --scopes <scopes>';

const UNAUTHENTICATED = {
  missing: `no API key: send one as "Authorization: Bearer msk_..."; create one with ${CREATE}`,
  malformed: `the Authorization header is not "Bearer msk_<key id>_<secret>": send the key whole, as ${CREATE} printed it`,
  unknown: `unknown API key: check that it was copied whole, or create one with ${CREATE}`,
  revoked: `this API key was revoked: create a new one with ${CREATE}`,
  expired: `this API key has expired: create a new one with ${CREATE}`,
  disabled: "this API key's service account is disabled: ask the tenant's admin to enable it",
  suspended: "this API key's tenant is suspended: ask the MetaSync operator to resume it",
} as const;

const BEARER = /^Bearer +(\S+)$/i;

/**
 * Makes each route's `config.scope` into its guard and its OpenAPI security entry. Called from an onRoute hook,
 * so it runs for every route registered after it (HEAD twins included).
 */
export function guardRoutes(deps: {
  postgres: pg.Pool;
  operatorTenant: string;
  /** Runs once the key is verified (the tenant's rate limit), so only a proven caller spends a tenant's budget. */
  afterAuth: onRequestAsyncHookHandler;
}) {
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

  const check = (scope: ApiKeyScope | 'operator'): onRequestAsyncHookHandler =>
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
      if (scope === 'operator') {
        if (principal.tenant !== deps.operatorTenant || !principal.scopes.includes('admin')) {
          return refuse(
            request,
            reply,
            403,
            'not an operator key',
            `only an admin key of the operator tenant (${deps.operatorTenant}) administers tenants`,
            principal.keyId,
          );
        }
        request.apiKey = principal;
        return;
      }
      const asked = tenantAsked(request);
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

  return function guardRoute(route: RouteOptions): void {
    const scope = route.config?.scope;
    if (scope === undefined) {
      throw new Error(`route ${String(route.method)} ${route.url} declares no config.scope: say who may call it`);
    }
    if (scope === 'public' || scope === 'signed') return;
    if (scope !== 'operator' && !/^\/v1\/tenants\/:tenant(\/|$)/.test(route.url)) {
      throw new Error(`route ${route.url} takes a tenant's key but has no :tenant to check it against`);
    }
    const earlier = route.onRequest === undefined ? [] : [route.onRequest].flat();
    route.onRequest = [check(scope), deps.afterAuth, ...earlier];
    const who = scope === 'operator' ? 'an admin key of the operator tenant' : `scope \`${scope}\``;
    const schema = route.schema ?? {};
    route.schema = {
      ...schema,
      security: [{ apiKey: [] }],
      description: [`Requires ${who}.`, (schema as { description?: string }).description].filter(Boolean).join(' '),
    };
  };
}

function tenantAsked(request: FastifyRequest): string | undefined {
  const { tenant } = (request.params ?? {}) as { tenant?: unknown };
  return typeof tenant === 'string' ? tenant : undefined;
}
