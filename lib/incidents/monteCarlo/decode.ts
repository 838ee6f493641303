import { z } from 'zod';
import {
  isMonteCarloAlertUpdate,
  MonteCarloAlertUpdateWebhook,
  MonteCarloIncidentWebhook,
  type MonteCarloWebhook,
} from './contracts.js';
import { parseJsonInput } from '../../platform/jsonInput.js';

export type DecodedWebhook =
  { ok: true; kind: 'incident' | 'alert-update'; webhook: MonteCarloWebhook } | { ok: false; reason: string };

/**
 * A webhook body (the raw bytes, after its signature is checked) as Monte Carlo's contract, or why it is not one.
 * It is read as the kind it claims to be, so a reason names the fields of that kind rather than of both.
 */
export function decodeMonteCarloWebhook(body: Buffer, maxBytes: number): DecodedWebhook {
  if (body.length === 0) return { ok: false, reason: 'empty body: expected a Monte Carlo webhook (JSON)' };
  if (body.length > maxBytes) return { ok: false, reason: `oversized body: ${body.length} bytes > ${maxBytes}` };
  const parsed = parseJsonInput(body, 'body');
  if (!parsed.ok) return parsed;
  const json = parsed.value;
  const kind = isMonteCarloAlertUpdate(json) ? 'alert-update' : 'incident';
  const webhook = (kind === 'alert-update' ? MonteCarloAlertUpdateWebhook : MonteCarloIncidentWebhook).safeParse(json);
  if (!webhook.success) {
    return { ok: false, reason: `invalid Monte Carlo ${kind} webhook: ${z.prettifyError(webhook.error)}` };
  }
  return { ok: true, kind, webhook: webhook.data };
}
