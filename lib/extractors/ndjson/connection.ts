import { z } from 'zod';
import { storedConnection } from '../source.js';

/**
 * A dump in MetaSync's bucket (under the tenant's own prefix, dumpAccess.ts), in a bucket of the tenant's own (its
 * endpoint, region and credentials; the secret key is sealed at rest like a password), or a local file.
 */
export const NdjsonConnection = z.strictObject({
  type: z.literal('ndjson'),
  /** One RawRecord per line; gzipped when the name ends in .gz. */
  uri: z
    .string()
    .max(2048)
    .regex(/^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+|file:\/\/\/.+)$/, 'expected s3://bucket/key or file:///path'),
  endpoint: z
    .url({ protocol: /^https?$/, message: 'expected an http(s) URL' })
    .max(2048)
    .optional()
    .describe('The S3 endpoint of a bucket of your own (with accessKeyId and secretAccessKey)'),
  region: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('The region of a bucket of your own (us-east-1 when left out)'),
  accessKeyId: z.string().min(1).max(256).optional().describe('The access key of a bucket of your own'),
  secretAccessKey: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe('The secret key of a bucket of your own: stored sealed, never shown'),
});
export type NdjsonConnection = z.infer<typeof NdjsonConnection>;

export const NdjsonView = NdjsonConnection.omit({ secretAccessKey: true }).extend({
  ...storedConnection,
  secretAccessKeySet: z.boolean().describe('Whether a secret key of your own bucket is stored; it is never shown'),
});

export const NdjsonBody = NdjsonConnection.extend({
  secretAccessKey: NdjsonConnection.shape.secretAccessKey.describe(
    'Stored sealed, never shown. Left out on an existing connection with the same accessKeyId: the stored one is kept',
  ),
});
type NdjsonBody = z.infer<typeof NdjsonBody>;

/**
 * A PUT body as a connection: a dump MetaSync's API reads from S3 only, and the secret key of the tenant's own
 * bucket kept, like a password, when left out with the stored connection's access key.
 */
export async function fromBody(
  body: NdjsonBody,
  stored: () => Promise<NdjsonConnection | undefined>,
): Promise<NdjsonConnection | { problem: string }> {
  // A file on the MetaSync hosts is not a tenant's to name: over the API, dumps come from S3.
  if (body.uri.startsWith('file:')) {
    return {
      problem:
        'uri: file:/// sources are for local use (npm run connection); over the API, put the dump in S3 and use s3://',
    };
  }
  const kept = body.secretAccessKey === undefined && body.accessKeyId !== undefined ? await stored() : undefined;
  const secretAccessKey =
    body.secretAccessKey ?? (kept?.accessKeyId === body.accessKeyId ? kept?.secretAccessKey : undefined);
  return { ...body, secretAccessKey };
}
