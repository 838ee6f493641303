import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createInterface } from 'node:readline';
import { Readable, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { RawRecord } from '../ingest/contracts.js';
import { dumpAccessProblem, ownBucket, s3Location } from './dumpAccess.js';
import { ExtractionError, cannotConnect, errorCode, errorMessage, networkFailure, zodIssues } from './errors.js';
import { OpenResources, rejection, type Extracted, type Extractor, type ExtractorDeps } from './extractor.js';
import type { NdjsonConnection } from './sourceConnection.js';

/**
 * An estate dump: one RawRecord per line, from S3 or a local file, gzipped when its name ends in .gz. Read line by
 * line, so memory stays flat whatever its size. A line that is not a valid RawRecord is yielded as a rejection
 * with its line number; blank lines are skipped. The dump's own order is kept, containers first or not.
 * In MetaSync's bucket, only the tenant's own dumps may be read (lib/extractors/dumpAccess.ts).
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
  let dump: DumpObject | undefined;
  const close = open.add(() => {
    body?.destroy();
    dump?.close();
  });
  try {
    if (source.uri.startsWith('file://')) {
      body = createReadStream(fileURLToPath(source.uri));
    } else {
      dump = await openDump(source, deps);
      const { Body } = await dump.client.send(new GetObjectCommand({ Bucket: dump.bucket, Key: dump.key }));
      if (!(Body instanceof Readable)) throw new Error(`${source.uri}: the S3 client gave no readable stream`);
      body = Body;
    }
    // pipeline, unlike pipe, passes an error of the body (a dropped S3 connection) on to the gunzip stream.
    const input = source.uri.endsWith('.gz') ? pipeline(body, createGunzip(), () => undefined) : body;
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      yield parseLine(line, text);
    }
  } catch (error) {
    throw dumpFailure(error, source);
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

/** A dump's object and the client that reads it; close() lets go of a client made for a tenant's own bucket. */
export interface DumpObject {
  client: S3Client;
  bucket: string;
  key: string;
  close(): void;
}

/**
 * Where an s3:// dump is read: in MetaSync's bucket with MetaSync's client, when it is under the tenant's dumps
 * prefix, or in the tenant's own bucket with its own credentials, through a client whose every connection goes to
 * an address the destination policy checked. Throws an 'invalid_source' ExtractionError saying what to do when the
 * tenant may not read it.
 */
export async function openDump(source: NdjsonConnection, deps: ExtractorDeps): Promise<DumpObject> {
  const problem = dumpAccessProblem(source, deps.tenant, deps.bucket);
  const location = s3Location(source.uri);
  if (problem || !location) {
    throw new ExtractionError('invalid_source', `cannot read ${source.uri}: ${problem ?? 'it is no s3:// URI'}`);
  }
  const { bucket, key } = location;
  if (!ownBucket(source)) return { client: deps.s3, bucket, key, close: () => undefined };
  const endpoint = new URL(source.endpoint!);
  const port = Number(endpoint.port || (endpoint.protocol === 'https:' ? 443 : 80));
  // Node looks up no address, so an endpoint given as one is checked here; a name is checked at each lookup.
  await deps.destinations.pin({ host: endpoint.hostname, port });
  const lookup = deps.destinations.lookup(port);
  const client = new S3Client({
    endpoint: source.endpoint,
    region: source.region ?? 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: source.accessKeyId!, secretAccessKey: source.secretAccessKey! },
    requestHandler: { httpAgent: new HttpAgent({ lookup }), httpsAgent: new HttpsAgent({ lookup }) },
  });
  return { client, bucket, key, close: () => client.destroy() };
}

// HeadObject has no body, so S3 names its failures by HTTP status only (NotFound, Forbidden).
const S3_ERRORS: Record<string, [ExtractionError['code'], string]> = {
  NoSuchKey: ['not_found', 'there is no such object — check the key'],
  NotFound: ['not_found', 'there is no such object — check the key'],
  NoSuchBucket: ['not_found', 'there is no such bucket — check the bucket name'],
  AccessDenied: ['permission_denied', 'access denied — grant s3:GetObject on it'],
  Forbidden: ['permission_denied', 'access denied — grant s3:GetObject on it'],
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

/**
 * Turns what reading a dump threw into an ExtractionError that says what to do. From a tenant's own S3 endpoint,
 * anything but an S3 server's own answer reads as one "cannot connect", whatever lay behind the endpoint.
 */
export function dumpFailure(error: unknown, source: NdjsonConnection): unknown {
  if (error instanceof ExtractionError) return error;
  const because = { cause: error };
  const known = S3_ERRORS[error instanceof Error ? error.name : ''] ?? FILE_ERRORS[errorCode(error) ?? ''];
  if (known) return new ExtractionError(known[0], `cannot read ${source.uri}: ${known[1]}`, because);
  if (ownBucket(source)) return new ExtractionError('unreachable', cannotConnect(`S3 at ${source.endpoint}`), because);
  const network = networkFailure(error);
  if (network) {
    return new ExtractionError(
      'unreachable',
      `cannot reach S3 for ${source.uri}: ${network} — check the S3 endpoint and that it is running`,
      because,
    );
  }
  return error;
}
