import type { z } from 'zod';
import type { TenantId } from '../platform/ids.js';
import { decodeJsonInput } from '../platform/jsonInput.js';

export type Decoded<T> = { ok: true; event: T } | { ok: false; reason: string; tenant?: TenantId };

/** Why a message's key does not fit its event (`key` as the message has it), or undefined when it does. */
export type KeyCheck<T> = (event: T, key: string | null, topicTenant: TenantId) => string | undefined;

/**
 * The key check of the inbound topics: the key is the one producers partition by, `keyOf` the event; a key that
 * names another tenant is a tenant mismatch, any other a key mismatch.
 */
export const keyedBy =
  <T>(keyOf: (event: T) => string): KeyCheck<T> =>
  (event, actual, topicTenant) => {
    const expected = keyOf(event);
    if (actual === expected) return undefined;
    const keyTenant = actual?.split('/')[0] ?? null;
    return keyTenant === topicTenant
      ? `key mismatch: message key is ${JSON.stringify(actual)} but the event's key is ${JSON.stringify(expected)}`
      : `tenant mismatch: message key is ${JSON.stringify(actual)} on tenant ${JSON.stringify(topicTenant)}'s topic`;
  };

/**
 * Turns a raw Kafka message from one of `topicTenant`'s topics into an event of `schema`, or into the reason it is
 * rejected. The topic is what proves the tenant: only that tenant's principal and MetaSync's services may write it
 * (lib/kafka/access.ts). So an event whose body claims another tenant is refused, and so is one whose key does not
 * fit it (`checkKey`: e.g. names another tenant or another incident than the event). Every consumer decodes so.
 */
export function decodeEvent<S extends z.ZodType<{ tenant: TenantId }>>(
  schema: S,
  checkKey: KeyCheck<z.infer<S>>,
  message: { key: Buffer | null; value: Buffer | null },
  maxBytes: number,
  topicTenant: TenantId,
): Decoded<z.infer<S>> {
  const decoded = decodeJsonInput(schema, message.value, {
    what: 'message',
    expected: 'a JSON event envelope',
    maxBytes,
  });
  if (!decoded.ok) return { ok: false, reason: decoded.reason };
  const event = decoded.value;
  if (event.tenant !== topicTenant) {
    return {
      ok: false,
      reason: `tenant mismatch: the event claims ${JSON.stringify(event.tenant)} on tenant ${JSON.stringify(topicTenant)}'s topic`,
    };
  }
  const keyProblem = checkKey(event, message.key?.toString('utf8') ?? null, topicTenant);
  return keyProblem === undefined ? { ok: true, event } : { ok: false, reason: keyProblem };
}
