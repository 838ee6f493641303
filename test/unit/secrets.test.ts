import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  isSealedUnderCurrent,
  noCounts,
  openSecret,
  resealed,
  sealedKeyId,
  SealedWithUnknownKeyError,
  sealingKeys,
  sealSecret,
} from '../../lib/platform/secrets.js';

/** The first sealed form, as the code before key ids wrote it: "v1:<iv>:<tag>:<ciphertext>". */
function sealV1(plain: string, key: Buffer): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ciphertext]
    .map((part) => (Buffer.isBuffer(part) ? part.toString('base64') : part))
    .join(':');
}

describe('sealed secrets', () => {
  const [oldKey, newKey] = [randomBytes(32), randomBytes(32)];

  it('name the key that sealed them, and open under it', () => {
    const keys = sealingKeys(newKey);
    const sealed = sealSecret('pa:ss', keys);
    assert.match(sealed, new RegExp(`^v2:${keys.current.id}:`));
    assert.equal(sealedKeyId(sealed), keys.current.id);
    assert.equal(openSecret(sealed, keys), 'pa:ss');
    assert.notEqual(sealSecret('pa:ss', keys), sealed, 'a fresh IV each time');
  });

  it('key ids come from the key alone: the same on every machine, different for another key', () => {
    assert.equal(sealingKeys(Buffer.from(oldKey)).current.id, sealingKeys(oldKey).current.id);
    assert.notEqual(sealingKeys(newKey).current.id, sealingKeys(oldKey).current.id);
    assert.throws(() => sealingKeys(randomBytes(16)), /32 bytes/);
  });

  it('open under a previous key while it is configured, and say which key is missing once it is not', () => {
    const sealedOld = sealSecret('old secret', sealingKeys(oldKey));
    const rotating = sealingKeys(newKey, [oldKey]);
    assert.equal(openSecret(sealedOld, rotating), 'old secret');
    assert.equal(openSecret(sealSecret('new secret', rotating), rotating), 'new secret');
    assert.throws(
      () => openSecret(sealedOld, sealingKeys(newKey)),
      (error: unknown) =>
        error instanceof SealedWithUnknownKeyError &&
        error.keyId === sealingKeys(oldKey).current.id &&
        /METASYNC_SECRETS_PREVIOUS_KEYS/.test(error.message) &&
        !error.message.includes('old secret'),
    );
  });

  it('still open in the first form (v1), under whichever configured key sealed them', () => {
    const v1 = sealV1('legacy', oldKey);
    assert.equal(sealedKeyId(v1), undefined);
    assert.equal(openSecret(v1, sealingKeys(newKey, [oldKey])), 'legacy');
    assert.throws(() => openSecret(v1, sealingKeys(newKey)), SealedWithUnknownKeyError);
  });

  it('cannot be moved under another key id, nor edited', () => {
    const keys = sealingKeys(newKey, [oldKey]);
    const sealed = sealSecret('secret', keys);
    const [, , iv, tag, ciphertext] = sealed.split(':');
    const relabelled = ['v2', sealingKeys(oldKey).current.id, iv, tag, ciphertext].join(':');
    assert.throws(() => openSecret(relabelled, keys));
    const edited = sealed.slice(0, -2) + (sealed.endsWith('A=') ? 'B=' : 'A=');
    assert.throws(() => openSecret(edited, keys));
    assert.throws(() => openSecret('plain text', keys), /not a sealed secret/);
  });

  it('re-seal under the current key, leave current ones alone and count what no key opens', () => {
    const rotating = sealingKeys(newKey, [oldKey]);
    const counts = noCounts();
    const fromOld = resealed(sealSecret('a', sealingKeys(oldKey)), rotating, counts);
    const fromV1 = resealed(sealV1('b', oldKey), rotating, counts);
    assert.ok(fromOld && isSealedUnderCurrent(fromOld, rotating) && openSecret(fromOld, sealingKeys(newKey)) === 'a');
    assert.ok(fromV1 && isSealedUnderCurrent(fromV1, rotating) && openSecret(fromV1, sealingKeys(newKey)) === 'b');
    assert.equal(resealed(sealSecret('c', rotating), rotating, counts), null);
    const stranger = sealingKeys(randomBytes(32));
    assert.equal(resealed(sealSecret('d', stranger), rotating, counts), undefined);
    assert.equal(resealed('damaged', rotating, counts), undefined);
    assert.deepEqual(counts, {
      examined: 5,
      resealed: 0, // counted by the caller, once its update landed
      changedMeanwhile: 0,
      unopenable: { [stranger.current.id]: 1, unreadable: 1 },
    });
  });
});
