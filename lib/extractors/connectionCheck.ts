import { performance } from 'node:perf_hooks';
import { z } from 'zod';
import type { ExtractorDeps } from './extractor.js';
import { connectFailure, probeSource, type SourceConnection } from './registry.js';

/**
 * Whether MetaSync can reach a source with the connection as configured, by connecting for real: what a person
 * setting one up wants to know before the first ingestion fails on it. Each source's probe connects as its
 * extractor does (the destination policy first, the same TLS, the same dump access rule), and a failure is worded
 * by the extractor's own words, so a failing check and a failing run say the same; a refused destination reads as
 * one that does not answer.
 */

export const ConnectionCheck = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    latencyMs: z.number().describe('Connecting and asking, in milliseconds'),
    serverVersion: z.string().nullable().describe('Null for a dump, which has no server'),
    details: z
      .record(z.string(), z.union([z.string(), z.number()]))
      .describe(
        'What the user can see (schemas, tables), the session’s TLS version (or off), or the dump’s size and age',
      ),
  }),
  z.object({
    ok: z.literal(false),
    latencyMs: z.number(),
    error: z.string().describe('What failed, and what to check'),
  }),
]);
export type ConnectionCheck = z.infer<typeof ConnectionCheck>;

/** What an extractor is given: the tenant whose source it is, the destination policy, MetaSync's bucket. */
export type ConnectionCheckDeps = ExtractorDeps;

export async function checkConnection(source: SourceConnection, deps: ConnectionCheckDeps): Promise<ConnectionCheck> {
  const started = performance.now();
  const latencyMs = () => Math.round(performance.now() - started);
  try {
    const found = await probeSource(source, deps);
    return { ok: true, latencyMs: latencyMs(), ...found };
  } catch (error) {
    return { ok: false, latencyMs: latencyMs(), error: failureMessage(error, source) };
  }
}

/**
 * What went wrong, said so that whoever configured the connection can act on it: the source's own wording of a
 * failure before its session is established, its secrets masked out.
 */
export const failureMessage = (error: unknown, source: SourceConnection): string =>
  connectFailure(source, error).message;
