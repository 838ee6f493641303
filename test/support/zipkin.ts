import assert from 'node:assert/strict';
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

export const of = (service: string, spans: ZipkinSpan[]) =>
  spans.filter((s) => s.localEndpoint.serviceName === service);
/** The spans of this name (Zipkin keeps span names lowercase). */
export const named = (name: string, spans: ZipkinSpan[]) => spans.filter((s) => s.name === name);
/** Whether a span has an ancestor of this name. */
export const under = (name: string, spans: ZipkinSpan[]) => (span: ZipkinSpan) =>
  ancestry(span, spans).chain.some((a) => a !== span && a.name === name);

/** The trace's one root, asserted to be a SERVER span of the API for `route`. */
export function rootOf(spans: ZipkinSpan[], route: RegExp): ZipkinSpan {
  const roots = spans.filter((s) => s.parentId === undefined);
  assert.equal(roots.length, 1, `one root:\n${spanTree(spans)}`);
  const [root] = roots;
  assert.ok(root);
  assert.equal(root.localEndpoint.serviceName, 'metasync-api');
  assert.equal(root.kind, 'SERVER');
  assert.match(root.name, route);
  return root;
}

/** A span a trace must hold: what it stands for (for the failure), its service, and how to know it. */
export type Expected = [what: string, service: string, matches: (span: ZipkinSpan) => boolean];

/** Each expected span is in the trace, with an unbroken chain of parents up to `root`. */
export function assertLinked(spans: ZipkinSpan[], root: ZipkinSpan, expected: Expected[]): void {
  for (const [what, service, matches] of expected) {
    const span = of(service, spans).find(matches);
    assert.ok(span, `${what}: no such span of ${service} in\n${spanTree(spans)}`);
    const { chain, missing } = ancestry(span, spans);
    assert.equal(missing, undefined, `${what}: its parent ${missing} is not in the trace\n${spanTree(spans)}`);
    assert.equal(chain.at(-1), root, `${what}: its parents lead to the request`);
  }
}
