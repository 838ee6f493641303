import { createHmac, timingSafeEqual } from 'node:crypto';
import { parsePythonJson } from './pythonJson.js';
import { pyUrlencode } from './pythonUrlencode.js';

/**
 * Monte Carlo's webhook signature, exactly as its documentation verifies it (README.md): the lowercase hex
 * HMAC-SHA512, keyed with the secret's UTF-8 bytes, of `urllib.parse.urlencode(json.loads(body))` encoded as
 * UTF-8. The signed text is therefore re-derived from the parsed body, never the raw bytes: whitespace and escapes
 * in the body do not change it, key order and number spelling (1 or 1.0) do.
 */

export const MONTE_CARLO_SIGNATURE_HEADER = 'x-mcd-signature';

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The text Monte Carlo's HMAC covers; throws when the body is not a JSON object Python could have encoded. */
export function monteCarloSignedText(rawBody: Buffer): string {
  return pyUrlencode(parsePythonJson(decoder.decode(rawBody)));
}

export function signMonteCarloBody(rawBody: Buffer, secret: string): string {
  return createHmac('sha512', Buffer.from(secret, 'utf8')).update(monteCarloSignedText(rawBody), 'utf8').digest('hex');
}

/**
 * Whether `header` is Monte Carlo's signature of the body. Compared like Python's hmac.compare_digest: exact text
 * (so lowercase hex, as Monte Carlo sends it), in constant time. An empty secret verifies nothing, so a receiver
 * whose secret is missing from its configuration fails closed.
 */
export function verifyMonteCarloSignature(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !secret) return false;
  let expected: Buffer;
  try {
    expected = Buffer.from(signMonteCarloBody(rawBody, secret), 'utf8');
  } catch {
    return false; // not JSON, or nothing Monte Carlo could have signed
  }
  const received = Buffer.from(header, 'utf8');
  return received.length === expected.length && timingSafeEqual(received, expected);
}
