import { z } from 'zod';
import { Command, type TenantId } from './contracts.js';

export type Decoded = { ok: true; command: Command } | { ok: false; reason: string; tenant?: TenantId };

/**
 * Turns a raw Kafka message from the commands topic into a command, or into the reason it is rejected.
 * The message key must name the same tenant as the event: producers partition by tenant, and an event
 * that claims another tenant than its key is refused rather than trusted.
 */
export function decodeCommand(key: Buffer | null, value: Buffer | null, maxBytes: number): Decoded {
  if (!value || value.length === 0) return { ok: false, reason: 'empty message: expected a JSON event envelope' };
  if (value.length > maxBytes) return { ok: false, reason: `oversized message: ${value.length} bytes > ${maxBytes}` };
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (error) {
    return { ok: false, reason: `malformed JSON: ${(error as Error).message}` };
  }
  const parsed = Command.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `invalid command: ${z.prettifyError(parsed.error)}` };
  const command = parsed.data;
  const keyTenant = key?.toString('utf8');
  if (keyTenant !== command.tenant) {
    return {
      ok: false,
      reason: `tenant mismatch: message key is ${JSON.stringify(keyTenant ?? null)} but the event claims ${JSON.stringify(command.tenant)}`,
    };
  }
  return { ok: true, command };
}
