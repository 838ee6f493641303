import { connect } from 'node:net';
import type { ConnectionOptions, SslOptions } from 'mysql2';
import { z } from 'zod';
import type { DestinationGuard } from '../../platform/destinations.js';
import { connectTimeoutSeconds, host, keptPassword, name, pinServer, port, TlsSettings } from '../server.js';
import { storedConnection } from '../source.js';

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

export const MysqlView = MysqlConnection.omit({ password: true }).extend(storedConnection);
export const MysqlBody = MysqlConnection.extend({ password: keptPassword });

/** Databases the server keeps for itself. */
export const SYSTEM_DATABASES = ['mysql', 'information_schema', 'performance_schema', 'sys'];

export const where = (source: Pick<MysqlConnection, 'host' | 'port'>) => `MySQL at ${source.host}:${source.port}`;

/**
 * How MetaSync reaches a MySQL server, whoever connects (the extractor, the probe): its socket goes to the address
 * the destination policy checked (DestinationGuard.pin), never to a second lookup of the name; the name stays the
 * host, for TLS to check the certificate against.
 */
export async function mysqlClientConfig(
  source: MysqlConnection,
  destinations: DestinationGuard,
): Promise<ConnectionOptions> {
  const address = await pinServer(source, destinations, where(source));
  return {
    host: source.host,
    port: source.port,
    stream: () => connect({ host: address, port: source.port }),
    user: source.user,
    password: source.password,
    connectTimeout: source.connectTimeoutSeconds * 1000,
    ssl: mysqlTls(source.tls),
  };
}

/** mysql2's TLS options for a mode (it checks the certificate against the host when verifyIdentity is set). */
export function mysqlTls(tls: TlsSettings): SslOptions | undefined {
  switch (tls.mode) {
    case 'disable':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-ca':
      return { rejectUnauthorized: true, verifyIdentity: false, ...(tls.ca && { ca: tls.ca }) };
    case 'verify-full':
      return { rejectUnauthorized: true, verifyIdentity: true, ...(tls.ca && { ca: tls.ca }) };
  }
}
