import type { z } from 'zod';
import {
  isMonteCarloAlertUpdate,
  MonteCarloAlertUpdateWebhook,
  MonteCarloIncidentWebhook,
  type MonteCarloWebhook,
} from './contracts.js';
import { checkContract, readJsonInput } from '../../platform/jsonInput.js';

export type DecodedWebhook =
  { ok: true; kind: 'incident' | 'alert-update'; webhook: MonteCarloWebhook } | { ok: false; reason: string };

/**
 * A webhook body (the raw bytes, after its signature is checked) as Monte Carlo's contract, or why it is not one.
 * It is read as the kind it claims to be, so a reason names the fields of that kind rather than of both.
 */
export function decodeMonteCarloWebhook(body: Buffer, maxBytes: number): DecodedWebhook {
  const json = readJsonInput(body, { what: 'body', expected: 'a Monte Carlo webhook (JSON)', maxBytes });
  if (!json.ok) return json;
  const kind = isMonteCarloAlertUpdate(json.value) ? 'alert-update' : 'incident';
  const schema: z.ZodType<MonteCarloWebhook> =
    kind === 'alert-update' ? MonteCarloAlertUpdateWebhook : MonteCarloIncidentWebhook;
  const webhook = checkContract(schema, json.value, `invalid Monte Carlo ${kind} webhook`);
  return webhook.ok ? { ok: true, kind, webhook: webhook.value } : { ok: false, reason: webhook.reason };
}
