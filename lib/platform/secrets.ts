import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Secrets at rest: AES-256-GCM under the sealing key from configuration (METASYNC_SECRETS_KEY). The sealed form is
 * "v2:<key id>:<iv>:<tag>:<ciphertext>" (base64 parts), so a value names the key that opens it and keys can be
 * rotated: several keys may be configured at once (the current one seals, every one opens), and
 * `npm run secrets:rotate` re-seals what an older key sealed. "v2:<key id>" is authenticated with the value, so a
 * value cannot be moved under another key id. The first form, "v1:<iv>:<tag>:<ciphertext>", named no key; it still
 * opens under whichever configured key sealed it.
 */

export interface SealingKey {
  /** Derived from the key itself: the same key has the same id on every machine, and the id gives nothing away. */
  readonly id: string;
  readonly key: Buffer;
}

/** The keys a process holds: `current` seals; it and `previous` open (until a rotation has re-sealed everything). */
export interface SealingKeys {
  readonly current: SealingKey;
  readonly previous: readonly SealingKey[];
}

export const sealingKeyId = (key: Buffer): string =>
  createHmac('sha256', key).update('metasync sealing key id').digest('base64url').slice(0, 8);

export function sealingKeys(current: Buffer, previous: readonly Buffer[] = []): SealingKeys {
  const toKey = (key: Buffer): SealingKey => {
    if (key.length !== 32) throw new Error(`a sealing key is 32 bytes, got ${key.length}`);
    return { id: sealingKeyId(key), key };
  };
  const currentKey = toKey(current);
  const others = previous.map(toKey).filter((key) => key.id !== currentKey.id);
  return { current: currentKey, previous: others.filter((key, i) => others.findIndex((k) => k.id === key.id) === i) };
}

/** Every key that may open a value, the current one first. */
export const openingKeys = (keys: SealingKeys): SealingKey[] => [keys.current, ...keys.previous];

/** A sealed value none of the configured keys opens: says which key it needs, never what it holds. */
export class SealedWithUnknownKeyError extends Error {
  constructor(readonly keyId: string | undefined) {
    super(
      keyId === undefined
        ? 'a secret sealed in the first form (v1) opens under none of the configured keys: configure the key that sealed it in METASYNC_SECRETS_PREVIOUS_KEYS (if it was the published development key, run npm run secrets:rotate -- --from-published-key)'
        : `a secret is sealed under key ${keyId}, which is not configured: add that key to METASYNC_SECRETS_PREVIOUS_KEYS (or run npm run secrets:rotate where it is configured)`,
    );
    this.name = 'SealedWithUnknownKeyError';
  }
}

const b64 = (buffer: Buffer) => buffer.toString('base64');

export function sealSecret(plain: string, keys: SealingKeys): string {
  const { id, key } = keys.current;
  const header = `v2:${id}`;
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(header));
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return [header, b64(iv), b64(cipher.getAuthTag()), b64(ciphertext)].join(':');
}

/** The key id a sealed value names; undefined for the first form (v1), which names none. */
export function sealedKeyId(sealed: string): string | undefined {
  const parts = sealed.split(':');
  if (parts[0] === 'v2' && parts.length === 5) return parts[1];
  if (parts[0] === 'v1' && parts.length === 4) return undefined;
  throw new Error('not a sealed secret');
}

/** Whether a value is sealed under the current key already (what a rotation leaves alone). */
export const isSealedUnderCurrent = (sealed: string, keys: SealingKeys): boolean =>
  sealedKeyId(sealed) === keys.current.id;

function open(key: Buffer, iv: string, tag: string, ciphertext: string, aad?: string): string {
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
  if (aad !== undefined) decipher.setAAD(Buffer.from(aad));
  decipher.setAuthTag(Buffer.from(tag, 'base64'));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64')), decipher.final()]).toString('utf8');
}

export function openSecret(sealed: string, keys: SealingKeys): string {
  const parts = sealed.split(':');
  const keyId = sealedKeyId(sealed);
  if (parts[0] === 'v2') {
    const [, , iv, tag, ciphertext] = parts as [string, string, string, string, string];
    const key = openingKeys(keys).find((candidate) => candidate.id === keyId);
    if (!key) throw new SealedWithUnknownKeyError(keyId);
    return open(key.key, iv, tag, ciphertext, `v2:${keyId}`);
  }
  const [, iv, tag, ciphertext] = parts as [string, string, string, string];
  for (const { key } of openingKeys(keys)) {
    try {
      return open(key, iv, tag, ciphertext);
    } catch {
      // GCM's tag says whether this was the key: try the next one
    }
  }
  throw new SealedWithUnknownKeyError(undefined);
}

/**
 * The key earlier versions fell back to when none was configured. It is in this repository for everyone to read, so
 * configuration refuses it (lib/platform/config.ts) and only a rotation away from it (--from-published-key) may use it.
 */
export const PUBLISHED_DEVELOPMENT_KEY = Buffer.from('bWV0YXN5bmMtbG9jYWwtc3RhY2stb25seS1rZXkhISE=', 'base64');

/** What a rotation did to one kind of sealed value. */
export interface ResealCounts {
  examined: number;
  /** Opened under an older key and sealed again under the current one. */
  resealed: number;
  /** Changed by someone else between reading and re-sealing: a next pass looks at them again. */
  changedMeanwhile: number;
  /** Opened by none of the configured keys, by the key id they name ("v1" for the first form, "unreadable"). */
  unopenable: Record<string, number>;
}

export const noCounts = (): ResealCounts => ({ examined: 0, resealed: 0, changedMeanwhile: 0, unopenable: {} });

/**
 * A sealed value under the current key: null when it is there already, else the same secret sealed again. Undefined
 * (and counted) when none of the configured keys opens it; a rotation leaves such a value as it is.
 */
export function resealed(sealed: string, keys: SealingKeys, counts: ResealCounts): string | null | undefined {
  counts.examined += 1;
  try {
    if (isSealedUnderCurrent(sealed, keys)) return null;
    return sealSecret(openSecret(sealed, keys), keys);
  } catch (error) {
    // A value no key opens stays as it is, counted by the key it names (or as unreadable: damaged, not sealed).
    const id = error instanceof SealedWithUnknownKeyError ? (error.keyId ?? 'v1') : 'unreadable';
    counts.unopenable[id] = (counts.unopenable[id] ?? 0) + 1;
    return undefined;
  }
}
