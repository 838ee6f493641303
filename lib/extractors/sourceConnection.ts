import { z } from 'zod';
import { ExtractionError, zodIssues } from './errors.js';

/**
 * How to reach a source, one shape per source type. Strict objects: a misspelt field (`schema` for `schemas`)
 * is an error naming it, not a setting silently ignored.
 */

const host = z.string().min(1).max(255);
const port = z.number().int().min(1).max(65535);
const name = z.string().min(1).max(255);
/** Bounds connecting (TCP and the server's greeting), so an unanswering host fails instead of hanging. */
const connectTimeoutSeconds = z.number().int().min(1).max(120).default(10);

/**
 * TLS to the source, as libpq names its modes: disable (plain TCP), require (encrypted, the certificate not
 * checked), verify-ca (the certificate chains to a trusted CA), verify-full (and names the host connected to).
 * The trusted CAs are `ca` when given (PEM), else the system's.
 */
export const TlsSettings = z
  .strictObject({
    mode: z.enum(['disable', 'require', 'verify-ca', 'verify-full']).default('disable'),
    ca: z
      .string()
      .max(65_536)
      .regex(/^\s*-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\s*$/, 'expected PEM certificates')
      .optional()
      .describe('PEM: the CA certificates to trust for verify-ca and verify-full; by default the system’s'),
  })
  .default({ mode: 'disable' })
  .describe('TLS to the source: disable, require, verify-ca or verify-full (libpq’s modes), with an optional CA');
export type TlsSettings = z.infer<typeof TlsSettings>;

export const PostgresConnection = z.strictObject({
  type: z.literal('postgres'),
  host,
  port: port.default(5432),
  database: name,
  user: name,
  password: z.string(),
  /** Schemas to read; by default every schema but PostgreSQL's own (pg_*, information_schema). */
  schemas: z.array(name).min(1).optional(),
  connectTimeoutSeconds,
  tls: TlsSettings,
});
export type PostgresConnection = z.infer<typeof PostgresConnection>;

export const MysqlConnection = z.strictObject({
  type: z.literal('mysql'),
  host,
  port: port.default(3306),
  user: name,
  password: z.string(),
  /** Databases to read; by default every one but the server's own (mysql, sys, *_schema). */
  databases: z.array(name).min(1).optional(),
  connectTimeoutSeconds,
  tls: TlsSettings,
});
export type MysqlConnection = z.infer<typeof MysqlConnection>;

/**
 * A dump in MetaSync's bucket (under the tenant's own prefix, lib/extractors/dumpAccess.ts), in a bucket of the tenant's own
 * (its endpoint, region and credentials; the secret key is sealed at rest like a password), or a local file.
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
  region: name.optional().describe('The region of a bucket of your own (us-east-1 when left out)'),
  accessKeyId: z.string().min(1).max(256).optional().describe('The access key of a bucket of your own'),
  secretAccessKey: z
    .string()
    .min(1)
    .max(256)
    .optional()
    .describe('The secret key of a bucket of your own: stored sealed, never shown'),
});
export type NdjsonConnection = z.infer<typeof NdjsonConnection>;

export const SourceConnection = z.discriminatedUnion('type', [PostgresConnection, MysqlConnection, NdjsonConnection]);
export type SourceConnection = z.infer<typeof SourceConnection>;
/** What callers write: defaulted fields (ports, time-outs) may be left out. */
export type SourceConnectionInput = z.input<typeof SourceConnection>;

/** Validates a source connection; throws an 'invalid_source' ExtractionError naming every wrong field. */
export function parseSourceConnection(input: unknown): SourceConnection {
  const parsed = SourceConnection.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new ExtractionError('invalid_source', `the source connection is invalid: ${zodIssues(parsed.error)}`);
}

/**
 * A source given as a URI (postgres://user:pass@host:port/db, mysql://user:pass@host:port, s3://bucket/key or
 * file:///path), as a SourceConnection input: parse it with SourceConnection, which names what is wrong. Throws for
 * a server URL that is no URL at all, without repeating it: it holds the password.
 */
export function sourceFromUri(uri: string): unknown {
  const type = /^(postgres|postgresql|mysql):/i.exec(uri)?.[1]?.toLowerCase();
  if (!type) return { type: 'ndjson', uri };
  if (!URL.canParse(uri)) {
    throw new Error(
      `not a valid ${type}:// URL: check the port (1-65535), and percent-encode any of : / @ ? # in the user and password`,
    );
  }
  const url = new URL(uri);
  const common = {
    host: url.hostname,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
  return type === 'mysql'
    ? { type: 'mysql', ...common, port: Number(url.port || 3306) }
    : { type: 'postgres', ...common, port: Number(url.port || 5432), database: url.pathname.slice(1) };
}
