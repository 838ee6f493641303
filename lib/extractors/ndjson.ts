import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Readable, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { RawRecord } from '../contracts.js';
import { ExtractionError, errorCode, errorMessage, networkFailure, zodIssues } from './errors.js';
import { OpenResources, rejection, type Extracted, type Extractor, type ExtractorDeps } from './extractor.js';
import type { NdjsonConnection } from './sourceConnection.js';

/**
 * An estate dump: one RawRecord per line, from S3 or a local file, gzipped when its name ends in .gz. Read line by
 * line, so memory stays flat whatever its size. A line that is not a valid RawRecord is yielded as a rejection
 * with its line number; blank lines are skipped. The dump's own order is kept, containers first or not.
 */
export function createNdjsonExtractor(source: NdjsonConnection, deps: ExtractorDeps): Extractor {
  const open = new OpenResources();
  return {
    sourceType: 'ndjson',
    extract: () => readDump(source, deps, open),
    close: () => open.closeAll(),
  };
}

async function* readDump(
  source: NdjsonConnection,
  deps: ExtractorDeps,
  open: OpenResources,
): AsyncGenerator<Extracted> {
  let body: Readable | undefined;
  const close = open.add(() => void body?.destroy());
  try {
    body = await openBody(source.uri, deps);
    // pipeline, unlike pipe, passes an error of the body (a dropped S3 connection) on to the gunzip stream.
    const input = source.uri.endsWith('.gz') ? pipeline(body, createGunzip(), () => undefined) : body;
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      yield parseLine(line, text);
    }
  } catch (error) {
    throw toExtractionError(error, source);
  } finally {
    await close();
  }
}

function parseLine(line: number, text: string): Extracted {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return rejection(line, `malformed JSON: ${errorMessage(error)}`, text);
  }
  const parsed = RawRecord.safeParse(value);
  return parsed.success ? parsed.data : rejection(line, `not a RawRecord: ${zodIssues(parsed.error)}`, text);
}

async function openBody(uri: string, deps: ExtractorDeps): Promise<Readable> {
  if (uri.startsWith('file://')) return createReadStream(fileURLToPath(uri));
  const [bucket = '', ...key] = uri.slice('s3://'.length).split('/');
  if (!deps.s3) throw new ExtractionError('invalid_source', `${uri}: reading from S3 needs an S3 client`);
  if (deps.bucket && bucket !== deps.bucket) {
    throw new ExtractionError('invalid_source', `${uri}: dumps are read from bucket ${deps.bucket} only`);
  }
  const { Body } = await deps.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key.join('/') }));
  if (!(Body instanceof Readable)) throw new Error(`${uri}: the S3 client gave no readable stream`);
  return Body;
}

const S3_ERRORS: Record<string, [ExtractionError['code'], string]> = {
  NoSuchKey: ['not_found', 'there is no such object — check the key'],
  NoSuchBucket: ['not_found', 'there is no such bucket — check the bucket name'],
  AccessDenied: ['permission_denied', 'access denied — grant s3:GetObject on it'],
  InvalidAccessKeyId: ['authentication', 'the access key is not known — check the S3 credentials'],
  SignatureDoesNotMatch: ['authentication', 'the secret key is wrong — check the S3 credentials'],
};

const FILE_ERRORS: Record<string, [ExtractionError['code'], string]> = {
  ENOENT: ['not_found', 'there is no such file — check the path'],
  EACCES: ['permission_denied', 'permission denied — make the file readable by MetaSync'],
  EPERM: ['permission_denied', 'permission denied — make the file readable by MetaSync'],
  EISDIR: ['invalid_source', 'it is a directory — name a file'],
  Z_DATA_ERROR: ['invalid_source', 'it is not valid gzip — check the file, or drop .gz from the name if plain'],
  Z_BUF_ERROR: ['invalid_source', 'the gzip stream ends early — the dump is truncated'],
};

function toExtractionError(error: unknown, source: NdjsonConnection): unknown {
  if (error instanceof ExtractionError) return error;
  const because = { cause: error };
  const network = networkFailure(error);
  if (network) {
    return new ExtractionError(
      'unreachable',
      `cannot reach S3 for ${source.uri}: ${network} — check the S3 endpoint and that it is running`,
      because,
    );
  }
  const name = error instanceof Error ? error.name : '';
  const known = S3_ERRORS[name] ?? FILE_ERRORS[errorCode(error) ?? ''];
  return known ? new ExtractionError(known[0], `cannot read ${source.uri}: ${known[1]}`, because) : error;
}
