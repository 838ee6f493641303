import { execa } from 'execa';
import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import type { SourceConnection } from '../../lib/extractors/index.js';
import {
  PUBLISHED_DEVELOPMENT_KEY,
  SealedWithUnknownKeyError,
  sealingKeys,
  type SealingKeys,
} from '../../lib/platform/secrets.js';
import { loadConnection, saveConnection } from '../../lib/stores/connections.js';
import { loadMonteCarloSecret, saveMonteCarloSecret } from '../../lib/stores/monteCarlo.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { uniqueTenant } from '../support/harness.js';
import { openStack } from '../support/stack.js';

/**
 * A key rotation on the real control-plane database: values sealed under the old key (and in the first, v1, form)
 * keep opening while `npm run secrets:rotate` re-seals them, and afterwards nothing of the tenant is sealed under
 * the old key. Scoped to this test's tenants, so the values of other tests running beside it are not touched.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const stack = openStack();
const { postgres } = stack;
const tenant = uniqueTenant('rotation');
const bystander = uniqueTenant('rotation-bystander');
const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
const before = sealingKeys(oldKey);
const during = sealingKeys(newKey, [oldKey]);
const afterwards = sealingKeys(newKey);

/** The first sealed form, as the code before key ids wrote it. */
function sealV1(plain: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64'), cipher.getAuthTag().toString('base64'), ciphertext.toString('base64')].join(':');
}

const source = (password: string): SourceConnection => ({
  type: 'postgres',
  host: 'db.internal',
  port: 5432,
  database: 'sales',
  user: 'metasync',
  password,
  connectTimeoutSeconds: 10,
  tls: { mode: 'disable' },
});

/** A connection written as the code before key ids stored it: its password in the v1 form. */
async function saveLegacyConnection(connectionId: string, password: string, key: Buffer) {
  const stored = { ...source(''), password: sealV1(password, key) };
  await postgres.query('INSERT INTO connections (tenant, connection_id, source_type, source) VALUES ($1, $2, $3, $4)', [
    tenant,
    connectionId,
    'postgres',
    JSON.stringify(stored),
  ]);
}

/** What each of the tenant's secrets opens to under `keys`. */
async function openAll(keys: SealingKeys, connections: string[]) {
  const opened: Record<string, string | undefined> = {};
  for (const id of connections) {
    const loaded = await loadConnection(postgres, keys, tenant, id);
    opened[id] = loaded?.type === 'postgres' ? loaded.password : undefined;
  }
  opened['webhook'] = await loadMonteCarloSecret(postgres, keys, tenant);
  return opened;
}

/** Every sealed value of a tenant as PostgreSQL holds it. */
async function storedSealed(ofTenant: string): Promise<string[]> {
  const { rows } = await postgres.query<{ sealed: string }>(
    `SELECT source->>'password' AS sealed FROM connections WHERE tenant = $1
     UNION ALL SELECT secret FROM webhook_secrets WHERE tenant = $1`,
    [ofTenant],
  );
  return rows.map((row) => row.sealed);
}

/** `npm run secrets:rotate` for some of this test's tenants, with the keys given as the environment gives them. */
const rotate = (tenants: string[], keys: { current: Buffer; previous: Buffer[] }, ...args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', 'starters/secretsRotate.ts', '--tenant', ...tenants, ...args], {
    cwd: root,
    env: {
      METASYNC_SECRETS_KEY: keys.current.toString('base64'),
      METASYNC_SECRETS_PREVIOUS_KEYS: keys.previous.map((key) => key.toString('base64')).join(','),
    },
    all: true,
    reject: false,
  });

describe('sealing key rotation', () => {
  after(() => stack.close());

  it('re-seals every value under the new key while old and new values keep opening', async () => {
    await saveTenant(postgres, tenant);
    await saveTenant(postgres, bystander);
    // Before: sealed under the old key, one of them in the v1 form; and a secret of another tenant.
    await saveConnection(postgres, before, tenant, 'old', source('old password'));
    await saveLegacyConnection('legacy', 'legacy password', oldKey);
    await saveMonteCarloSecret(postgres, before, tenant, 'webhook secret');
    await saveConnection(postgres, sealingKeys(randomBytes(32)), bystander, 'theirs', source('not ours'));

    // During: the new key seals, the old one still opens.
    await saveConnection(postgres, during, tenant, 'new', source('new password'));
    const expected = {
      old: 'old password',
      legacy: 'legacy password',
      new: 'new password',
      webhook: 'webhook secret',
    };
    const connections = ['old', 'legacy', 'new'];
    assert.deepEqual(await openAll(during, connections), expected);

    // The rotation runs as its own process while this one keeps reading every value with the rotation's keys.
    const bystanderBefore = await storedSealed(bystander);
    const rotation = rotate([tenant], { current: newKey, previous: [oldKey] });
    let reads = 0;
    let finished = false;
    void rotation.finally(() => (finished = true));
    while (!finished || reads === 0) {
      assert.deepEqual(await openAll(during, connections), expected, 'every value opens during the rotation');
      reads += 1;
    }
    const { exitCode, all } = await rotation;
    assert.equal(exitCode, 0, all);
    assert.match(all ?? '', /connection secrets: 3 sealed, 2 re-sealed/);
    assert.match(all ?? '', /webhook secrets: 1 sealed, 1 re-sealed/);
    assert.match(all ?? '', new RegExp(`every sealed value of these tenants is under key ${afterwards.current.id}`));
    assert.deepEqual(await storedSealed(bystander), bystanderBefore, "another tenant's values are not touched");

    // After: nothing of the tenant is sealed under the old key; the new key alone opens everything.
    const sealed = await storedSealed(tenant);
    assert.equal(sealed.length, 4);
    for (const value of sealed) assert.ok(value.startsWith(`v2:${afterwards.current.id}:`), 'sealed under the new key');
    assert.deepEqual(await openAll(afterwards, connections), expected);
    await assert.rejects(loadConnection(postgres, before, tenant, 'legacy'), SealedWithUnknownKeyError);
    assert.ok(reads > 0);
  });

  it('reports what no configured key opens, and re-seals what the published key sealed only when asked', async () => {
    // The bystander's value is under a key this rotation does not have: counted, left alone, exit 1.
    const [theirs] = await storedSealed(bystander);
    const partial = await rotate([tenant, bystander], { current: newKey, previous: [] });
    assert.equal(partial.exitCode, 1, partial.all);
    assert.match(
      partial.all ?? '',
      /connection secrets: 4 sealed, 0 re-sealed, 1 under key [\w-]{8}, which is not configured/,
    );
    assert.deepEqual(await storedSealed(bystander), [theirs]);

    // An installation that ran on the published key: its v1 values open with --from-published-key only.
    await postgres.query('DELETE FROM connections WHERE tenant = $1', [bystander]);
    await saveLegacyConnection('published', 'published password', PUBLISHED_DEVELOPMENT_KEY);
    const without = await rotate([tenant], { current: newKey, previous: [] });
    assert.match(without.all ?? '', /1 under key v1, which is not configured/);
    const withFlag = await rotate([tenant], { current: newKey, previous: [] }, '--from-published-key');
    assert.equal(withFlag.exitCode, 0, withFlag.all);
    assert.match(withFlag.all ?? '', /connection secrets: 4 sealed, 1 re-sealed/);
    const loaded = await loadConnection(postgres, afterwards, tenant, 'published');
    assert.equal(loaded?.type === 'postgres' && loaded.password, 'published password');

    const again = await rotate([tenant], { current: newKey, previous: [] });
    assert.equal(again.exitCode, 0, again.all);
    assert.match(again.all ?? '', /connection secrets: 4 sealed, 0 re-sealed/);
  });
});
