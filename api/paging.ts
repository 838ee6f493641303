import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { openingKeys, type SealingKeys } from '../lib/platform/secrets.js';
import type { Page } from '../lib/stores/lineage.js';

const MAC_HEX = 32;

/**
 * Page tokens are Cassandra paging states with a MAC of the listing they belong to (tenant, route, what is listed).
 * Cassandra would resume a paging state from another partition at that position without a word, so a token from
 * another tenant or listing, or an edited one, is refused here instead. The MAC is made with the current sealing key
 * and checked with every configured one, so a token handed out before a key rotation keeps working until its key is
 * removed from METASYNC_SECRETS_PREVIOUS_KEYS; after that the client starts its listing again (a 400 says so).
 */
export function pageTokens(keys: SealingKeys) {
  const macKey = (secret: Buffer) => Buffer.from(hkdfSync('sha256', secret, '', 'metasync page tokens', 32));
  const [current, ...others] = openingKeys(keys).map((key) => macKey(key.key)) as [Buffer, ...Buffer[]];
  const mac = (key: Buffer, listing: string, state: string) =>
    createHmac('sha256', key).update(`${listing}\n${state}`).digest('hex').slice(0, MAC_HEX);
  return {
    seal: (listing: string, state: string | null) => (state === null ? null : mac(current, listing, state) + state),
    /** The paging state, or null when the token is not one `seal` gave for this listing. */
    open(listing: string, token: string): string | null {
      const state = token.slice(MAC_HEX);
      if (!state) return null;
      const given = Buffer.from(token.slice(0, MAC_HEX));
      const valid = (key: Buffer) => {
        const expected = Buffer.from(mac(key, listing, state));
        return given.length === expected.length && timingSafeEqual(given, expected);
      };
      return [current, ...others].some(valid) ? state : null;
    },
  };
}

/** A sealed paging state: hex, with room for the paging state of long qualified names (it holds the partition key). */
export const PageToken = z
  .string()
  .regex(/^[0-9a-f]{34,16000}$/, 'a page token is the nextPageToken of the previous page, unchanged')
  .describe('The nextPageToken of the previous page');

/** Thrown for a token that is not this listing's; the error handler answers it 400 with the message. */
const badPageToken = () =>
  Object.assign(new Error('invalid pageToken: pass the nextPageToken of the previous page, unchanged'), {
    statusCode: 400,
  });

const isBadPagingState = (error: unknown) => /paging state|pageState|Invalid value/i.test(String(error));

/**
 * Reads one page of a Cassandra listing for a caller's page token, and seals the next page's token for the same
 * listing. `listing` names what is listed (tenant first); a token of any other listing is a 400.
 */
export function cassandraPager(keys: SealingKeys) {
  const tokens = pageTokens(keys);
  return async function readPage<T>(
    listing: unknown[],
    pageToken: string | undefined,
    read: (pageState: string | null) => Promise<Page<T>>,
  ): Promise<{ items: T[]; nextPageToken: string | null }> {
    const name = JSON.stringify(listing);
    const state = pageToken === undefined ? null : tokens.open(name, pageToken);
    if (pageToken !== undefined && state === null) throw badPageToken();
    try {
      const page = await read(state);
      return { items: page.items, nextPageToken: tokens.seal(name, page.next) };
    } catch (error) {
      if (state !== null && isBadPagingState(error)) throw badPageToken();
      throw error;
    }
  };
}
