import cassandra from 'cassandra-driver';
import { runner } from 'node-pg-migrate';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';

const schemaDir = (store: string) => fileURLToPath(new URL(`../../schema/${store}/`, import.meta.url));

/** Applies PostgreSQL migrations from schema/postgres with node-pg-migrate; returns the ones it ran. */
export async function migratePostgres(config: Config['postgres']): Promise<string[]> {
  const applied = await runner({
    databaseUrl: config.url,
    dir: schemaDir('postgres'),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    log: () => undefined,
  });
  return applied.map((migration) => migration.name);
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
