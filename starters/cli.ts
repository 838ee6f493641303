import type { Command } from 'commander';
import type pg from 'pg';
import type { z } from 'zod';
import { createPostgres } from '../lib/platform/clients.js';
import { loadConfigOrExit, type Config } from '../lib/platform/config.js';
import { tenantExists } from '../lib/stores/tenants.js';

/** What the control-plane starters (tenant, api-key, connection) share: option checking and a PostgreSQL pool. */

/** Parses a subcommand's options with zod, or exits naming each bad option. */
export function parseOptions<T>(command: Command, schema: z.ZodType<T>): T {
  const parsed = schema.safeParse(command.opts());
  return parsed.success
    ? parsed.data
    : command.error(
        `invalid options:\n${parsed.error.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`).join('\n')}`,
      );
}

/** Runs `work` against the metadata store, and closes the pool however it ends. */
export async function withPostgres(work: (postgres: pg.Pool, config: Config) => Promise<void>): Promise<void> {
  const config = loadConfigOrExit();
  const postgres = createPostgres(config.postgres);
  try {
    await work(postgres, config);
  } finally {
    await postgres.end();
  }
}

/** Runs `work` once the tenant is known to exist; otherwise says how to create it and exits non-zero. */
export function withTenant(tenant: string, work: (postgres: pg.Pool, config: Config) => Promise<void>) {
  return withPostgres(async (postgres, config) => {
    if (!(await tenantExists(postgres, tenant))) {
      console.error(
        `unknown tenant ${JSON.stringify(tenant)}: create it with npm run tenant -- create --tenant ${tenant}`,
      );
      process.exitCode = 1;
      return;
    }
    await work(postgres, config);
  });
}
