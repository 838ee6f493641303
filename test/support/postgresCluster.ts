import { execa } from 'execa';
import { readdirSync, writeFileSync } from 'node:fs';
import { freePort } from './harness.js';
import pg from 'pg';
import type { Config } from '../../lib/platform/config.js';

/**
 * PostgreSQL beside the stack's: a throwaway cluster a test can stop and start (initdb and pg_ctl from the Debian
 * packages stack/services/postgres.sh installs), and superuser statements on the stack's own cluster. PostgreSQL
 * refuses to run as root, so both go through the `postgres` OS user, as the stack's provisioning does.
 */

const asPostgres = (command: string, args: string[]) => execa('runuser', ['-u', 'postgres', '--', command, ...args]);

function postgresBin(): string {
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b));
  if (versions.length === 0) throw new Error('no PostgreSQL under /usr/lib/postgresql: run npm run stack:up first');
  return `/usr/lib/postgresql/${versions.at(-1)}/bin`;
}

/**
 * The stack's role for source databases (stack/services/postgres.sh): tests and benchmarks create the databases they
 * ingest from or enforce in as it, since MetaSync's runtime role may not create databases. Its server is the
 * control plane's; its databases are the sources'.
 */
export function sourceLogin(config: Config) {
  const url = new URL(config.postgres.url);
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: 'metasync_sources',
    password: 'metasync_sources',
  };
}

/** The source role on its server's `postgres` database: where source databases are created and dropped. */
export const sourceAdmin = (config: Config): pg.Pool =>
  new pg.Pool({ ...sourceLogin(config), database: 'postgres', max: 2 });

/** Runs `sql` in one of the source role's databases, as that role. */
export async function asSourceRole(config: Config, database: string, sql: string): Promise<void> {
  const client = new pg.Client({ ...sourceLogin(config), database });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** 'ok', or the SQLSTATE the query failed with (42501: permission denied), querying as `connection` says. */
export async function queryAs(connection: pg.ClientConfig, sql: string): Promise<string> {
  const client = new pg.Client(connection);
  await client.connect();
  try {
    await client.query(sql);
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await client.end();
  }
}

/** Runs SQL as the superuser of the stack's cluster (MetaSync's roles may not create roles). */
export async function asSuperuser(sql: string, port = 5432): Promise<void> {
  await asPostgres('psql', ['-q', '-p', String(port), '-v', 'ON_ERROR_STOP=1', '-c', sql]);
}

export interface TestCluster {
  port: number;
  user: string;
  password: string;
  pool(database?: string): pg.Pool;
  start(): Promise<void>;
  /** Like a crash: no checkpoint, connections cut. */
  stop(): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): Promise<void>;
}

/** A new cluster on a free port whose superuser is `metasync` (password `metasync`), started. */
export async function startTestCluster(): Promise<TestCluster> {
  const bin = postgresBin();
  const dir = (await asPostgres('mktemp', ['-d', '/tmp/metasync-test-cluster-XXXXXX'])).stdout.trim();
  const port = await freePort();
  const user = 'metasync';
  const password = 'metasync';
  writeFileSync(`${dir}/password`, password, { mode: 0o644 });
  await asPostgres(`${bin}/initdb`, [
    '-D',
    `${dir}/data`,
    '-U',
    user,
    `--pwfile=${dir}/password`,
    '-A',
    'scram-sha-256',
    '--no-sync',
  ]);
  const pools: pg.Pool[] = [];
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
  const cluster: TestCluster = {
    port,
    user,
    password,
    pool(database = 'postgres') {
      const pool = new pg.Pool({ host: '127.0.0.1', port, user, password, database, max: 2 });
      pool.on('error', () => undefined); // idle connections die with the cluster; that is the point
      pools.push(pool);
      return pool;
    },
    async start() {
      await asPostgres(`${bin}/pg_ctl`, ['-D', `${dir}/data`, '-l', `${dir}/log`, '-o', options, '-w', 'start']);
    },
    async stop() {
      await asPostgres(`${bin}/pg_ctl`, ['-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop']);
    },
    async destroy() {
      await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
      await cluster.stop().catch(() => undefined);
      await execa('rm', ['-rf', dir]);
    },
  };
  await cluster.start();
  return cluster;
}
