import cassandra from 'cassandra-driver';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../platform/config.js';

const schemaDir = (store: string) => fileURLToPath(new URL(`../../schema/${store}/`, import.meta.url));

/**
 * Applies PostgreSQL migrations from schema/postgres with node-pg-migrate; returns the ones it ran. They run as the
 * migration role, which owns the schema: the runtime role may read and write the tables, not change them.
 */
export async function migratePostgres(config: Pick<Config['postgres'], 'migrationUrl'>): Promise<string[]> {
  const applied = await runner({
    databaseUrl: config.migrationUrl,
    dir: schemaDir('postgres'),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    log: () => undefined,
  });
  await keepMigrationsPrivate(config.migrationUrl);
  return applied.map((migration) => migration.name);
}

/**
 * The record of applied migrations is the migration role's alone. The default privileges that give the runtime role
 * every new table (stack/postgres/provision.sql) gave it this one too, when node-pg-migrate created it: taken back,
 * so the runtime role cannot make a migration look applied, or not.
 */
async function keepMigrationsPrivate(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ statement: string }>(
      `SELECT DISTINCT format('REVOKE ALL ON %s %s FROM %I', CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END,
                              c.oid::regclass, pg_get_userbyid(a.grantee)) AS statement
       FROM pg_class c, aclexplode(c.relacl) a
       WHERE c.oid IN (to_regclass('public.pgmigrations'), to_regclass('public.pgmigrations_id_seq'))
         AND a.grantee NOT IN (0, c.relowner)`,
    );
    for (const { statement } of rows) await client.query(statement);
  } finally {
    await client.end();
  }
}

/**
 * Applies schema/cassandra/*.cql in file-name order. Every statement is written to be re-runnable
 * (IF NOT EXISTS), so applying the whole set again is how the schema is kept current.
 */
export async function migrateCassandra(config: Config['cassandra']): Promise<number> {
  const client = new cassandra.Client({
    contactPoints: [...config.contactPoints],
    localDataCenter: config.localDataCenter,
  });
  try {
    const files = (await readdir(schemaDir('cassandra'))).filter((file) => file.endsWith('.cql')).sort();
    let statements = 0;
    for (const file of files) {
      const text = await readFile(schemaDir('cassandra') + file, 'utf8');
      for (const statement of splitCql(text)) {
        await client.execute(statement);
        statements++;
      }
    }
    return statements;
  } finally {
    await client.shutdown();
  }
}

/** Splits a CQL file on the semicolons that end statements; our schema files keep no semicolons inside strings. */
export function splitCql(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => !line.trim().startsWith('--'))
    .join('\n')
    .split(/;\s*(?:\n|$)/)
    .map((statement) => statement.trim())
    .filter(Boolean);
}
