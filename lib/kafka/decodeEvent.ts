import { z } from 'zod';
import type { TenantId } from '../platform/ids.js';
import { parseJsonInput } from '../platform/jsonInput.js';

export type Decoded<T> = { ok: true; event: T } | { ok: false; reason: string; tenant?: TenantId };

/**
 * Turns a raw Kafka message from `topicTenant`'s inbound topic into an event of `schema`, or into the reason it is
 * rejected. The topic is what proves the tenant: only that tenant's principal and MetaSync's services may write it
 * (lib/kafka/access.ts). So an event whose body claims another tenant is refused, and so is one whose key (which
 * producers partition by, `keyOf` of the event) names another tenant or another incident than the event.
 */
export function decodeEvent<S extends z.ZodType<{ tenant: TenantId }>>(
  schema: S,
  keyOf: (event: z.infer<S>) => string,
  message: { key: Buffer | null; value: Buffer | null },
  maxBytes: number,
  topicTenant: TenantId,
): Decoded<z.infer<S>> {
  const { key, value } = message;
  if (!value || value.length === 0) return { ok: false, reason: 'empty message: expected a JSON event envelope' };
  if (value.length > maxBytes) return { ok: false, reason: `oversized message: ${value.length} bytes > ${maxBytes}` };
  const json = parseJsonInput(value);
  if (!json.ok) return json;
  const parsed = schema.safeParse(json.value);
  if (!parsed.success) return { ok: false, reason: `invalid event: ${z.prettifyError(parsed.error)}` };
  const event = parsed.data;
  if (event.tenant !== topicTenant) {
    return {
      ok: false,
      reason: `tenant mismatch: the event claims ${JSON.stringify(event.tenant)} on tenant ${JSON.stringify(topicTenant)}'s topic`,
    };
  }
  const expected = keyOf(event);
  const actual = key?.toString('utf8') ?? null;
  if (actual !== expected) {
    const keyTenant = actual?.split('/')[0] ?? null;
    return {
      ok: false,
      reason:
        keyTenant === topicTenant
          ? `key mismatch: message key is ${JSON.stringify(actual)} but the event's key is ${JSON.stringify(expected)}`
          : `tenant mismatch: message key is ${JSON.stringify(actual)} on tenant ${JSON.stringify(topicTenant)}'s topic`,
    };
  }
  return { ok: true, event };
}
