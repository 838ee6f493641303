import { createHash, type Hash } from 'node:crypto';
import { bucketOf, phaseOf } from './buckets.js';
import type { ExtractManifest, RawRecord } from './contracts.js';
import type { IngestPhase, runObjectKeys } from '../platform/objectKeys.js';
import type { ObjectStore } from '../platform/objectStore.js';

/** A part is flushed at this many bytes of NDJSON: memory stays under buckets x this, whatever the estate. */
const PART_BYTES = 1 << 20;

interface Buffered {
  lines: string[];
  bytes: number;
  parts: number;
}

/**
 * Writes raw records to S3 as gzipped NDJSON parts, one folder per phase and bucket. Part names are
 * sequence numbers, so extracting the same source in the same order writes the same keys.
 */
export class RawPartWriter {
  private readonly buffers = new Map<string, Buffered>();
  private readonly records = { containers: 0, columns: 0 };
  private readonly columnsPerBucket: number[];
  /** Each bucket's column lines, in the order written: a bucket whose digest did not change holds the same lines. */
  private readonly columnDigests: Hash[];
  private parts = { containers: 0, columns: 0 };

  constructor(
    private readonly store: ObjectStore,
    private readonly keys: ReturnType<typeof runObjectKeys>,
    private readonly buckets: number,
  ) {
    this.columnsPerBucket = new Array<number>(buckets).fill(0);
    this.columnDigests = Array.from({ length: buckets }, () => createHash('sha256'));
  }

  async add(record: RawRecord): Promise<void> {
    const phase = phaseOf(record);
    const bucket = bucketOf(record, this.buckets);
    const id = `${phase}/${bucket}`;
    const buffer = this.buffers.get(id) ?? { lines: [], bytes: 0, parts: 0 };
    this.buffers.set(id, buffer);
    const line = JSON.stringify(record);
    buffer.lines.push(line);
    buffer.bytes += line.length + 1;
    this.records[phase]++;
    if (phase === 'columns') {
      this.columnsPerBucket[bucket]!++;
      this.columnDigests[bucket]!.update(line).update('\n');
    }
    if (buffer.bytes >= PART_BYTES) await this.flush(phase, bucket, buffer);
  }

  get written(): number {
    return this.records.containers + this.records.columns;
  }

  /** Flushes what is left and says what was written. */
  async finish(rejected: number): Promise<ExtractManifest> {
    for (const [id, buffer] of this.buffers) {
      const [phase, bucket] = id.split('/') as [IngestPhase, string];
      if (buffer.lines.length) await this.flush(phase, Number(bucket), buffer);
    }
    return {
      buckets: this.buckets,
      containers: { records: this.records.containers, parts: this.parts.containers },
      columns: { records: this.records.columns, parts: this.parts.columns },
      rejected,
      columnsPerBucket: this.columnsPerBucket,
      columnDigests: this.columnDigests.map((hash) => hash.digest('hex').slice(0, 32)),
    };
  }

  private async flush(phase: IngestPhase, bucket: number, buffer: Buffered): Promise<void> {
    await this.store.putNdjsonGz(this.keys.rawPart(phase, bucket, buffer.parts), buffer.lines);
    buffer.parts++;
    this.parts[phase]++;
    buffer.lines = [];
    buffer.bytes = 0;
  }
}
