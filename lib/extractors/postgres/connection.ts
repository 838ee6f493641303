import { isIP } from 'node:net';
import type pg from 'pg';
import { z } from 'zod';
import type { DestinationGuard } from '../../platform/destinations.js';
import { connectTimeoutSeconds, host, keptPassword, name, pinServer, port, TlsSettings } from '../server.js';
import { storedConnection } from '../source.js';

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

export const PostgresView = PostgresConnection.omit({ password: true }).extend(storedConnection);
export const PostgresBody = PostgresConnection.extend({ password: keptPassword });

export const where = (source: Pick<PostgresConnection, 'host' | 'port'>) =>
  `PostgreSQL at ${source.host}:${source.port}`;

/**
 * How MetaSync reaches a PostgreSQL server, whoever connects (the extractor, the probe, the enforcement sink): at
 * the address the destination policy checked (DestinationGuard.pin), never at a second lookup of the host's name.
 */
export async function postgresClientConfig(
  source: PostgresConnection,
  applicationName: string,
  destinations: DestinationGuard,
): Promise<pg.ClientConfig> {
  const address = await pinServer(source, destinations, where(source));
  return {
    host: address,
    port: source.port,
    database: source.database,
    user: source.user,
    password: source.password,
    ssl: postgresTls(source.tls, source.host),
    connectionTimeoutMillis: source.connectTimeoutSeconds * 1000,
    application_name: applicationName,
  };
}

/** node-postgres's TLS options for a mode; `host` is the name (or address) the certificate must carry. */
export function postgresTls(tls: TlsSettings, host: string): pg.ClientConfig['ssl'] {
  switch (tls.mode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, ca: tls.ca, checkServerIdentity: () => undefined };
    case 'verify-full':
      // The connection goes to an address: the certificate is checked against the name the user gave.
      return { rejectUnauthorized: true, ca: tls.ca, ...(isIP(host) === 0 && { servername: host }) };
  }
}
