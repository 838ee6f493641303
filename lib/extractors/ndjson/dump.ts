import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createReadStream } from 'node:fs';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { createInterface } from 'node:readline';
import { Readable, pipeline } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createGunzip } from 'node:zlib';
import { RawRecord } from '../../ingest/contracts.js';
import { errorMessage, ExtractionError, sourceFailure, zodIssues } from '../errors.js';
import {
  openingExtractor,
  rejection,
  type Extracted,
  type Extractor,
  type ExtractorDeps,
  type OpenResources,
} from '../extractor.js';
import type { NdjsonConnection } from './connection.js';
import { dumpAccessProblem, ownBucket, s3Location } from './dumpAccess.js';
import { dumpFailure } from './failure.js';

/**
 * An estate dump: one RawRecord per line, from S3 or a local file, gzipped when its name ends in .gz. Read line by
 * line, so memory stays flat whatever its size. A line that is not a valid RawRecord is yielded as a rejection
 * with its line number; blank lines are skipped. The dump's own order is kept, containers first or not.
 * In MetaSync's bucket, only the tenant's own dumps may be read (dumpAccess.ts).
 */
export function createNdjsonExtractor(source: NdjsonConnection, deps: ExtractorDeps): Extractor {
  return openingExtractor('ndjson', (open) => readDump(source, deps, open));
}

async function* readDump(
  source: NdjsonConnection,
  deps: ExtractorDeps,
  open: OpenResources,
): AsyncGenerator<Extracted> {
  let body: Readable | undefined;
  let dump: DumpObject | undefined;
  // Until the dump is open, a failure no case knows is still one the user must act on (see sourceFailure).
  let reading = false;
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
      if (!(Body instanceof Readable)) throw new Error('the S3 client gave no readable stream');
      body = Body;
    }
    reading = true;
    // pipeline, unlike pipe, passes an error of the body (a dropped S3 connection) on to the gunzip stream.
    const input = source.uri.endsWith('.gz') ? pipeline(body, createGunzip(), () => undefined) : body;
    let line = 0;
    for await (const text of createInterface({ input, crlfDelay: Infinity })) {
      line++;
      if (text.trim() === '') continue;
      yield parseLine(line, text);
    }
  } catch (error) {
    throw sourceFailure(dumpFailure, source, error, reading);
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
