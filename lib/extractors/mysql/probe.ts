import mysql from 'mysql2/promise';
import type { ExtractorDeps } from '../extractor.js';
import type { Probed } from '../source.js';
import { mysqlClientConfig, SYSTEM_DATABASES, type MysqlConnection } from './connection.js';

/** Connects as the extractor does, and counts the databases and tables in its scope that the user can see. */
export async function probeMysql(source: MysqlConnection, deps: ExtractorDeps): Promise<Probed> {
  const timeout = source.connectTimeoutSeconds * 1000;
  const connection = await mysql.createConnection(await mysqlClientConfig(source, deps.destinations));
  connection.on('error', () => undefined);
  let row: mysql.RowDataPacket;
  let tls: string;
  try {
    // information_schema shows only what the user holds some privilege on: what it can actually read.
    const scope = source.databases ? 'IN (?)' : 'NOT IN (?)';
    const names = source.databases ?? SYSTEM_DATABASES;
    const [rows] = await connection.query<mysql.RowDataPacket[]>({
      sql: `SELECT VERSION() AS version,
                   (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME ${scope}) AS database_count,
                   (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA ${scope}) AS table_count`,
      values: [names, names],
      timeout,
    });
    row = rows[0]!;
    // What the server sees of this session's TLS ('' without).
    const [status] = await connection.query<mysql.RowDataPacket[]>({
      sql: "SHOW SESSION STATUS LIKE 'Ssl_version'",
      timeout,
    });
    tls = String(status[0]?.['Value'] ?? '') || 'off';
  } catch (error) {
    connection.destroy();
    throw error;
  }
  // Servers count connections dropped without a goodbye as aborted: a sound one says goodbye.
  await connection.end();
  return {
    serverVersion: String(row['version']),
    details: { databases: Number(row['database_count']), tables: Number(row['table_count']), tls },
  };
}
