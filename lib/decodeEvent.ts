import { z } from 'zod';
import type { TenantId } from './contracts.js';
import { parseJsonInput } from './jsonInput.js';

export type Decoded<T> = { ok: true; event: T } | { ok: false; reason: string; tenant?: TenantId };

/**
 * Turns a raw Kafka message into an event of `schema`, or into the reason it is rejected. The message key must be
 * the one `keyOf` gives the event (it starts with the tenant): producers partition by it, and an event that
 * claims another tenant or incident than its key is refused rather than trusted.
 */
export function decodeEvent<S extends z.ZodType<{ tenant: TenantId }>>(
  schema: S,
  keyOf: (event: z.infer<S>) => string,
  message: { key: Buffer | null; value: Buffer | null },
  maxBytes: number,
): Decoded<z.infer<S>> {
  const { key, value } = message;
  if (!value || value.length === 0) return { ok: false, reason: 'empty message: expected a JSON event envelope' };
  if (value.length > maxBytes) return { ok: false, reason: `oversized message: ${value.length} bytes > ${maxBytes}` };
  const json = parseJsonInput(value);
  if (!json.ok) return json;
  const parsed = schema.safeParse(json.value);
  if (!parsed.success) return { ok: false, reason: `invalid event: ${z.prettifyError(parsed.error)}` };
  const event = parsed.data;
  const expected = keyOf(event);
  const actual = key?.toString('utf8') ?? null;
  if (actual !== expected) {
    const keyTenant = actual?.split('/')[0] ?? null;
    return {
      ok: false,
      reason:
        keyTenant === event.tenant
          ? `key mismatch: message key is ${JSON.stringify(actual)} but the event's key is ${JSON.stringify(expected)}`
          : `tenant mismatch: message key is ${JSON.stringify(actual)} but the event claims ${JSON.stringify(event.tenant)}`,
    };
  }
  return { ok: true, event };
}
