import type { Client as TemporalClient } from '@temporalio/client';

/** Where a secret showed up, with the secret itself replaced by its name: a report must not repeat it. */
export interface Leak {
  secret: string;
  where: string;
  excerpt: string;
}

/** The forms a secret may take on its way out: as given, and base64- or URL-encoded. */
function forms(value: string): string[] {
  return [...new Set([value, Buffer.from(value).toString('base64'), encodeURIComponent(value)])];
}

/** Every occurrence of every secret (any of its forms) in every text, by secret name and text name. */
export function findLeaks(texts: Record<string, string>, secrets: Record<string, string>): Leak[] {
  const leaks: Leak[] = [];
  for (const [where, text] of Object.entries(texts)) {
    for (const [name, value] of Object.entries(secrets)) {
      for (const form of forms(value)) {
        let at = text.indexOf(form);
        while (at !== -1) {
          const around = text.slice(Math.max(0, at - 60), at + form.length + 60);
          leaks.push({ secret: name, where, excerpt: around.replaceAll(form, `<${name}>`) });
          at = text.indexOf(form, at + form.length);
        }
      }
    }
  }
  return leaks;
}

/** Payloads (and failure details) are bytes in a history: shown as the UTF-8 text they hold, as a reader sees them. */
function readable(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (Array.isArray(value)) return value.map(readable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, readable(inner)]));
  }
  return value;
}

/** The full histories of every workflow execution of a tenant (runs, children, continued runs), serialized. */
export async function tenantHistories(temporal: TemporalClient, tenant: string): Promise<Record<string, string>> {
  const histories: Record<string, string> = {};
  for await (const execution of temporal.workflow.list({ query: `TenantId = '${tenant}'` })) {
    const history = await temporal.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    histories[`history of ${execution.workflowId} (${execution.runId})`] = JSON.stringify(readable(history));
  }
  return histories;
}
