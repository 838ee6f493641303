import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hashSecret, newApiKey, parseApiKey, secretMatches } from '../../lib/stores/apiKeys.js';

describe('API keys', () => {
  it('makes msk_<key id>_<secret> keys that parse back, 32 random bytes of secret each', () => {
    const keys = Array.from({ length: 200 }, () => newApiKey());
    for (const { keyId, secret, key } of keys) {
      assert.match(key, /^msk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
      assert.equal(Buffer.from(secret, 'base64url').length, 32);
      assert.deepEqual(parseApiKey(key), { keyId, secret });
    }
    assert.equal(new Set(keys.map((key) => key.key)).size, keys.length);
    // A secret may hold '_' itself: the key id ends at the first one.
    assert.deepEqual(parseApiKey(`msk_0123456789abcdef_${'_'.repeat(43)}`), {
      keyId: '0123456789abcdef',
      secret: '_'.repeat(43),
    });
  });

  it('refuses what is not a whole key', () => {
    const { key, keyId, secret } = newApiKey();
    for (const malformed of [
      '',
      'msk_',
      key.slice(0, -1), // truncated when copied
      `${key}x`,
      ` ${key}`,
      key.replace('msk_', 'MSK_'),
      `sk_${keyId}_${secret}`,
      `msk_${keyId.toUpperCase()}_${secret}`,
      `msk_${keyId}_${secret.slice(0, 42)}=`,
      `msk_${keyId}${secret}`,
    ]) {
      assert.equal(parseApiKey(malformed), undefined, malformed);
    }
  });

  it('matches a secret against its SHA-256 only', () => {
    const { secret } = newApiKey();
    const hash = hashSecret(secret);
    assert.equal(hash.length, 32);
    assert.equal(hash.toString('hex'), hashSecret(secret).toString('hex'));
    assert.ok(secretMatches(secret, hash));
    assert.ok(!secretMatches(newApiKey().secret, hash));
    assert.ok(!secretMatches(secret.slice(0, -1) + (secret.endsWith('A') ? 'B' : 'A'), hash));
    assert.ok(!secretMatches(secret, hash.subarray(0, 16)), 'a short stored hash never matches (no throw)');
  });
});
