import pg from 'pg';
import type { Config } from '../../lib/platform/config.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { asSuperuser, sourceAdmin, sourceLogin } from '../../test/support/postgresCluster.js';
import { pad, sleep } from './format.js';

/**
 * The enforcement sample of bench:propagate: a real downstream PostgreSQL database whose tables' columns are the
 * last downstream assets of each graph, readable by a restricted role (the analyst) until the postgres-enforcement
 * subscription takes SELECT away. The database belongs to the stack's source role, which the sink connects as
 * (MetaSync's own may not create databases).
 */
export function enforcementSample(config: Config, stamp: string, size: number) {
  const database = `metasync_bench_${stamp}`;
  const analyst = `bench_analyst_${stamp}`;
  const columns = Array.from({ length: size }, (_, i) => `c${pad(i, 2)}`);
  const sources = sourceAdmin(config);
  let downstream: pg.Pool | undefined;
  const asAnalyst = () =>
    new pg.Client({ host: '127.0.0.1', port: 5432, database, user: analyst, password: 'analyst' });

  return {
    analyst,
    columns,

    async create(): Promise<void> {
      await sources.query(`CREATE DATABASE ${database}`);
      downstream = new pg.Pool({ ...sourceLogin(config), database, max: 2 });
      await asSuperuser(`CREATE ROLE ${analyst} LOGIN PASSWORD 'analyst'`);
    },

    /** A table whose columns are the sample, readable by the analyst; returns their qualified names. */
    async createTable(table: string): Promise<string[]> {
      await downstream!
        .query(`CREATE TABLE ${table} (id int PRIMARY KEY, ${columns.map((c) => `${c} text`).join(', ')});
    GRANT SELECT ON ${table} TO ${analyst}`);
      return columns.map((column) => `postgres://shop/${database}/public/${table}/${column}`);
    },

    /** Saves the downstream as one of the tenant's connections, for the enforcement sink. */
    async saveAsConnection(postgres: pg.Pool, tenant: string, connectionId: string): Promise<void> {
      const { user, password } = sourceLogin(config);
      await saveConnection(postgres, config.secretsKey, tenant, connectionId, {
        type: 'postgres',
        host: '127.0.0.1',
        port: 5432,
        database,
        user,
        password,
        connectTimeoutSeconds: 5,
      });
    },

    /** Throws unless the analyst can read the table's sample columns (as it must before the change). */
    async assertReadable(table: string): Promise<void> {
      const readable = asAnalyst();
      await readable.connect();
      await readable.query(`SELECT ${columns.join(', ')} FROM ${table}`);
      await readable.end();
    },

    /** When each sample column stopped being readable by the analyst (epoch ms), checked every 100 ms. */
    async watch(table: string, giveUp: { at: number }): Promise<Map<string, number>> {
      const client = asAnalyst();
      const denied = new Map<string, number>();
      await client.connect();
      try {
        const pending = new Set(columns);
        while (pending.size > 0 && Date.now() < giveUp.at) {
          for (const column of pending) {
            try {
              await client.query(`SELECT ${column} FROM ${table} LIMIT 0`);
            } catch (error) {
              if ((error as { code?: string }).code !== '42501') throw error;
              denied.set(column, Date.now());
              pending.delete(column);
            }
          }
          await sleep(100);
        }
      } finally {
        await client.end();
      }
      return denied;
    },

    /** Drops the database and the role, if they were made. */
    async drop(): Promise<void> {
      await downstream?.end();
      if (size > 0) {
        await sources.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        await asSuperuser(`DROP ROLE IF EXISTS ${analyst}`);
      }
      await sources.end();
    },
  };
}
