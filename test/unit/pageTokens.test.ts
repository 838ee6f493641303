import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { pageTokens } from '../../api/paging.js';
import { sealingKeys } from '../../lib/platform/secrets.js';

describe('page tokens', () => {
  const tokens = pageTokens(sealingKeys(randomBytes(32)));
  const listing = JSON.stringify(['tenant-a', 'catalog', 'postgres://warehouse/sales']);
  const state = '0123456789abcdef00ff';

  it('give back the paging state for the listing that handed them out, and null for the last page', () => {
    const token = tokens.seal(listing, state);
    assert.match(token ?? '', /^[0-9a-f]+$/);
    assert.equal(tokens.open(listing, token!), state);
    assert.equal(tokens.seal(listing, null), null);
  });

  it('refuse another listing’s token, an edited one, one sealed with another secret, and one with no state', () => {
    const token = tokens.seal(listing, state)!;
    const other = JSON.stringify(['tenant-b', 'catalog', 'postgres://warehouse/sales']);
    assert.equal(tokens.open(other, token), null);
    assert.equal(tokens.open(listing, `${token.slice(0, -2)}00`), null);
    assert.equal(tokens.open(listing, pageTokens(sealingKeys(randomBytes(32))).seal(listing, state)!), null);
    assert.equal(tokens.open(listing, token.slice(0, 32)), null);
  });

  it('keep opening across a key rotation while the old key is configured, and not after it is removed', () => {
    const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];
    const before = pageTokens(sealingKeys(oldKey)).seal(listing, state)!;
    const during = pageTokens(sealingKeys(newKey, [oldKey]));
    assert.equal(during.open(listing, before), state, 'a token handed out before the rotation');
    const fresh = during.seal(listing, state)!;
    assert.equal(pageTokens(sealingKeys(newKey)).open(listing, fresh), state, 'new tokens are made with the new key');
    assert.equal(pageTokens(sealingKeys(newKey)).open(listing, before), null, 'the old key removed: start again');
  });
});
