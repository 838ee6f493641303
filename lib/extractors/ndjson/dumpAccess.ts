import { dumpsPrefix } from '../../platform/objectKeys.js';
import type { NdjsonConnection } from './connection.js';

/**
 * Which S3 objects a tenant's NDJSON connection may name. In MetaSync's bucket, only the tenant's own dumps prefix
 * (tenants/<tenant>/dumps/): MetaSync reads that bucket with its own credentials, which reach every tenant's
 * objects, so the key alone decides whose data is read. Elsewhere, only with the credentials of the tenant's own
 * bucket, which reach what the tenant may read anyway. Checked when a connection is saved, tested and ingested, so
 * a row written before the rule (or by a starter) is refused too.
 */

/** A dump's name below the prefix: segments of S3's safe characters, none empty, "." or "..", so no server or proxy that normalizes paths can lead it out of the prefix. */
const SAFE_NAME = /^[A-Za-z0-9!_.*'()-]+(\/[A-Za-z0-9!_.*'()-]+)*$/;
const DOTS = /(^|\/)\.{1,2}(\/|$)/;

/** A name under the tenant's dumps prefix that dumpAccessProblem accepts (the API's uploads use it too). */
export const isSafeDumpName = (name: string): boolean => SAFE_NAME.test(name) && !DOTS.test(name);

export interface S3Location {
  bucket: string;
  key: string;
}

/** s3://bucket/key as its bucket and key; undefined for any other URI. */
export function s3Location(uri: string): S3Location | undefined {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  return match ? { bucket: match[1]!, key: match[2]! } : undefined;
}

/** Whether the connection reads a bucket of the tenant's own, with its own credentials. */
export const ownBucket = (source: NdjsonConnection): boolean =>
  source.endpoint !== undefined || source.accessKeyId !== undefined || source.secretAccessKey !== undefined;

/**
 * Why the tenant may not read this dump, in words that say what to do instead; undefined when it may.
 * `bucket` is MetaSync's own.
 */
export function dumpAccessProblem(source: NdjsonConnection, tenant: string, bucket: string): string | undefined {
  const location = s3Location(source.uri);
  const ownPrefix = `s3://${bucket}/${dumpsPrefix(tenant)}`;
  const upload = `POST /v1/tenants/${tenant}/dumps/uploads gives an upload URL`;
  if (!location) {
    return ownBucket(source) || source.region !== undefined
      ? 'endpoint, region and credentials are for s3:// dumps only'
      : undefined;
  }
  if (ownBucket(source) || source.region !== undefined) {
    if (!source.endpoint || !source.accessKeyId || !source.secretAccessKey) {
      return 'a bucket of your own needs endpoint, accessKeyId and secretAccessKey together';
    }
    if (location.bucket === bucket) {
      return `bucket ${bucket} is MetaSync's own: leave out endpoint, region and credentials, and put the dump under ${ownPrefix} (${upload})`;
    }
    return undefined;
  }
  if (location.bucket !== bucket) {
    return `MetaSync reads dumps in bucket ${bucket} under ${ownPrefix} only (${upload}); for a bucket of your own, give its endpoint, accessKeyId and secretAccessKey`;
  }
  const name = location.key.startsWith(dumpsPrefix(tenant)) ? location.key.slice(dumpsPrefix(tenant).length) : '';
  if (!isSafeDumpName(name)) {
    return `tenant ${tenant} may read dumps under ${ownPrefix} only, named with letters, digits and !-_.*'() between slashes (${upload})`;
  }
  return undefined;
}
