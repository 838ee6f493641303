import type { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { DestinationGuard } from '../platform/destinations.js';
import { RawRecord, type SourceType } from '../ingest/contracts.js';
import { zodIssues } from './errors.js';

/** A rejection keeps this much of the offending line or row: enough to see what was wrong, bounded in memory. */
export const MAX_RAW_CHARS = 16_384;

/**
 * Something the source holds that cannot become a RawRecord: an invalid line of a dump, or a catalog row that
 * breaks the contract. It is surfaced with its reason, never dropped silently.
 */
export const Rejected = z.object({
  rejected: z.object({
    /** 1-based. A dump's line number; for a database, the item's position in the extraction (its order is fixed). */
    line: z.number().int().positive(),
    reason: z.string(),
    /** The line as read, or the row as JSON, cut at MAX_RAW_CHARS. */
    raw: z.string(),
  }),
});
export type Rejected = z.infer<typeof Rejected>;

/** What an extraction yields: a record, or a rejection (tell them apart with `'rejected' in item`). */
export type Extracted = RawRecord | Rejected;

export interface Extractor {
  readonly sourceType: SourceType;
  /**
   * Streams the source's catalog, containers before columns. Each call reads the source afresh and yields the
   * same source in the same order. Throws an ExtractionError when the source cannot be read.
   */
  extract(): AsyncIterable<Extracted>;
  /** Ends what an unfinished extraction still holds open (connections, streams); harmless to repeat. */
  close(): Promise<void>;
}

export interface ExtractorDeps {
  /** Whose source it is: a dump in MetaSync's bucket must be under this tenant's dumps prefix (lib/extractors/ndjson/dumpAccess.ts). */
  tenant: string;
  /** Checks every server an extractor connects to (a source database, a tenant's own S3 endpoint) first. */
  destinations: DestinationGuard;
  /** MetaSync's own bucket, and the client that reads it. */
  s3: S3Client;
  bucket: string;
}

export function rejection(line: number, reason: string, raw: string): Rejected {
  return { rejected: { line, reason, raw: raw.length > MAX_RAW_CHARS ? raw.slice(0, MAX_RAW_CHARS) : raw } };
}

/**
 * Checks what a catalog query built against the contract. A database should never break it, but a value the
 * contract cannot hold (a NaN estimate, a path too deep) is surfaced as a rejection rather than written.
 */
export async function* validated(records: AsyncIterable<RawRecord>): AsyncGenerator<Extracted> {
  let position = 0;
  for await (const record of records) {
    position++;
    const parsed = RawRecord.safeParse(record);
    yield parsed.success ? record : rejection(position, zodIssues(parsed.error), JSON.stringify(record));
  }
}

/**
 * An extractor whose every extraction is a fresh `read`, which registers what it holds open (connections, streams)
 * with `open`, so that close() ends them.
 */
export function openingExtractor(
  sourceType: SourceType,
  read: (open: OpenResources) => AsyncIterable<Extracted>,
): Extractor {
  const open = new OpenResources();
  return { sourceType, extract: () => read(open), close: () => open.closeAll() };
}

/** Closes whatever the open extractions registered: the shared `close()` of the extractors. */
export class OpenResources {
  private readonly closers = new Set<() => Promise<void>>();

  /** Registers a closer; the returned function runs it once and forgets it. */
  add(close: () => Promise<void> | void): () => Promise<void> {
    const once = async () => {
      if (this.closers.delete(once)) await close();
    };
    this.closers.add(once);
    return once;
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled([...this.closers].map((close) => close()));
  }
}
