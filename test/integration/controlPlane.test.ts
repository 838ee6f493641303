import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { z } from 'zod';
import { API_KEY_CACHE_MS, createApiKey } from '../../lib/stores/apiKeys.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testConfig, uniqueTenant } from '../support/harness.js';

const operatorTenant = uniqueTenant('op');
const config = testConfig({ METASYNC_OPERATOR_TENANT: operatorTenant });
const tenant = uniqueTenant('cp');
const other = uniqueTenant('cp-other');

const ErrorBody = z.strictObject({ error: z.string().min(1) });
const TenantView = z.object({ tenant: z.string(), displayName: z.string(), status: z.enum(['active', 'suspended']) });
const Created = TenantView.extend({
  adminKey: z.object({ keyId: z.string(), key: z.string(), serviceAccount: z.string() }),
  kafka: z.object({ username: z.string(), password: z.string().min(32), outboundTopic: z.string() }),
});
const KeyView = z.strictObject({
  keyId: z.string(),
  serviceAccount: z.string(),
  name: z.string(),
  scopes: z.array(z.string()),
  status: z.enum(['active', 'expired', 'revoked']),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable(),
});

describe('control plane: tenants, service accounts and API keys over the HTTP API', () => {
  let api: TestApi;
  let operatorKey: string;
  let adminKey: string;

  const errorOf = (response: { json(): unknown }) => ErrorBody.parse(response.json()).error;
  /** Waits out the verifier's cache, so a change to a key, account or tenant is seen by the next request. */
  const pastKeyCache = () => sleep(API_KEY_CACHE_MS + 200);

  before(async () => {
    api = await startTestApi(config, [operatorTenant, other]);
    // The tenant the operator creates below has topics on Kafka too.
    api.stack.dropTopicsAtClose(tenant);
    api.stack.defer(() =>
      api.deps.postgres.query('DELETE FROM tenants WHERE tenant = ANY($1)', [[operatorTenant, tenant, other]]),
    );
    operatorKey = (await createApiKey(api.deps.postgres, { tenant: operatorTenant, name: 'ops', scopes: ['admin'] }))
      .key;
  });

  after(() => api?.close());

  it('the operator creates a tenant and gets its first admin key and Kafka credential, once', async () => {
    const response = await api.call(operatorKey, 'POST', '/v1/tenants', { tenant, displayName: 'Control plane' });
    assert.equal(response.statusCode, 201, response.body);
    const created = Created.parse(response.json());
    assert.deepEqual([created.tenant, created.displayName, created.status], [tenant, 'Control plane', 'active']);
    adminKey = created.adminKey.key;
    // What that credential may do on Kafka is test/integration/securityKafka.test.ts.
    assert.deepEqual(
      [created.kafka.username, created.kafka.outboundTopic],
      [`tenant-${tenant}`, `metasync.outbound.${tenant}`],
    );
    const own = await api.call(adminKey, 'GET', `/v1/tenants/${tenant}`);
    assert.equal(own.statusCode, 200, own.body);
    assert.equal(TenantView.parse(own.json()).tenant, tenant);

    const again = await api.call(operatorKey, 'POST', '/v1/tenants', { tenant });
    assert.equal(again.statusCode, 409);
    assert.match(errorOf(again), /exists already/);
  });

  it('lists tenants in pages that visit each tenant once', async () => {
    const seen: string[] = [];
    let pageToken: string | null = null;
    do {
      const query: string = pageToken ? `&pageToken=${pageToken}` : '';
      const response = await api.call(operatorKey, 'GET', `/v1/tenants?limit=2${query}`);
      assert.equal(response.statusCode, 200, response.body);
      const page = z
        .object({ tenants: z.array(TenantView), nextPageToken: z.string().nullable() })
        .parse(response.json());
      assert.ok(page.tenants.length <= 2);
      seen.push(...page.tenants.map((t) => t.tenant));
      pageToken = page.nextPageToken;
    } while (pageToken);
    assert.equal(new Set(seen).size, seen.length, 'no tenant twice');
    for (const id of [operatorTenant, tenant, other]) assert.ok(seen.includes(id), `${id} listed`);
  });

  it("keeps the operator out of tenants' data, and tenants out of the operator's routes", async () => {
    for (const url of [
      `/v1/tenants/${tenant}/api-keys`,
      `/v1/tenants/${tenant}/connections`,
      `/v1/tenants/${tenant}`,
    ]) {
      const response = await api.call(operatorKey, 'GET', url);
      assert.equal(response.statusCode, 403, `${url}: ${response.body}`);
    }
    const asTenant = await api.call(adminKey, 'GET', '/v1/tenants');
    assert.equal(asTenant.statusCode, 403);
    assert.match(errorOf(asTenant), /only an admin key of the operator tenant/);
    const suspendOther = await api.call(adminKey, 'PATCH', `/v1/tenants/${other}`, { suspended: true });
    assert.equal(suspendOther.statusCode, 403);
  });

  it('service accounts hold keys; a key is shown once, listed without secrets, and revoked', async () => {
    const account = await api.call(adminKey, 'PUT', `/v1/tenants/${tenant}/service-accounts/ci`, { description: 'CI' });
    assert.equal(account.statusCode, 200, account.body);
    const created = await api.call(adminKey, 'POST', `/v1/tenants/${tenant}/api-keys`, {
      serviceAccount: 'ci',
      name: 'nightly',
      scopes: ['read'],
      expiresInDays: 30,
    });
    assert.equal(created.statusCode, 201, created.body);
    const { key, ...info } = KeyView.extend({ key: z.string() }).parse(created.json());
    assert.deepEqual([info.serviceAccount, info.scopes, info.status], ['ci', ['read'], 'active']);
    assert.equal((await api.call(key, 'GET', `/v1/tenants/${tenant}`)).statusCode, 200);

    const listed = await api.call(adminKey, 'GET', `/v1/tenants/${tenant}/api-keys`);
    const keys = z.object({ apiKeys: z.array(KeyView) }).parse(listed.json()).apiKeys; // strict: no key, no hash
    assert.ok(keys.some((k) => k.keyId === info.keyId && k.name === 'nightly'));
    // The secret is what follows `msk_<key id>_`; it may itself hold '_' (base64url), so it is not split on it.
    const secret = key.slice(`msk_${info.keyId}_`.length);
    assert.equal(secret.length, 43);
    assert.ok(!listed.body.includes(secret), 'the secret is never listed');

    assert.equal((await api.call(adminKey, 'DELETE', `/v1/tenants/${tenant}/api-keys/${info.keyId}`)).statusCode, 204);
    const twice = await api.call(adminKey, 'DELETE', `/v1/tenants/${tenant}/api-keys/${info.keyId}`);
    assert.equal(twice.statusCode, 404);
    await pastKeyCache();
    const revoked = await api.call(key, 'GET', `/v1/tenants/${tenant}`);
    assert.equal(revoked.statusCode, 401);
    assert.match(errorOf(revoked), /revoked/);
  });

  it('disabling a service account refuses all its keys; enabling restores them', async () => {
    await api.call(adminKey, 'PUT', `/v1/tenants/${tenant}/service-accounts/pipeline`, {});
    const key = await api.keyOf(tenant, ['read'], 'pipeline');
    assert.equal((await api.call(key, 'GET', `/v1/tenants/${tenant}`)).statusCode, 200);
    const disabled = await api.call(adminKey, 'PUT', `/v1/tenants/${tenant}/service-accounts/pipeline`, {
      disabled: true,
    });
    assert.equal(z.object({ status: z.string() }).parse(disabled.json()).status, 'disabled');
    const refusedKey = await api.call(adminKey, 'POST', `/v1/tenants/${tenant}/api-keys`, {
      serviceAccount: 'pipeline',
      name: 'more',
      scopes: ['read'],
    });
    assert.equal(refusedKey.statusCode, 409, 'no new keys for a disabled account');
    await pastKeyCache();
    const refused = await api.call(key, 'GET', `/v1/tenants/${tenant}`);
    assert.equal(refused.statusCode, 401);
    assert.match(errorOf(refused), /service account is disabled/);
    await api.call(adminKey, 'PUT', `/v1/tenants/${tenant}/service-accounts/pipeline`, { disabled: false });
    await pastKeyCache();
    assert.equal((await api.call(key, 'GET', `/v1/tenants/${tenant}`)).statusCode, 200);
  });

  it('a suspended tenant is refused, and works again once resumed; the operator tenant cannot be suspended', async () => {
    const suspended = await api.call(operatorKey, 'PATCH', `/v1/tenants/${tenant}`, { suspended: true });
    assert.equal(TenantView.parse(suspended.json()).status, 'suspended');
    await pastKeyCache();
    const refused = await api.call(adminKey, 'GET', `/v1/tenants/${tenant}`);
    assert.equal(refused.statusCode, 401);
    assert.match(errorOf(refused), /tenant is suspended/);
    const resumed = await api.call(operatorKey, 'PATCH', `/v1/tenants/${tenant}`, {
      suspended: false,
      displayName: 'CP',
    });
    assert.deepEqual(TenantView.parse(resumed.json()), { tenant, displayName: 'CP', status: 'active' });
    await pastKeyCache();
    assert.equal((await api.call(adminKey, 'GET', `/v1/tenants/${tenant}`)).statusCode, 200);

    const self = await api.call(operatorKey, 'PATCH', `/v1/tenants/${operatorTenant}`, { suspended: true });
    assert.equal(self.statusCode, 409);
    const unknown = await api.call(operatorKey, 'PATCH', `/v1/tenants/${uniqueTenant('nobody')}`, {
      suspended: true,
    });
    assert.equal(unknown.statusCode, 404);
  });

  it('answers bad input with 400 naming the field, and injection attempts change nothing', async () => {
    const before = await api.deps.postgres.query('SELECT count(*)::int AS n FROM tenants');
    const cases: [string, 'POST' | 'PATCH' | 'DELETE' | 'PUT', string, unknown, RegExp][] = [
      [
        'a tenant id with SQL',
        'POST',
        '/v1/tenants',
        { tenant: "x'; DROP TABLE tenants; --" },
        /tenant: a tenant id is/,
      ],
      ['an unknown field', 'POST', '/v1/tenants', { tenant: 'fine-id', owner: 'me' }, /unrecognized key/i],
      ['an empty change', 'PATCH', `/v1/tenants/${tenant}`, {}, /say what to change/],
      ['an unknown scope', 'POST', `/v1/tenants/${tenant}/api-keys`, { name: 'x', scopes: ['root'] }, /scopes\.0/],
      ['no scopes', 'POST', `/v1/tenants/${tenant}/api-keys`, { name: 'x', scopes: [] }, /at least one scope/],
      [
        'a negative expiry',
        'POST',
        `/v1/tenants/${tenant}/api-keys`,
        { name: 'x', scopes: ['read'], expiresInDays: -1 },
        /expiresInDays/,
      ],
      [
        'a key id with SQL',
        'DELETE',
        `/v1/tenants/${tenant}/api-keys/${encodeURIComponent("1' OR '1'='1")}`,
        undefined,
        /16 hex digits/,
      ],
      [
        'an account id with a path',
        'PUT',
        `/v1/tenants/${tenant}/service-accounts/${encodeURIComponent('../admin')}`,
        {},
        /service account id/,
      ],
      ['malformed JSON', 'POST', `/v1/tenants/${tenant}/api-keys`, '{"name":', /malformed JSON/],
    ];
    for (const [what, method, url, body, error] of cases) {
      const key = url === '/v1/tenants' || method === 'PATCH' ? operatorKey : adminKey;
      const response = await api.call(key, method, url, body);
      assert.equal(response.statusCode, 400, `${what}: ${response.body}`);
      assert.match(errorOf(response), error, what);
    }
    const afterwards = await api.deps.postgres.query('SELECT count(*)::int AS n FROM tenants');
    assert.deepEqual(afterwards.rows, before.rows, 'no tenant made or lost');
  });

  it('a tenant admin key reaches no other tenant: 403, and the other tenant keeps its keys', async () => {
    await saveTenant(api.deps.postgres, other);
    const otherKey = await api.keyOf(other, ['read']);
    const keysBefore = await api.deps.postgres.query('SELECT key_id, revoked_at FROM api_keys WHERE tenant = $1', [
      other,
    ]);
    const otherKeyId = otherKey.split('_')[1]!;
    const attempts = [
      await api.call(adminKey, 'GET', `/v1/tenants/${other}/api-keys`),
      await api.call(adminKey, 'POST', `/v1/tenants/${other}/api-keys`, { name: 'mine now', scopes: ['admin'] }),
      await api.call(adminKey, 'DELETE', `/v1/tenants/${other}/api-keys/${otherKeyId}`),
      await api.call(adminKey, 'PUT', `/v1/tenants/${other}/service-accounts/default`, { disabled: true }),
      await api.call(adminKey, 'DELETE', `/v1/tenants/${tenant}/api-keys/${otherKeyId}`), // B's key under A's URL
    ];
    assert.deepEqual(
      attempts.map((r) => r.statusCode),
      [403, 403, 403, 403, 404],
    );
    const keysAfter = await api.deps.postgres.query('SELECT key_id, revoked_at FROM api_keys WHERE tenant = $1', [
      other,
    ]);
    assert.deepEqual(keysAfter.rows, keysBefore.rows);
    assert.equal((await api.call(otherKey, 'GET', `/v1/tenants/${other}`)).statusCode, 200);
  });
});
