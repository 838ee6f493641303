import type { LightMyRequestResponse } from 'fastify';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it, mock } from 'node:test';
import { z } from 'zod';
import { AssetView } from '../../lib/incidents/contracts.js';
import {
  API_KEY_CACHE_MS,
  createApiKey,
  listApiKeys,
  newApiKey,
  parseApiKey,
  revokeApiKey,
  type ApiKeyScope,
} from '../../lib/stores/apiKeys.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { uniqueTenant } from '../support/harness.js';
import { openStack } from '../support/stack.js';

const tenantA = uniqueTenant('keys-a');
const tenantB = uniqueTenant('keys-b');
const stack = openStack();
const { postgres } = stack;

const ErrorBody = z.strictObject({ error: z.string().min(1) });
const RefusalLog = z.object({
  level: z.literal('warn'),
  message: z.literal('api request refused'),
  requestId: z.uuid(),
  keyId: z.string().optional(),
  method: z.string(),
  route: z.string(),
  tenant: z.string().optional(),
  reason: z.string(),
});
const assetPath = (tenant: string) =>
  `/v1/tenants/${tenant}/assets/${encodeURIComponent('postgres://warehouse/sales/public/orders')}`;

describe('API keys on the HTTP API', () => {
  let api: TestApi;
  const unguardedRoutes: string[] = [];
  const keyOf = async (tenant: string, scopes: ApiKeyScope[], expiresAt: Date | null = null) =>
    (await createApiKey(postgres, { tenant, name: 'test', scopes, expiresAt })).key;

  const get = (url: string, authorization?: string) =>
    api.app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });

  /** The request's answer and the refusal lines it logged, read from the real stderr stream as it is written. */
  async function getLogged(url: string, authorization?: string) {
    const write = mock.method(process.stderr, 'write');
    let response: LightMyRequestResponse;
    try {
      response = await get(url, authorization);
    } finally {
      write.mock.restore();
    }
    const lines = write.mock.calls.map((call) => String(call.arguments[0]));
    const refusals = lines
      .flatMap((line) => line.split('\n').filter(Boolean))
      .map((line) => RefusalLog.safeParse(JSON.parse(line)))
      .flatMap((parsed) => (parsed.success ? [parsed.data] : []));
    return { response, lines, refusals };
  }

  async function assertRefused(status: 401 | 403, url: string, authorization: string | undefined, error: RegExp) {
    const { response, lines, refusals } = await getLogged(url, authorization);
    assert.equal(response.statusCode, status, response.body);
    assert.match(ErrorBody.parse(response.json()).error, error);
    if (status === 401) assert.equal(response.headers['www-authenticate'], 'Bearer');
    assert.equal(refusals.length, 1, 'one refusal logged');
    const secret = authorization === undefined ? undefined : parseApiKey(authorization.replace(/^Bearer /, ''))?.secret;
    for (const text of [response.body, ...lines]) {
      if (secret) assert.ok(!text.includes(secret), 'the key is never echoed or logged');
    }
    return refusals[0]!;
  }

  before(async () => {
    api = await startTestApi(stack, [tenantA, tenantB], {
      routes(app) {
        // A route as another module registers one, declaring its scope: it shows the principal it was given.
        app.get('/v1/tenants/:tenant/whoami', { config: { scope: 'ingest' } }, (request) => ({
          apiKey: request.apiKey,
        }));
        // Routes that would be open by omission are refused when they are added, before the API can start.
        for (const [url, config] of [
          ['/v1/whoami', { scope: 'read' as const }],
          ['/v1/tenants/:tenant/unguarded', {}],
        ] as const) {
          try {
            app.get(url, { config }, () => 'open');
          } catch (error) {
            unguardedRoutes.push(String(error));
          }
        }
      },
    });
    stack.defer(() => postgres.query('DELETE FROM tenants WHERE tenant = ANY($1)', [[tenantA, tenantB]]));
  });

  after(() => stack.close());

  it('answers 200 to a key of the tenant with the scope, and records its use', async () => {
    const key = await keyOf(tenantA, ['read']);
    const response = await get(assetPath(tenantA), `Bearer ${key}`);
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(AssetView.parse(response.json()).qualifiedName, 'postgres://warehouse/sales/public/orders');
    const keyId = parseApiKey(key)?.keyId;
    const listed = (await listApiKeys(postgres, tenantA)).find((info) => info.keyId === keyId);
    assert.ok(listed?.lastUsedAt, 'last_used_at is set');
    assert.ok(!('secretHash' in listed) && !JSON.stringify(listed).includes('hash'), 'listing shows no hash');
  });

  it('refuses a request without a key: 401, logged with the request id, route and tenant', async () => {
    const refusal = await assertRefused(401, assetPath(tenantA), undefined, /^no API key: .*npm run api-key -- create/);
    assert.deepEqual(
      { ...refusal, requestId: 'a uuid' }, // RefusalLog checked it is one
      {
        level: 'warn',
        message: 'api request refused',
        requestId: 'a uuid',
        method: 'GET',
        route: '/v1/tenants/:tenant/assets/:qualifiedName',
        tenant: tenantA,
        reason: 'missing',
      },
    );
  });

  it('refuses a malformed Authorization header or key with 401', async () => {
    const key = await keyOf(tenantA, ['read']);
    for (const header of [`Basic ${key}`, key, 'Bearer', `Bearer ${key.slice(0, -1)}`, `Bearer ${key} extra`]) {
      const refusal = await assertRefused(401, assetPath(tenantA), header, /^the Authorization header is not/);
      assert.equal(refusal.reason, 'malformed');
      assert.equal(refusal.keyId, undefined);
    }
  });

  it('refuses an unknown key, and a known key id with a wrong secret, alike with 401', async () => {
    const unknown = await assertRefused(401, assetPath(tenantA), `Bearer ${newApiKey().key}`, /^unknown API key/);
    assert.deepEqual([unknown.reason, unknown.keyId], ['unknown', undefined]);

    const { keyId } = parseApiKey(await keyOf(tenantA, ['read']))!;
    const forged = `Bearer msk_${keyId}_${newApiKey().secret}`;
    const wrongSecret = await assertRefused(401, assetPath(tenantA), forged, /^unknown API key/);
    assert.deepEqual([wrongSecret.reason, wrongSecret.keyId], ['unknown', keyId]);
  });

  it('refuses an expired key with 401', async () => {
    const key = await keyOf(tenantA, ['read'], new Date(Date.now() - 1000));
    const refusal = await assertRefused(401, assetPath(tenantA), `Bearer ${key}`, /^this API key has expired/);
    assert.deepEqual([refusal.reason, refusal.keyId], ['expired', parseApiKey(key)?.keyId]);
  });

  it('refuses a revoked key with 401 once the cache window has passed', async () => {
    const key = await keyOf(tenantA, ['read']);
    assert.equal((await get(assetPath(tenantA), `Bearer ${key}`)).statusCode, 200); // now cached as valid
    assert.ok(await revokeApiKey(postgres, tenantA, parseApiKey(key)!.keyId));
    await sleep(API_KEY_CACHE_MS + 200);
    const refusal = await assertRefused(401, assetPath(tenantA), `Bearer ${key}`, /^this API key was revoked/);
    assert.equal(refusal.reason, 'revoked');
  });

  it("refuses tenant A's key on tenant B's path with 403, showing and touching nothing of B", async () => {
    const bKey = await keyOf(tenantB, ['read']);
    const bKeysBefore = await listApiKeys(postgres, tenantB);
    const aKey = await keyOf(tenantA, ['admin']);
    const refusal = await assertRefused(403, assetPath(tenantB), `Bearer ${aKey}`, /is not a key of tenant/);
    assert.deepEqual(
      [refusal.reason, refusal.tenant, refusal.keyId],
      ['wrong tenant', tenantB, parseApiKey(aKey)?.keyId],
    );
    assert.deepEqual(await listApiKeys(postgres, tenantB), bKeysBefore);
    assert.equal((await get(assetPath(tenantB), `Bearer ${bKey}`)).statusCode, 200, "B's own key still works");
  });

  it('refuses a key without the scope with 403; admin implies every scope', async () => {
    const annotate = await keyOf(tenantA, ['annotate', 'ingest']);
    const refusal = await assertRefused(403, assetPath(tenantA), `Bearer ${annotate}`, /lacks the "read" scope/);
    assert.equal(refusal.reason, 'missing scope read');

    const admin = await keyOf(tenantA, ['admin']);
    assert.equal((await get(assetPath(tenantA), `Bearer ${admin}`)).statusCode, 200);
    const whoami = await get(`/v1/tenants/${tenantA}/whoami`, `Bearer ${admin}`);
    assert.equal(whoami.statusCode, 200);
    assert.deepEqual(whoami.json(), {
      apiKey: {
        keyId: parseApiKey(admin)?.keyId,
        tenant: tenantA,
        serviceAccount: 'default',
        name: 'test',
        scopes: ['admin'],
      },
    });
  });

  it('refuses to add a route that declares no scope, or takes a key but names no tenant', async () => {
    assert.equal(unguardedRoutes.length, 2, unguardedRoutes.join('\n'));
    assert.match(unguardedRoutes[0]!, /\/v1\/whoami takes a tenant's key but has no :tenant/);
    assert.match(unguardedRoutes[1]!, /GET \/v1\/tenants\/:tenant\/unguarded declares no config.scope/);
    const key = await keyOf(tenantA, ['admin']);
    assert.equal((await get('/v1/whoami', `Bearer ${key}`)).statusCode, 404, 'neither route exists');
    assert.equal((await get(`/v1/tenants/${tenantA}/unguarded`, `Bearer ${key}`)).statusCode, 404);
  });
});
