import { z } from 'zod';
import { eventually } from './harness.js';

/** Zipkin's span, as its API (GET /api/v2/traces) gives it back: what the trace tests look at. */
export const ZipkinSpan = z.object({
  traceId: z.string(),
  id: z.string(),
  parentId: z.string().optional(),
  name: z.string().default(''),
  kind: z.enum(['CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER']).optional(),
  timestamp: z.number(),
  duration: z.number().default(0),
  localEndpoint: z.object({ serviceName: z.string().default('') }).default({ serviceName: '' }),
  tags: z.record(z.string(), z.string()).default({}),
});
export type ZipkinSpan = z.infer<typeof ZipkinSpan>;
const Traces = z.array(z.array(ZipkinSpan));

/** The stack's Zipkin (stack/services/zipkin.sh); ZIPKIN_URL points the tests at another. */
export const zipkinUrl = (process.env['ZIPKIN_URL'] ?? 'http://127.0.0.1:9411').replace(/\/$/, '');
export const zipkinSpansEndpoint = `${zipkinUrl}/api/v2/spans`;

/** The traces of the last `lookbackMs` that have a span of `serviceName`. */
export async function tracesOf(serviceName: string, lookbackMs = 600_000): Promise<ZipkinSpan[][]> {
  const query = new URLSearchParams({ serviceName, lookback: String(lookbackMs), limit: '1000' });
  const response = await fetch(`${zipkinUrl}/api/v2/traces?${query.toString()}`);
  if (!response.ok) throw new Error(`Zipkin answered ${response.status}: is it up? bash stack/up.sh zipkin`);
  return Traces.parse(await response.json());
}

/** Waits for a trace of `serviceName` that `wanted` accepts (spans arrive in batches, seconds apart). */
export const traceWhere = (serviceName: string, wanted: (spans: ZipkinSpan[]) => boolean, what: string) =>
  eventually(async () => (await tracesOf(serviceName)).find(wanted), 60_000, what);

/** The chain of spans from `span` up to its trace's root, or the id of the first parent missing from `spans`. */
export function ancestry(span: ZipkinSpan, spans: ZipkinSpan[]): { chain: ZipkinSpan[]; missing?: string } {
  const byId = new Map(spans.map((s) => [s.id, s]));
  const chain = [span];
  for (let at = span; at.parentId !== undefined;) {
    const parent = byId.get(at.parentId);
    if (!parent) return { chain, missing: at.parentId };
    if (chain.includes(parent)) return { chain, missing: `${parent.id} (a cycle)` };
    chain.push(parent);
    at = parent;
  }
  return { chain };
}

/** A trace as an indented tree (service, span name, start offset and duration in ms), for docs and failures. */
export function spanTree(spans: ZipkinSpan[]): string {
  const start = Math.min(...spans.map((s) => s.timestamp));
  const ids = new Set(spans.map((s) => s.id));
  const children = (parent: string | undefined) =>
    spans
      .filter((s) => (parent === undefined ? s.parentId === undefined || !ids.has(s.parentId) : s.parentId === parent))
      .sort((a, b) => a.timestamp - b.timestamp);
  const lines: string[] = [];
  const walk = (span: ZipkinSpan, depth: number) => {
    const at = ((span.timestamp - start) / 1000).toFixed(1).padStart(8);
    const took = (span.duration / 1000).toFixed(1).padStart(8);
    lines.push(`${at} ${took}  ${'  '.repeat(depth)}${span.localEndpoint.serviceName}: ${span.name}`);
    for (const child of children(span.id)) walk(child, depth + 1);
  };
  for (const root of children(undefined)) walk(root, 0);
  return ['   at ms  took ms  service: span', ...lines].join('\n');
}
