import { execa } from 'execa';
import { runner } from 'node-pg-migrate';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migratePostgres } from '../../lib/stores/migrate.js';
import { loadConnection, saveConnection } from '../../lib/stores/connections.js';
import { saveTenant } from '../../lib/stores/tenants.js';
import { startTestCluster, type TestCluster } from '../support/postgresCluster.js';
import { sealingKeys } from '../../lib/platform/secrets.js';

/**
 * Least privilege in the control plane: the stack's provisioning (stack/postgres/provision.sql, as
 * stack/services/postgres.sh runs it) on a PostgreSQL cluster of the test's own, fresh and from before the split of
 * the roles. The runtime role reads and writes every MetaSync table and can do nothing else; the migration role
 * owns the schema and migrates it.
 */

const provisionSql = fileURLToPath(new URL('../../stack/postgres/provision.sql', import.meta.url));
const schemaDir = fileURLToPath(new URL('../../schema/postgres/', import.meta.url));
const secretsKey = sealingKeys(Buffer.alloc(32, 7));

interface Roles {
  database: string;
  owner: string;
  runtime: string;
}

describe('least privilege in the control plane', () => {
  let cluster: TestCluster;
  const pools: pg.Pool[] = [];

  const url = (role: string, database: string) =>
    `postgres://${role}:${role}-password@127.0.0.1:${cluster.port}/${database}`;
  const poolAs = (role: string, database: string) => {
    const pool = new pg.Pool({ connectionString: url(role, database), max: 2 });
    pools.push(pool);
    return pool;
  };
  const superuser = (database = 'postgres') => {
    const pool = cluster.pool(database);
    pools.push(pool);
    return pool;
  };

  /** What stack/services/postgres.sh does, against this cluster. */
  const provision = ({ database, owner, runtime }: Roles) =>
    execa(
      'psql',
      [
        '-h',
        '127.0.0.1',
        '-p',
        String(cluster.port),
        '-U',
        cluster.user,
        '-d',
        'postgres',
        '-q',
        '-v',
        'ON_ERROR_STOP=1',
        '-v',
        `database=${database}`,
        '-v',
        `owner=${owner}`,
        '-v',
        `owner_password=${owner}-password`,
        '-v',
        `runtime=${runtime}`,
        '-v',
        `runtime_password=${runtime}-password`,
        '-f',
        provisionSql,
      ],
      { env: { PGPASSWORD: cluster.password } },
    );

  /** The SQLSTATE a statement fails with, or 'ok'. */
  const attempt = async (pool: pg.Pool, sql: string) =>
    pool.query(sql).then(
      () => 'ok',
      (error: Error & { code?: string }) => error.code ?? error.message,
    );

  async function assertLeastPrivilege({ database, owner, runtime }: Roles): Promise<void> {
    const admin = superuser(database);
    const { rows: roles } = await admin.query<{
      rolname: string;
      rolcreatedb: boolean;
      rolcreaterole: boolean;
      rolsuper: boolean;
    }>('SELECT rolname, rolcreatedb, rolcreaterole, rolsuper FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname', [
      [owner, runtime],
    ]);
    for (const role of roles)
      assert.ok(!role.rolcreatedb && !role.rolcreaterole && !role.rolsuper, JSON.stringify(role));

    // Every MetaSync table (and its sequences) is the owner's, and the runtime role may use each one.
    const { rows: tables } = await admin.query<{ name: string; owner: string; dml: boolean }>(
      `SELECT c.relname AS name, pg_get_userbyid(c.relowner) AS owner,
              has_table_privilege($1, c.oid, 'SELECT, INSERT, UPDATE, DELETE') AS dml
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S') ORDER BY 1`,
      [runtime],
    );
    assert.ok(
      tables.some((table) => table.name === 'tenants'),
      'migrated',
    );
    for (const table of tables) {
      assert.equal(table.owner, owner, `${table.name} is the owner's`);
      if (!table.name.startsWith('pgmigrations')) assert.ok(table.dml, `${runtime} may use ${table.name}`);
    }

    const app = poolAs(runtime, database);
    assert.equal(await attempt(app, 'CREATE DATABASE should_not_exist'), '42501');
    assert.equal(await attempt(app, 'CREATE ROLE should_not_exist'), '42501');
    assert.equal(await attempt(app, 'ALTER TABLE tenants ADD COLUMN x int'), '42501');
    assert.equal(await attempt(app, 'DROP TABLE connections'), '42501');
    assert.equal(await attempt(app, 'TRUNCATE runs'), '42501');
    assert.equal(await attempt(app, 'CREATE TABLE public.extra (a int)'), '42501');
    assert.equal(await attempt(app, 'CREATE INDEX extra ON tenants (display_name)'), '42501');
    assert.equal(await attempt(app, "DELETE FROM pgmigrations WHERE name LIKE '%'"), '42501');
    assert.equal(await attempt(app, 'SELECT * FROM pgmigrations'), '42501');

    // What MetaSync does at run time works as the runtime role.
    const tenant = `t-${database.replaceAll('_', '-')}`;
    await saveTenant(app, tenant);
    await saveConnection(app, secretsKey, tenant, 'shop', {
      type: 'postgres',
      host: 'db',
      database: 'd',
      user: 'u',
      password: 'p',
    });
    assert.equal((await loadConnection(app, secretsKey, tenant, 'shop'))?.type, 'postgres');
    assert.equal(await attempt(app, `DELETE FROM connections WHERE tenant = '${tenant}'`), 'ok');

    // Other roles of the cluster may not even connect to the control plane's database.
    await admin.query(`CREATE ROLE stranger_${database} LOGIN PASSWORD 'stranger_${database}-password'`);
    assert.equal(await attempt(poolAs(`stranger_${database}`, database), 'SELECT 1'), '42501');

    // The owner migrates: up to date here, and its record of migrations is its own.
    assert.deepEqual(await migratePostgres({ migrationUrl: url(owner, database) }), []);
  }

  before(async () => {
    cluster = await startTestCluster();
  });

  after(async () => {
    await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
    await cluster?.destroy();
  });

  it('provisions a fresh database: the owner migrates, the runtime role reads and writes and nothing more', async () => {
    const roles = { database: 'fresh', owner: 'fresh_owner', runtime: 'fresh_runtime' };
    await provision(roles);
    await provision(roles); // as every `stack/up.sh` does
    const applied = await migratePostgres({ migrationUrl: url(roles.owner, roles.database) });
    assert.ok(applied.length >= 10, `applied ${applied.join(', ')}`);
    await assertLeastPrivilege(roles);
  });

  it('converts a database from before the split, when the runtime role owned everything and could create databases', async () => {
    const roles = { database: 'legacy', owner: 'legacy_owner', runtime: 'legacy_runtime' };
    const admin = superuser();
    await admin.query(`CREATE ROLE ${roles.runtime} LOGIN CREATEDB PASSWORD '${roles.runtime}-password'`);
    await admin.query(`CREATE DATABASE ${roles.database} OWNER ${roles.runtime}`);
    // As migrations ran before: as the runtime role, which so came to own every table.
    await migratePostgres({ migrationUrl: url(roles.runtime, roles.database) });
    const before = poolAs(roles.runtime, roles.database);
    await saveTenant(before, 'kept-tenant', 'written before the split');
    assert.equal(await attempt(before, 'ALTER TABLE tenants ADD COLUMN before_split int'), 'ok', 'it owned them');

    await provision(roles);
    await provision(roles);
    await assertLeastPrivilege(roles);
    const { rows } = await poolAs(roles.runtime, roles.database).query<{ display_name: string }>(
      "SELECT display_name FROM tenants WHERE tenant = 'kept-tenant'",
    );
    assert.deepEqual(rows, [{ display_name: 'written before the split' }], 'the data is kept');
  });

  it("gives the runtime role what a later migration creates, through the owner's default privileges", async () => {
    const roles = { database: 'later', owner: 'later_owner', runtime: 'later_runtime' };
    await provision(roles);
    const dir = mkdtempSync(join(tmpdir(), 'metasync-migrations-'));
    try {
      cpSync(schemaDir, dir, { recursive: true });
      writeFileSync(
        join(dir, '9999999999999_later.sql'),
        '-- Up Migration\nCREATE TABLE later_things (id bigserial PRIMARY KEY, name text);\n-- Down Migration\nDROP TABLE later_things;\n',
      );
      const applied = await runner({
        databaseUrl: url(roles.owner, roles.database),
        dir,
        direction: 'up',
        migrationsTable: 'pgmigrations',
        log: () => undefined,
      });
      assert.equal(applied.at(-1)?.name, '9999999999999_later');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const app = poolAs(roles.runtime, roles.database);
    assert.equal(await attempt(app, "INSERT INTO later_things (name) VALUES ('a')"), 'ok', 'the sequence too');
    assert.equal(await attempt(app, 'SELECT name FROM later_things'), 'ok');
    assert.equal(await attempt(app, 'DROP TABLE later_things'), '42501');
  });
});
