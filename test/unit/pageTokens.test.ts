import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { pageTokens } from '../../api/paging.js';

describe('page tokens', () => {
  const tokens = pageTokens(randomBytes(32));
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
    assert.equal(tokens.open(listing, pageTokens(randomBytes(32)).seal(listing, state)!), null);
    assert.equal(tokens.open(listing, token.slice(0, 32)), null);
  });
});
