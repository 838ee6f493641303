import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { gzipSync } from 'node:zlib';
import type { SkeletonInput } from '../lib/ingest/contracts.js';
import { skeletonObjectKey } from '../lib/platform/objectKeys.js';
import { sampleEstate } from '../lib/ingest/sampleEstate.js';

export function createS3Activities(s3: S3Client, bucket: string) {
  return {
    /** Writes the skeleton's sample estate as one gzipped NDJSON object; same input, same object, so retries are safe. */
    async writeSampleEstate(input: SkeletonInput): Promise<{ key: string; assets: number }> {
      const lines: string[] = [];
      for (const asset of sampleEstate(input.tenant, input.runId, input.tables, input.columnsPerTable)) {
        lines.push(JSON.stringify(asset));
      }
      const key = skeletonObjectKey(input.tenant, input.runId);
      await s3.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: gzipSync(lines.join('\n') + '\n'),
          ContentType: 'application/x-ndjson',
          ContentEncoding: 'gzip',
          Metadata: { tenant: input.tenant, run: input.runId, records: String(lines.length) },
        }),
      );
      return { key, assets: lines.length };
    },
  };
}
