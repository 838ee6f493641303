import pg from 'pg';
import type { z } from 'zod';
import type { PostgresEnforcementSinkSpec } from '../contracts.js';
import { configuredDestinations } from '../../platform/destinations.js';
import { postgresClientConfig } from '../../extractors/postgres/connection.js';
import { log } from '../../platform/log.js';
import { loadConnection } from '../../stores/connections.js';
import type { Sink, SinkContext, SinkDependencies } from './sink.js';

/**
 * Enforces classifications where SQL runs: a restricted role loses SELECT on a column (or a table) that carries one
 * of the sink's classifications, and gets it back when the last one goes.
 *
 * A column privilege does not override a table-level grant, so each change reconciles its whole table: the wanted
 * restrictions are rows in metasync_production (`enforcement_restrictions`, written per event, so a redelivery
 * changes nothing), and one downstream transaction sets the table's grants from all of them.
 */

type Spec = z.infer<typeof PostgresEnforcementSinkSpec>;
const { escapeIdentifier } = pg;

/** Where a qualified name points in the downstream; column '' is the whole table. */
export interface AssetName {
  database: string;
  schema: string;
  table: string;
  column: string;
}

/**
 * Reads `postgres://<connection>/<db>/<schema>/<table>[/<column>]`, each segment percent-encoded. Undefined: the
 * asset is another connection's (not this sink's concern). A string: it is this connection's, but no table or column.
 */
export function parseAssetName(qualifiedName: string, connectionId: string): AssetName | string | undefined {
  const match = /^postgres:\/\/([^/]+)\/(.*)$/.exec(qualifiedName);
  if (!match || match[1] !== connectionId) return undefined;
  const path = match[2]!;
  if (path.includes('#')) return `${qualifiedName} is not a table or a column`;
  let segments: string[];
  try {
    segments = path.split('/').map((segment) => decodeURIComponent(segment));
  } catch {
    return `${qualifiedName} has a badly percent-encoded segment`;
  }
  const [database, schema, table, column = ''] = segments as [string, string, string, string?];
  if ((segments.length !== 3 && segments.length !== 4) || segments.some((segment) => segment === '')) {
    return `${qualifiedName} is not a table or a column: enforcement acts on those only`;
  }
  return { database, schema, table, column };
}

/** Mapping rules may have changed a name's case: the exact name first, else the only one equal but for case. */
export function pickName(
  names: readonly string[],
  wanted: string,
  what: string,
  where = '',
): { name: string } | { problem: string } {
  if (names.includes(wanted)) return { name: wanted };
  const folded = names.filter((name) => name.toLowerCase() === wanted.toLowerCase());
  if (folded.length === 1) return { name: folded[0]! };
  const inWhere = where ? ` in ${where}` : '';
  return {
    problem: folded.length
      ? `${what} ${JSON.stringify(wanted)}${inWhere} is ambiguous: ${folded.map((name) => JSON.stringify(name)).join(', ')} differ only by case`
      : `the downstream has no ${what} ${JSON.stringify(wanted)}${inWhere}`,
  };
}

/** A table (or view) as the downstream names it, with its columns. */
interface Target {
  oid: number;
  schema: string;
  table: string;
  column: string;
  columns: string[];
}

async function resolve(downstream: pg.Pool, database: string, name: AssetName): Promise<Target | string> {
  const db = pickName([database], name.database, 'database');
  if ('problem' in db) return `${db.problem} (the connection reads ${JSON.stringify(database)})`;
  const { rows: tables } = await downstream.query<{ oid: number; schema: string; table: string }>(
    `SELECT c.oid, n.nspname AS schema, c.relname AS table FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND lower(n.nspname) = lower($1) AND lower(c.relname) = lower($2)`,
    [name.schema, name.table],
  );
  if (tables.length === 0)
    return `the downstream has no table or view ${JSON.stringify(`${name.schema}.${name.table}`)}`;
  const schema = pickName([...new Set(tables.map((row) => row.schema))], name.schema, 'schema');
  if ('problem' in schema) return schema.problem;
  const inSchema = tables.filter((row) => row.schema === schema.name);
  const table = pickName(
    inSchema.map((row) => row.table),
    name.table,
    'table',
    schema.name,
  );
  if ('problem' in table) return table.problem;
  const { oid } = inSchema.find((row) => row.table === table.name)!;
  const { rows } = await downstream.query<{ name: string }>(
    'SELECT attname AS name FROM pg_attribute WHERE attrelid = $1 AND attnum > 0 AND NOT attisdropped ORDER BY attnum',
    [oid],
  );
  const columns = rows.map((row) => row.name);
  if (name.column === '') return { oid, schema: schema.name, table: table.name, column: '', columns };
  const column = pickName(columns, name.column, 'column', `${schema.name}.${table.name}`);
  if ('problem' in column) return column.problem;
  return { oid, schema: schema.name, table: table.name, column: column.name, columns };
}

/** The grants that give a table exactly its restrictions, for roles whose table-level SELECT before is `had`. */
export function grantStatements(
  target: { schema: string; table: string; columns: readonly string[] },
  restricted: ReadonlySet<string>,
  had: ReadonlyMap<string, boolean>,
): string[] {
  const table = `${escapeIdentifier(target.schema)}.${escapeIdentifier(target.table)}`;
  const list = (columns: readonly string[]) => columns.map((column) => escapeIdentifier(column)).join(', ');
  const wholeTable = restricted.has('');
  const taken = wholeTable ? target.columns : target.columns.filter((column) => restricted.has(column));
  const kept = wholeTable ? [] : target.columns.filter((column) => !restricted.has(column));
  const statements: string[] = [];
  for (const [role, hadSelect] of had) {
    const grantee = escapeIdentifier(role);
    if (restricted.size > 0) {
      statements.push(`REVOKE SELECT ON TABLE ${table} FROM ${grantee}`);
      if (taken.length) statements.push(`REVOKE SELECT (${list(taken)}) ON TABLE ${table} FROM ${grantee}`);
      if (hadSelect && kept.length) statements.push(`GRANT SELECT (${list(kept)}) ON TABLE ${table} TO ${grantee}`);
    } else if (hadSelect) {
      // The table-level grant covers every column, so dropping the column grants takes nothing away.
      statements.push(`GRANT SELECT ON TABLE ${table} TO ${grantee}`);
      if (target.columns.length)
        statements.push(`REVOKE SELECT (${list(target.columns)}) ON TABLE ${table} FROM ${grantee}`);
    }
  }
  return statements;
}

/**
 * SQLSTATEs with which the downstream refuses a change for what it names: a role, table, column or schema that does
 * not exist. No retry applies such a change, so it is dead-lettered and the subscription goes on. Everything else
 * (the downstream down or restarting, a lock or statement timeout, a refused login or missing database, which an
 * operator fixes for every change at once) is retried, and later changes wait.
 */
export const PERMANENT_SQLSTATES: ReadonlySet<string> = new Set(['42704', '42P01', '42703', '3F000']);

/** The downstream refused a change for good (PERMANENT_SQLSTATES). */
class DownstreamRefusal extends Error {}

async function onDownstream<T>(work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && PERMANENT_SQLSTATES.has(code)) {
      throw new DownstreamRefusal(`the downstream refused it: ${(error as Error).message} (SQLSTATE ${code})`);
    }
    throw error;
  }
}

/** PostgreSQL only warns when the connection's user may not grant (it neither owns the table nor has GRANT OPTION). */
const NOT_GRANTED = new Set(['01006', '01007']);

export async function createPostgresEnforcementSink(
  spec: Spec,
  { tenant, subscriptionId }: SinkContext,
  deps: SinkDependencies,
): Promise<Sink> {
  const connection = await loadConnection(deps.postgres, deps.config.secretsKey, tenant, spec.connectionId);
  if (!connection) throw new Error(`tenant ${tenant} has no connection ${JSON.stringify(spec.connectionId)}`);
  if (connection.type !== 'postgres') {
    throw new Error(`connection ${spec.connectionId} is ${connection.type}: enforcement needs a postgres connection`);
  }
  const { user } = connection;
  // The downstream is a tenant's destination like a source: the policy is checked, and the pool keeps the address.
  const applicationName = `metasync-enforcement-${subscriptionId}`.slice(0, 63);
  const downstream = new pg.Pool({
    ...(await postgresClientConfig(connection, applicationName, configuredDestinations(deps.config))),
    max: 2,
    statement_timeout: 30_000,
    lock_timeout: 10_000,
  });
  // An idle connection dropped by the server (downstream restarted) must not end the process; the next query reconnects.
  downstream.on('error', (error) =>
    log.warn('enforcement downstream connection lost', { tenant, subscriptionId, error: error.message }),
  );
  const keyOf = (target: Target) => [tenant, subscriptionId, target.schema, target.table];

  /** Writes the change's restriction row and returns every restriction of the table, with each role's baseline. */
  async function recordRestriction(control: pg.PoolClient, target: Target, change: 'added' | 'removed', value: string) {
    const key = [...keyOf(target), target.column, value];
    await control.query('BEGIN');
    try {
      await control.query(
        change === 'added'
          ? `INSERT INTO enforcement_restrictions (tenant, subscription_id, schema_name, table_name, column_name, classification)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`
          : `DELETE FROM enforcement_restrictions WHERE tenant = $1 AND subscription_id = $2 AND schema_name = $3
             AND table_name = $4 AND column_name = $5 AND classification = $6`,
        key,
      );
      const { rows: restrictions } = await control.query<{ column_name: string }>(
        `SELECT DISTINCT column_name FROM enforcement_restrictions
         WHERE tenant = $1 AND subscription_id = $2 AND schema_name = $3 AND table_name = $4`,
        keyOf(target),
      );
      if (restrictions.length > 0) {
        // Taken before anything is revoked, and kept until the last restriction goes.
        for (const { role, hadSelect } of await currentSelect(target)) {
          await control.query(
            `INSERT INTO enforcement_baselines (tenant, subscription_id, schema_name, table_name, role_name, had_select)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
            [...keyOf(target), role, hadSelect],
          );
        }
      }
      const { rows: baselines } = await control.query<{ role_name: string; had_select: boolean }>(
        `SELECT role_name, had_select FROM enforcement_baselines
         WHERE tenant = $1 AND subscription_id = $2 AND schema_name = $3 AND table_name = $4`,
        keyOf(target),
      );
      await control.query('COMMIT');
      return {
        restricted: new Set(restrictions.map((row) => row.column_name)),
        had: new Map(baselines.map((row) => [row.role_name, row.had_select])),
      };
    } catch (error) {
      await control.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Whether each restricted role that exists holds table-level SELECT now (granted to it directly). */
  async function currentSelect(target: Target): Promise<{ role: string; hadSelect: boolean }[]> {
    const { rows } = await onDownstream(
      downstream.query<{ role: string; has_select: boolean }>(
        `SELECT r.rolname AS role, EXISTS (
           SELECT 1 FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
           WHERE c.oid = $1 AND a.grantee = r.oid AND a.privilege_type = 'SELECT') AS has_select
         FROM pg_roles r WHERE r.rolname = ANY($2::text[])`,
        [target.oid, spec.restrictedRoles],
      ),
    );
    return rows.map((row) => ({ role: row.role, hadSelect: row.has_select }));
  }

  /** The roles of `roles` the downstream has. */
  async function rolesThatExist(roles: readonly string[]): Promise<Set<string>> {
    const { rows } = await onDownstream(
      downstream.query<{ role: string }>('SELECT rolname AS role FROM pg_roles WHERE rolname = ANY($1::text[])', [
        roles,
      ]),
    );
    return new Set(rows.map((row) => row.role));
  }

  async function applyGrants(statements: string[]): Promise<void> {
    const client = await downstream.connect();
    const refused: string[] = [];
    const onNotice = (notice: { code?: string; message?: string }) => {
      if (notice.code && NOT_GRANTED.has(notice.code)) refused.push(notice.message ?? notice.code);
    };
    client.on('notice', onNotice);
    try {
      await client.query('BEGIN');
      for (const statement of statements) await client.query(statement);
      if (refused.length) {
        throw new Error(`the downstream user ${user} may not change these grants: ${refused.join('; ')}`);
      }
      await client.query('COMMIT');
      client.removeListener('notice', onNotice);
      client.release();
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.removeListener('notice', onNotice);
      client.release(error as Error); // a broken connection is dropped, not reused
      throw error;
    }
  }

  /** A role can still read what was restricted through PUBLIC or a role it belongs to: worth a warning. */
  async function warnIfStillReadable(target: Target, restricted: ReadonlySet<string>, roles: string[]): Promise<void> {
    const columns = restricted.has('') ? target.columns : target.columns.filter((column) => restricted.has(column));
    if (columns.length === 0) return;
    const { rows } = await downstream.query<{ role: string; column: string }>(
      `SELECT role, col AS column FROM unnest($2::text[]) AS role, unnest($3::text[]) AS col
       WHERE has_column_privilege(role, $1::oid, col, 'SELECT')`,
      [target.oid, roles, columns],
    );
    if (rows.length) {
      log.warn('a restricted role can still read a restricted column through PUBLIC or a role it belongs to', {
        tenant,
        subscriptionId,
        table: `${target.schema}.${target.table}`,
        readable: rows.map((r) => `${r.role}:${r.column}`),
      });
    }
  }

  /**
   * Records the change and reconciles its table for the restricted roles the downstream has. Roles it lacks are
   * returned: the change is applied without them (enforcement for the others must not wait on a missing role), and
   * the next change of the table covers a role created meanwhile, as every change reconciles the whole table.
   */
  async function enforce(target: Target, change: 'added' | 'removed', value: string): Promise<string[]> {
    const control = await deps.postgres.connect();
    const lockKey = JSON.stringify(keyOf(target));
    let broken: Error | undefined;
    try {
      // One table is reconciled by one process at a time, wherever the partitions of its columns went.
      await control.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [lockKey]);
      try {
        const { restricted, had } = await recordRestriction(control, target, change, value);
        const existing = await rolesThatExist([...new Set([...spec.restrictedRoles, ...had.keys()])]);
        const present = new Map([...had].filter(([role]) => existing.has(role)));
        const statements = grantStatements(target, restricted, present);
        if (statements.length) await onDownstream(applyGrants(statements));
        if (restricted.size === 0 && had.size > 0) {
          await control.query(
            `DELETE FROM enforcement_baselines
             WHERE tenant = $1 AND subscription_id = $2 AND schema_name = $3 AND table_name = $4`,
            keyOf(target),
          );
        }
        await warnIfStillReadable(
          target,
          restricted,
          spec.restrictedRoles.filter((role) => existing.has(role)),
        );
        return spec.restrictedRoles.filter((role) => !existing.has(role));
      } finally {
        await control.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [lockKey]).catch((error: Error) => {
          broken = error;
        });
      }
    } finally {
      control.release(broken);
    }
  }

  return {
    async deliver(event) {
      const { qualifiedName, attribute, value, change } = event.payload;
      if (attribute !== 'classification' || !spec.classifications.includes(value)) return { outcome: 'ignored' };
      const name = parseAssetName(qualifiedName, spec.connectionId);
      if (name === undefined) return { outcome: 'ignored' };
      if (typeof name === 'string') return { outcome: 'skipped', reason: name };
      try {
        const target = await onDownstream(resolve(downstream, connection.database, name));
        if (typeof target === 'string') return { outcome: 'skipped', reason: `${qualifiedName}: ${target}` };
        const missing = await enforce(target, change, value);
        if (missing.length === 0) return { outcome: 'delivered' };
        const applied = spec.restrictedRoles.filter((role) => !missing.includes(role));
        return {
          outcome: 'skipped',
          reason:
            `${qualifiedName}: restricted role(s) ${missing.join(', ')} do not exist on the downstream, so the change ` +
            `was applied ${applied.length ? `for ${applied.join(', ')} only` : 'for no role'}: create the role(s), or ` +
            `remove them from the subscription; the next change of this table applies to a role created meanwhile`,
        };
      } catch (error) {
        if (error instanceof DownstreamRefusal)
          return { outcome: 'skipped', reason: `${qualifiedName}: ${error.message}` };
        throw error;
      }
    },
    close: () => downstream.end(),
  };
}
