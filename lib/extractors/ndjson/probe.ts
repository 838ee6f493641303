import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ExtractionError } from '../errors.js';
import type { ExtractorDeps } from '../extractor.js';
import type { Probed } from '../source.js';
import type { NdjsonConnection } from './connection.js';
import { openDump } from './dump.js';

const S3_TIMEOUT_MS = 10_000;

/** A dump is there and readable: S3's HeadObject or the file's metadata, without reading it. */
export async function probeDump(source: NdjsonConnection, deps: ExtractorDeps): Promise<Probed> {
  if (source.uri.startsWith('file://')) {
    const path = fileURLToPath(source.uri);
    const info = await stat(path);
    if (!info.isFile()) {
      throw new ExtractionError('invalid_source', `cannot read ${source.uri}: it is not a file — name a file`);
    }
    await access(path, constants.R_OK);
    return { serverVersion: null, details: { sizeBytes: info.size, lastModified: info.mtime.toISOString() } };
  }
  const dump = await openDump(source, deps);
  try {
    const head = await dump.client
      .send(new HeadObjectCommand({ Bucket: dump.bucket, Key: dump.key }), {
        abortSignal: AbortSignal.timeout(S3_TIMEOUT_MS),
      })
      .catch((error: unknown) => {
        if (!(error instanceof Error && error.name === 'TimeoutError')) throw error;
        throw new ExtractionError(
          'unreachable',
          `cannot read ${source.uri}: S3 did not answer within ${S3_TIMEOUT_MS / 1000} s — check the S3 endpoint`,
          { cause: error },
        );
      });
    return {
      serverVersion: null,
      details: {
        sizeBytes: head.ContentLength ?? 0,
        ...(head.LastModified && { lastModified: head.LastModified.toISOString() }),
      },
    };
  } finally {
    dump.close();
  }
}
