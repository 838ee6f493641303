import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import mysql from 'mysql2/promise';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import type { EstateAsset, RawRecord, SourceType } from '../../lib/ingest/contracts.js';
import { catalogEdges } from '../../lib/lineage/catalog.js';
import { namingContext } from '../../lib/lineage/names.js';
import { loadDefaultRules, mapRecord } from '../../lib/mapping/index.js';
import {
  createExtractor,
  ExtractionError,
  type Extracted,
  type ExtractionErrorCode,
  type SourceConnectionInput,
} from '../../lib/extractors/index.js';
import { configuredDestinations } from '../../lib/platform/destinations.js';
import { dumpsPrefix } from '../../lib/platform/objectKeys.js';
import { eventually, testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { sourceLogin } from '../support/postgresCluster.js';
import { openStack } from '../support/stack.js';

/**
 * The extractors against the real PostgreSQL, MariaDB and S3 of the stack. Every test makes its own databases,
 * named after this run, and drops them. The destination policy is the tests' (loopback allowed, as the stack's
 * sources are there); test/integration/securityBoundary.test.ts checks the policy itself.
 */

const config = testConfig();
const stack = openStack(config);
const run = uniqueId('x').slice(2).replace(/-/g, '_');
const fixture = (file: string) => readFile(new URL(`../fixtures/extractors/${file}`, import.meta.url), 'utf8');
const tenant = uniqueTenant('ext');
const extractorDeps = {
  tenant,
  destinations: configuredDestinations(config),
  s3: stack.s3,
  bucket: config.s3.bucket,
};

after(() => stack.close());

async function collect(source: SourceConnectionInput, deps: Parameters<typeof createExtractor>[1] = extractorDeps) {
  const extractor = createExtractor(source, deps);
  const items: Extracted[] = [];
  try {
    for await (const item of extractor.extract()) items.push(item);
  } finally {
    await extractor.close();
  }
  return items;
}

const records = (items: Extracted[]) => items.filter((item): item is RawRecord => !('rejected' in item));

/** Maps what an extractor emitted with the default rules: the contract between extractors and mapping rules. */
function mapWithDefaultRules(items: Extracted[], sourceType: SourceType): Map<string, EstateAsset> {
  const rules = loadDefaultRules();
  const assets = new Map<string, EstateAsset>();
  for (const record of records(items).filter(({ kind }) => kind !== 'lineage')) {
    const mapped = mapRecord(record, { sourceType, connectionId: 'conn' }, rules);
    assert.ok(mapped.ok, `${record.kind} ${record.path.join('.')} was rejected: ${mapped.ok ? '' : mapped.reason}`);
    assets.set(record.path.slice(1).join('.'), mapped.asset);
  }
  return assets;
}

async function assertExtractionError(source: SourceConnectionInput, code: ExtractionErrorCode, message: RegExp) {
  await assert.rejects(collect(source), (error: unknown) => {
    assert.ok(error instanceof ExtractionError, `expected an ExtractionError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.match(error.message, message);
    return true;
  });
}

/** A server that accepts connections and never says a word: what a firewall black hole looks like. */
async function silentServer() {
  const sockets: Socket[] = [];
  const server = createServer((socket) => void sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  return {
    port: address.port,
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('PostgreSQL extractor', () => {
  // The stack's role for source databases, which owns what it creates (MetaSync's runtime role may not create any).
  const admin = stack.sources;
  const login = sourceLogin(config);
  const source = (database: string, extra: Partial<SourceConnectionInput> = {}) =>
    ({ type: 'postgres', ...login, database, ...extra }) as SourceConnectionInput;
  const client = (database: string) => new pg.Client({ ...login, database });

  /** A fresh database (C collation, so the order of names is bytewise), with `sql` run inside it. */
  const database = (what: string, sql = ''): Promise<string> =>
    stack.sourceDatabase(what.includes(' ') ? `${what} ${run}` : `ext_${what}_${run}`, sql);

  const table = (kind: RawRecord['kind'], path: string[], attributes: RawRecord['attributes'] = {}): RawRecord => ({
    kind,
    path,
    attributes: {
      relkind: kind === 'view' ? 'v' : kind === 'materialized_view' ? 'm' : 'r',
      owner: login.user,
      comment: null,
      row_count: null,
      is_partition: false,
      partition_of_schema: null,
      partition_of_table: null,
      view_definition: null,
      ...attributes,
    },
  });
  const column = (path: string[], ordinal: number, dataType: string, attributes: RawRecord['attributes'] = {}) => ({
    kind: 'column' as const,
    path,
    attributes: {
      data_type: dataType,
      is_nullable: true,
      column_default: null,
      generation_expression: null,
      is_identity: false,
      ordinal_position: ordinal,
      comment: null,
      is_primary_key: false,
      primary_key_position: null,
      ...attributes,
    },
  });
  const foreignKey = (
    path: string[],
    columns: string[],
    to: [string, string, string[]],
    rules = ['NO ACTION', 'NO ACTION'],
  ) => ({
    kind: 'foreign_key' as const,
    path,
    attributes: {
      columns: JSON.stringify(columns),
      referenced_schema: to[0],
      referenced_table: to[1],
      referenced_columns: JSON.stringify(to[2]),
      update_rule: rules[0]!,
      delete_rule: rules[1]!,
    },
  });

  const lineage = (path: string[], type: string, table: string, columns: string[], from: string[]) => ({
    kind: 'lineage' as const,
    path,
    attributes: {
      downstream_type: type,
      upstream_schema: 'shop',
      upstream_table: table,
      columns: JSON.stringify(columns),
      upstream_columns: JSON.stringify(from),
    },
  });

  it('reads every kind of a small estate, containers first, the same way twice', async () => {
    const db = await database('estate', await fixture('postgres-estate.sql'));
    await admin.query(`COMMENT ON DATABASE ${pg.escapeIdentifier(db)} IS 'the shop estate'`);
    const items = await collect(source(db));
    const [first] = items;
    assert.ok(first && 'kind' in first);
    assert.match(String(first.attributes['server_version']), /^\d+\.\d+/);
    const serverVersion = first.attributes['server_version']!;

    const shop = (...path: string[]) => [db, 'shop', ...path];
    assert.deepEqual(items, [
      {
        kind: 'database',
        path: [db],
        attributes: {
          owner: login.user,
          encoding: 'UTF8',
          collation: 'C',
          comment: 'the shop estate',
          server_version: serverVersion,
        },
      },
      { kind: 'schema', path: [db, 'audit'], attributes: { owner: login.user, comment: null } },
      {
        kind: 'schema',
        path: [db, 'public'],
        attributes: { owner: 'pg_database_owner', comment: 'standard public schema' },
      },
      { kind: 'schema', path: [db, 'shop'], attributes: { owner: login.user, comment: 'the web shop' } },
      table('table', [db, 'audit', 'log']),
      table('view', shop('big_orders'), {
        view_definition:
          ' SELECT orders.id,\n    orders.total\n   FROM shop.orders\n  WHERE (orders.total > (100)::numeric);',
      }),
      table('view', shop('customer_orders'), {
        view_definition:
          ' SELECT c.email,\n    o.id AS "order id",\n    (o.total * 1.2) AS total_with_tax\n   FROM (shop.orders o\n     JOIN shop.customers c ON ((c.id = o.customer_id)));',
      }),
      table('table', shop('customers'), { comment: 'people who order', row_count: 3 }),
      table('table', shop('events'), { relkind: 'p' }),
      table('table', shop('events_2026'), {
        is_partition: true,
        partition_of_schema: 'shop',
        partition_of_table: 'events',
      }),
      table('table', shop('order_notes')),
      table('materialized_view', shop('order_totals'), {
        view_definition:
          ' SELECT orders.customer_id,\n    sum(orders.total) AS total\n   FROM shop.orders\n  GROUP BY orders.customer_id;',
      }),
      table('table', shop('orders')),
      foreignKey([db, 'audit', 'log', 'log_customer_id_fkey'], ['customer_id'], ['shop', 'customers', ['id']]),
      // Only the partitioned table's key: the copy PostgreSQL keeps on events_2026 is not a record.
      foreignKey(shop('events', 'events_customer_id_fkey'), ['customer_id'], ['shop', 'customers', ['id']]),
      foreignKey(
        shop('order_notes', 'notes_order'),
        ['order_line', 'order_id'],
        ['shop', 'orders', ['line', 'id']],
        ['RESTRICT', 'NO ACTION'],
      ),
      foreignKey(
        shop('orders', 'orders_customer_id_fkey'),
        ['customer_id'],
        ['shop', 'customers', ['id']],
        ['NO ACTION', 'CASCADE'],
      ),
      // What each view reads: the expression total_with_tax has no column-level origin.
      lineage(shop('big_orders'), 'view', 'orders', ['id', 'total'], ['id', 'total']),
      lineage(shop('customer_orders'), 'view', 'customers', ['email'], ['email']),
      lineage(shop('customer_orders'), 'view', 'orders', ['order id'], ['id']),
      lineage(shop('order_totals'), 'materialized_view', 'orders', ['customer_id'], ['customer_id']),
      column([db, 'audit', 'log', 'id'], 1, 'integer', {
        is_nullable: false,
        column_default: "nextval('audit.log_id_seq'::regclass)",
        is_primary_key: true,
        primary_key_position: 1,
      }),
      column([db, 'audit', 'log', 'customer_id'], 2, 'integer'),
      column(shop('big_orders', 'id'), 1, 'bigint'),
      column(shop('big_orders', 'total'), 2, 'numeric(10,2)'),
      column(shop('customer_orders', 'email'), 1, 'character varying(255)'),
      column(shop('customer_orders', 'order id'), 2, 'bigint'),
      column(shop('customer_orders', 'total_with_tax'), 3, 'numeric'),
      column(shop('customers', 'id'), 1, 'integer', {
        is_nullable: false,
        is_primary_key: true,
        primary_key_position: 1,
      }),
      column(shop('customers', 'email'), 2, 'character varying(255)', { is_nullable: false, comment: 'login, unique' }),
      column(shop('customers', 'tags'), 3, 'text[]'),
      column(shop('customers', 'created_at'), 4, 'timestamp without time zone', {
        is_nullable: false,
        column_default: 'now()',
      }),
      column(shop('events', 'id'), 1, 'integer'),
      column(shop('events', 'at'), 2, 'date', { is_nullable: false }),
      column(shop('events', 'customer_id'), 3, 'integer'),
      column(shop('events_2026', 'id'), 1, 'integer'),
      column(shop('events_2026', 'at'), 2, 'date', { is_nullable: false }),
      column(shop('events_2026', 'customer_id'), 3, 'integer'),
      column(shop('order_notes', 'order_line'), 1, 'integer'),
      column(shop('order_notes', 'order_id'), 2, 'bigint'),
      column(shop('order_notes', 'note'), 3, 'text'),
      column(shop('order_totals', 'customer_id'), 1, 'integer'),
      column(shop('order_totals', 'total'), 2, 'numeric'),
      // The primary key is (line, id); the dropped column leaves no gap in the ordinals.
      column(shop('orders', 'id'), 1, 'bigint', {
        is_nullable: false,
        is_identity: true,
        is_primary_key: true,
        primary_key_position: 2,
      }),
      column(shop('orders', 'customer_id'), 2, 'integer', { is_nullable: false }),
      column(shop('orders', 'line'), 3, 'integer', {
        is_nullable: false,
        is_primary_key: true,
        primary_key_position: 1,
      }),
      column(shop('orders', 'total'), 4, 'numeric(10,2)', { is_nullable: false, column_default: '0' }),
      column(shop('orders', 'quantities'), 5, 'integer[]', { is_nullable: false, column_default: "'{}'::integer[]" }),
      column(shop('orders', 'status'), 6, 'text', { column_default: "'new'::text" }),
      column(shop('orders', 'total_with_tax'), 7, 'numeric', { generation_expression: '(total * 1.2)' }),
    ]);
    assert.deepEqual(await collect(source(db)), items, 'a second extraction yields the same, in the same order');
  });

  it('emits records the default mapping rules accept and normalize', async () => {
    const db = await database('mapped', await fixture('postgres-estate.sql'));
    const assets = mapWithDefaultRules(await collect(source(db)), 'postgres');
    const column = (name: string) => assets.get(`shop.${name}`);
    assert.deepEqual([column('orders.total')?.dataType, column('orders.total')?.nullable], ['decimal(10,2)', false]);
    assert.equal(column('orders.quantities')?.dataType, 'array<int32>');
    assert.equal(column('customers.email')?.dataType, 'string(255)');
    assert.equal(column('customers.created_at')?.dataType, 'timestamp');
    assert.ok(column('customers.id')?.tags.includes('key:primary'));
    assert.ok(column('customers.email')?.tags.includes('candidate:PII'));
    assert.match(column('customers')?.qualifiedName ?? '', /^postgres:\/\/conn\/.+\/shop\/customers$/);
  });

  it('states what views read as lineage: columns only where PostgreSQL records their origin', async () => {
    const db = await database(
      'lineage',
      `${await fixture('postgres-estate.sql')};
       CREATE VIEW shop.top_emails AS SELECT email FROM shop.customer_orders;
       -- The subquery's own target list has an entry 1 too (max(id) AS max): it is not the view's column 1.
       CREATE VIEW audit.last_customer AS SELECT (SELECT max(id) FROM shop.customers) AS id;`,
    );
    const naming = namingContext('postgres', 'conn', loadDefaultRules());
    const edges = records(await collect(source(db)))
      .filter((record) => record.kind === 'lineage')
      .flatMap((record) => {
        const stated = catalogEdges(record, naming);
        assert.ok(stated.ok, stated.ok ? '' : stated.reason);
        return stated.edges.map((edge) => `${edge.upstream} -> ${edge.downstream}`);
      });
    const name = (...path: string[]) => `postgres://conn/${db}/${path.join('/')}`;
    assert.deepEqual(edges, [
      `${name('shop', 'customers')} -> ${name('audit', 'last_customer')}`,
      `${name('shop', 'orders')} -> ${name('shop', 'big_orders')}`,
      `${name('shop', 'orders', 'id')} -> ${name('shop', 'big_orders', 'id')}`,
      `${name('shop', 'orders', 'total')} -> ${name('shop', 'big_orders', 'total')}`,
      `${name('shop', 'customers')} -> ${name('shop', 'customer_orders')}`,
      `${name('shop', 'customers', 'email')} -> ${name('shop', 'customer_orders', 'email')}`,
      `${name('shop', 'orders')} -> ${name('shop', 'customer_orders')}`,
      `${name('shop', 'orders', 'id')} -> ${name('shop', 'customer_orders', 'order%20id')}`,
      `${name('shop', 'orders')} -> ${name('shop', 'order_totals')}`,
      `${name('shop', 'orders', 'customer_id')} -> ${name('shop', 'order_totals', 'customer_id')}`,
      `${name('shop', 'customer_orders')} -> ${name('shop', 'top_emails')}`,
      `${name('shop', 'customer_orders', 'email')} -> ${name('shop', 'top_emails', 'email')}`,
    ]);
    const scoped = records(await collect(source(db, { schemas: ['audit'] }))).filter((r) => r.kind === 'lineage');
    assert.deepEqual(
      scoped.map((record) => [record.path.at(-1), record.attributes['upstream_table']]),
      [['last_customer', 'customers']],
      'a view in scope reading a table out of it still names that table',
    );
  });

  it('reads only the schemas asked for, and names a missing one', async () => {
    const db = await database('scoped', await fixture('postgres-estate.sql'));
    const paths = records(await collect(source(db, { schemas: ['audit'] }))).map((record) => record.path.join('.'));
    assert.deepEqual(paths, [
      db,
      `${db}.audit`,
      `${db}.audit.log`,
      `${db}.audit.log.log_customer_id_fkey`,
      `${db}.audit.log.id`,
      `${db}.audit.log.customer_id`,
    ]);
    await assertExtractionError(source(db, { schemas: ['audit', 'nope'] }), 'not_found', /has no schema "nope"/);
  });

  it('keeps odd identifiers exactly as the catalog spells them', async () => {
    const long = 'a_table_name_that_is_far_longer_than_the_sixty_three_bytes_postgres_keeps';
    const db = await database(
      'ext odd "db" é',
      `CREATE SCHEMA "Weird ""Schema""";
       CREATE TABLE "Weird ""Schema"""."select" ("order" int, "My Col" text, """quoted""" int, "naïve 日本" int, "🙂" int);
       CREATE TABLE "Weird ""Schema"""."CamelCase" (a int);
       CREATE TABLE "Weird ""Schema""".camelcase (a int);
       CREATE TABLE "Weird ""Schema""".${long} (a int);
       CREATE TABLE "Weird ""Schema""".${'é'.repeat(40)} (a int);`,
    );
    const paths = records(await collect(source(db))).map((record) => [record.kind, ...record.path.slice(1)]);
    // PostgreSQL cuts identifiers to 63 bytes (at a character boundary): 63 ASCII letters, or 31 é of two bytes.
    const truncated = long.slice(0, 63);
    const e31 = 'é'.repeat(31);
    assert.deepEqual(paths, [
      ['database'],
      ['schema', 'Weird "Schema"'],
      ['schema', 'public'],
      ['table', 'Weird "Schema"', 'CamelCase'],
      ['table', 'Weird "Schema"', truncated],
      ['table', 'Weird "Schema"', 'camelcase'],
      ['table', 'Weird "Schema"', 'select'],
      ['table', 'Weird "Schema"', e31],
      ['column', 'Weird "Schema"', 'CamelCase', 'a'],
      ['column', 'Weird "Schema"', truncated, 'a'],
      ['column', 'Weird "Schema"', 'camelcase', 'a'],
      ['column', 'Weird "Schema"', 'select', 'order'],
      ['column', 'Weird "Schema"', 'select', 'My Col'],
      ['column', 'Weird "Schema"', 'select', '"quoted"'],
      ['column', 'Weird "Schema"', 'select', 'naïve 日本'],
      ['column', 'Weird "Schema"', 'select', '🙂'],
      ['column', 'Weird "Schema"', e31, 'a'],
    ]);
    assert.equal(records(await collect(source(db)))[0]?.path[0], db, 'the database name itself is odd too');
    const scoped = records(await collect(source(db, { schemas: ['Weird "Schema"'] })));
    assert.equal(scoped.length, paths.length - 1, 'an odd name in the schemas list matches exactly');
  });

  it('reads an empty database as its database and public schema', async () => {
    const db = await database('empty');
    const kinds = records(await collect(source(db))).map((record) => `${record.kind} ${record.path.join('.')}`);
    assert.deepEqual(kinds, [`database ${db}`, `schema ${db}.public`]);
  });

  it('lists tables the user may not SELECT: the catalog shows every object', async () => {
    // The role owns the table and revokes its own privileges: it can no longer read the rows, only the catalog.
    const db = await database('noselect', `CREATE TABLE secret (code text); REVOKE ALL ON secret FROM ${login.user};`);
    const connection = client(db);
    await connection.connect();
    await assert.rejects(connection.query('SELECT * FROM secret'), /permission denied for table secret/);
    await connection.end();
    const paths = records(await collect(source(db))).map((record) => record.path.join('.'));
    assert.deepEqual(paths, [db, `${db}.public`, `${db}.public.secret`, `${db}.public.secret.code`]);
  });

  it('says the source is unreachable, in the same words for a closed port and a server that never answers', async () => {
    await assertExtractionError(
      source('postgres', { port: 1 }),
      'unreachable',
      /^cannot connect to PostgreSQL at 127\.0\.0\.1:1 — check the host and port, that the server is running/,
    );
    const silent = await silentServer();
    const started = Date.now();
    try {
      await assertExtractionError(
        source('postgres', { port: silent.port, connectTimeoutSeconds: 1 }),
        'unreachable',
        new RegExp(`^cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${silent.port} — check the host and port`),
      );
    } finally {
      await silent.close();
    }
    assert.ok(Date.now() - started < 5_000, 'the time-out bounds the wait');
  });

  it('says when the password is wrong, without repeating it', async () => {
    await assertExtractionError(
      source('postgres', { password: 'not-the-password' }),
      'authentication',
      /did not accept user "metasync_sources" \(password authentication failed.*\) — check the user name and password/,
    );
    const error = await collect(source('postgres', { password: 'not-the-password' })).catch((e: unknown) => e);
    assert.ok(error instanceof Error && !error.message.includes('not-the-password'));
  });

  it('says when the user may not connect to the database', async () => {
    const db = await database('noconnect');
    // The source role has CREATEDB but not CREATEROLE on the stack, so the role without CONNECT is the owner itself.
    await admin.query(`REVOKE CONNECT ON DATABASE ${pg.escapeIdentifier(db)} FROM PUBLIC, ${login.user}`);
    await assertExtractionError(source(db), 'permission_denied', /may not read database ".*" .*grant it CONNECT/);
  });

  it('says when the database does not exist', async () => {
    await assertExtractionError(source(`ext_missing_${run}`), 'not_found', /has no database "ext_missing_.*" — check/);
  });

  it('rejects an invalid source, naming every wrong field', () => {
    assert.throws(
      () =>
        createExtractor(
          { ...source('x'), host: '', port: 70_000, schema: ['a'] } as unknown as SourceConnectionInput,
          extractorDeps,
        ),
      (error: unknown) => {
        assert.ok(error instanceof ExtractionError);
        assert.equal(error.code, 'invalid_source');
        assert.match(error.message, /host: .*; port: .*Unrecognized key: "schema"/);
        return true;
      },
    );
    assert.throws(
      () => createExtractor({ type: 'oracle' } as unknown as SourceConnectionInput, extractorDeps),
      /the source connection is invalid: type: /,
    );
  });

  it('closes its connection when the consumer stops early', async () => {
    const db = await database('early', await fixture('postgres-estate.sql'));
    const sessions = async () => {
      const { rows } = await admin.query<{ count: string }>(
        `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'metasync-extractor'`,
        [db],
      );
      return Number(rows[0]?.count);
    };
    const extractor = createExtractor(source(db), extractorDeps);
    for await (const item of extractor.extract()) {
      if ('kind' in item && item.kind === 'table') {
        assert.equal(await sessions(), 1, 'the extraction holds one session while it runs');
        break;
      }
    }
    // A backend leaves pg_stat_activity a moment after its client has gone.
    await eventually(async () => ((await sessions()) === 0 ? true : undefined), 5_000, 'the session to end');
    await extractor.close();
  });

  it('keeps memory flat over 2,000 tables of 20 columns', async (context) => {
    const db = await database('bulk', 'CREATE SCHEMA bulk');
    const connection = client(db);
    await connection.connect();
    const tables = 2_000;
    const name = (t: number) => `bulk.t_${String(t).padStart(4, '0')}`;
    for (let start = 0; start < tables; start += 200) {
      const statements: string[] = [];
      for (let t = start; t < start + 200; t++) {
        const columns = Array.from({ length: 19 }, (_, c) => `c_${c + 1} ${c % 2 ? 'text' : 'integer'}`);
        if (t > 0) columns[0] += ` REFERENCES ${name(t - 1)} (id)`;
        statements.push(`CREATE TABLE ${name(t)} (id integer PRIMARY KEY, ${columns.join(', ')})`);
      }
      await connection.query(statements.join(';\n'));
    }
    await connection.end();

    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    const heap = () => {
      gc();
      return process.memoryUsage().heapUsed;
    };
    const counts: Record<string, number> = {};
    const baseline = heap();
    let peak = 0;
    let seen = 0;
    const started = Date.now();
    for await (const item of createExtractor(source(db), extractorDeps).extract()) {
      const kind = 'kind' in item ? item.kind : 'rejected';
      counts[kind] = (counts[kind] ?? 0) + 1;
      if (++seen % 2_000 === 0) peak = Math.max(peak, heap() - baseline);
    }
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(counts, { database: 1, schema: 2, table: 2_000, foreign_key: 1_999, column: 40_000 });
    // Holding all 44,002 records takes about 18 MB of heap; streaming them peaks near 3 MB (one cursor batch).
    context.diagnostic(`${seen} records in ${seconds.toFixed(1)} s, heap growth peak ${(peak / 1e6).toFixed(1)} MB`);
    assert.ok(peak < 10e6, `heap grew by ${(peak / 1e6).toFixed(1)} MB while extracting`);
  });
});

describe('MySQL/MariaDB extractor', () => {
  // The stack's MariaDB (stack/services/mariadb.sh); MySQL speaks the same protocol and information_schema.
  const server = { host: '127.0.0.1', port: 3306, user: 'metasync', password: 'metasync' };
  const source = (extra: Partial<SourceConnectionInput> = {}) =>
    ({ type: 'mysql', ...server, ...extra }) as SourceConnectionInput;
  let admin: mysql.Connection;
  const created: string[] = [];
  const users: string[] = [];

  async function database(what: string, sql = ''): Promise<string> {
    const name = what.includes(' ') ? `${what} ${run}` : `ext_${what}_${run}`;
    await admin.query('CREATE DATABASE ??', [name]);
    created.push(name);
    if (sql) await admin.query(`USE ${admin.escapeId(name)};\n${sql}`);
    return name;
  }

  before(async () => {
    admin = await mysql.createConnection({ ...server, multipleStatements: true, charset: 'utf8mb4_general_ci' });
  });

  after(async () => {
    for (const name of created) await admin.query('DROP DATABASE IF EXISTS ??', [name]);
    for (const user of users) await admin.query('DROP USER IF EXISTS ?@?', [user, '%']);
    await admin.end();
  });

  const table = (path: string[], attributes: RawRecord['attributes'] = {}, kind: RawRecord['kind'] = 'table') => ({
    kind,
    path,
    attributes: {
      table_type: 'BASE TABLE',
      engine: 'InnoDB',
      row_count: 0,
      comment: null,
      collation: 'utf8mb4_general_ci',
      view_definition: null,
      ...attributes,
    },
  });
  const column = (
    path: string[],
    ordinal: number,
    types: [string, string],
    attributes: RawRecord['attributes'] = {},
  ) => ({
    kind: 'column' as const,
    path,
    attributes: {
      data_type: types[0],
      column_type: types[1],
      is_nullable: true,
      column_default: 'NULL',
      ordinal_position: ordinal,
      comment: null,
      column_key: null,
      extra: null,
      character_set: null,
      collation: null,
      is_primary_key: false,
      primary_key_position: null,
      ...attributes,
    },
  });
  const text = { character_set: 'utf8mb4', collation: 'utf8mb4_general_ci' };

  it('reads every kind of a small estate, containers first, the same way twice', async () => {
    const db = await database('estate', await fixture('mariadb-estate.sql'));
    const items = await collect(source({ databases: [db] }));
    const [first] = items;
    assert.ok(first && 'kind' in first);
    const serverVersion = first.attributes['server_version']!;
    assert.match(String(serverVersion), /MariaDB/);
    const notNull = { is_nullable: false, column_default: null };

    assert.deepEqual(items, [
      {
        kind: 'database',
        path: [db],
        attributes: {
          character_set: 'utf8mb4',
          collation: 'utf8mb4_general_ci',
          comment: null,
          server_version: serverVersion,
        },
      },
      table(
        [db, 'big_orders'],
        {
          table_type: 'VIEW',
          engine: null,
          row_count: null,
          collation: null,
          view_definition: `select \`${db}\`.\`orders\`.\`id\` AS \`id\`,\`${db}\`.\`orders\`.\`total\` AS \`total\` from \`${db}\`.\`orders\` where \`${db}\`.\`orders\`.\`total\` > 100`,
        },
        'view',
      ),
      table([db, 'customers'], { comment: 'people who order', row_count: 3 }),
      table([db, 'order_notes']),
      table([db, 'orders']),
      {
        kind: 'foreign_key',
        path: [db, 'order_notes', 'notes_order'],
        attributes: {
          columns: '["order_line","order_id"]',
          referenced_database: db,
          referenced_table: 'orders',
          referenced_columns: '["line","id"]',
          update_rule: 'RESTRICT',
          delete_rule: 'RESTRICT',
        },
      },
      {
        kind: 'foreign_key',
        path: [db, 'orders', 'orders_customer'],
        attributes: {
          columns: '["customer_id"]',
          referenced_database: db,
          referenced_table: 'customers',
          referenced_columns: '["id"]',
          update_rule: 'RESTRICT',
          delete_rule: 'CASCADE',
        },
      },
      column([db, 'big_orders', 'id'], 1, ['bigint', 'bigint(20) unsigned'], notNull),
      column([db, 'big_orders', 'total'], 2, ['decimal', 'decimal(10,2) unsigned'], {
        is_nullable: false,
        column_default: '0.00',
      }),
      column([db, 'customers', 'id'], 1, ['int', 'int(11)'], {
        ...notNull,
        column_key: 'PRI',
        extra: 'auto_increment',
        is_primary_key: true,
        primary_key_position: 1,
      }),
      column([db, 'customers', 'email'], 2, ['varchar', 'varchar(64)'], {
        ...notNull,
        ...text,
        comment: 'login, unique',
        column_key: 'UNI',
      }),
      column([db, 'customers', 'active'], 3, ['tinyint', 'tinyint(1)'], { is_nullable: false, column_default: '1' }),
      // MariaDB quotes a literal default and says NULL for DEFAULT NULL: passed on as the server says it.
      column([db, 'customers', 'nickname'], 4, ['varchar', 'varchar(32)'], { ...text, column_default: "'anonymous'" }),
      column([db, 'customers', 'note'], 5, ['text', 'text'], text),
      column([db, 'order_notes', 'order_line'], 1, ['int', 'int(11)'], { column_key: 'MUL' }),
      column([db, 'order_notes', 'order_id'], 2, ['bigint', 'bigint(20) unsigned']),
      column([db, 'order_notes', 'note'], 3, ['varchar', 'varchar(255)'], text),
      // The primary key is (line, id).
      column([db, 'orders', 'id'], 1, ['bigint', 'bigint(20) unsigned'], {
        ...notNull,
        column_key: 'PRI',
        is_primary_key: true,
        primary_key_position: 2,
      }),
      column([db, 'orders', 'line'], 2, ['int', 'int(11)'], {
        ...notNull,
        column_key: 'PRI',
        is_primary_key: true,
        primary_key_position: 1,
      }),
      column([db, 'orders', 'customer_id'], 3, ['int', 'int(11)'], { ...notNull, column_key: 'MUL' }),
      column([db, 'orders', 'total'], 4, ['decimal', 'decimal(10,2) unsigned'], {
        is_nullable: false,
        column_default: '0.00',
      }),
      column([db, 'orders', 'created_at'], 5, ['timestamp', 'timestamp'], {
        is_nullable: false,
        column_default: 'current_timestamp()',
      }),
    ]);
    assert.deepEqual(await collect(source({ databases: [db] })), items, 'a second extraction yields the same');
  });

  it('emits records the default mapping rules accept and normalize', async () => {
    const db = await database('mapped', await fixture('mariadb-estate.sql'));
    const assets = mapWithDefaultRules(await collect(source({ databases: [db] })), 'mysql');
    assert.deepEqual(
      [assets.get('customers.active')?.dataType, assets.get('customers.active')?.nullable],
      ['boolean', false],
    );
    assert.equal(assets.get('customers.email')?.dataType, 'string(64)');
    assert.equal(assets.get('customers.email')?.comment, 'login, unique');
    assert.ok(assets.get('customers.id')?.tags.includes('key:primary'));
    assert.ok(assets.get('customers.email')?.tags.includes('candidate:PII'));
  });

  it('reads every database but the server’s own by default', async () => {
    const db = await database('everything', 'CREATE TABLE t (a int);');
    const databases = records(await collect(source()))
      .filter((record) => record.kind === 'database')
      .map((record) => record.path[0]);
    assert.ok(databases.includes(db));
    for (const system of ['mysql', 'information_schema', 'performance_schema', 'sys']) {
      assert.ok(!databases.includes(system), `${system} is not read`);
    }
  });

  it('keeps odd identifiers exactly as the catalog spells them', async () => {
    const e64 = 'é'.repeat(64);
    const db = await database(
      'ext odd "db" é',
      `CREATE TABLE \`select\` (\`order\` int, \`My Col\` int, \`Ünï 日本\` int, \`we\`\`ird "na'me\` int);
       CREATE TABLE \`T\` (a int);
       CREATE TABLE \`t\` (a int);
       CREATE TABLE \`${e64}\` (a int);`,
    );
    // MariaDB keeps identifiers to 64 characters and to the Basic Multilingual Plane: no emoji, nothing longer.
    await assert.rejects(admin.query('CREATE TABLE ?? (a int)', [`${db}.t🙂`]), /Invalid utf8mb4 character string/);
    await assert.rejects(
      admin.query(`CREATE TABLE ${admin.escapeId(db)}.${'x'.repeat(65)} (a int)`),
      /Incorrect table name/,
    );

    const paths = records(await collect(source({ databases: [db] }))).map((record) => [record.kind, ...record.path]);
    assert.deepEqual(paths, [
      ['database', db],
      ['table', db, 'T'],
      ['table', db, 'select'],
      ['table', db, 't'],
      ['table', db, e64],
      ['column', db, 'T', 'a'],
      ['column', db, 'select', 'order'],
      ['column', db, 'select', 'My Col'],
      ['column', db, 'select', 'Ünï 日本'],
      ['column', db, 'select', 'we`ird "na\'me'],
      ['column', db, 't', 'a'],
      ['column', db, e64, 'a'],
    ]);
  });

  it('reads an empty database as its database alone', async () => {
    const db = await database('empty');
    const paths = records(await collect(source({ databases: [db] }))).map((record) => record.path.join('.'));
    assert.deepEqual(paths, [db]);
  });

  it('says the source is unreachable, in the same words for a closed port and a server that never answers', async () => {
    await assertExtractionError(
      source({ port: 1 }),
      'unreachable',
      /^cannot connect to MySQL at 127\.0\.0\.1:1 — check the host and port, that the server is running/,
    );
    const silent = await silentServer();
    const started = Date.now();
    try {
      await assertExtractionError(
        source({ port: silent.port, connectTimeoutSeconds: 1 }),
        'unreachable',
        new RegExp(`^cannot connect to MySQL at 127\\.0\\.0\\.1:${silent.port} — check the host and port`),
      );
    } finally {
      await silent.close();
    }
    assert.ok(Date.now() - started < 5_000, 'the time-out bounds the wait');
  });

  it('says when the password is wrong, without repeating it', async () => {
    await assertExtractionError(
      source({ password: 'not-the-password' }),
      'authentication',
      /did not accept user "metasync" \(Access denied.*\) — check the user name and password/,
    );
    const error = await collect(source({ password: 'not-the-password' })).catch((e: unknown) => e);
    assert.ok(error instanceof Error && !error.message.includes('not-the-password'));
  });

  it('says when a database does not exist, or the user may not see it', async () => {
    await assertExtractionError(source({ databases: [`ext_missing_${run}`] }), 'not_found', /Unknown database/);

    const db = await database('private', 'CREATE TABLE shown (a int); CREATE TABLE hidden (b int);');
    const other = await database('other');
    const user = `ext_${run}`.slice(0, 32);
    users.push(user);
    await admin.query("CREATE USER ?@'%' IDENTIFIED BY 'secret'", [user]);
    await admin.query(`GRANT SELECT ON ${admin.escapeId(db)}.shown TO ?@'%'`, [user]);
    const restricted = (databases: string[]) => source({ user, password: 'secret', databases });

    await assertExtractionError(restricted([other]), 'permission_denied', /may not read it \(Access denied/);
    // Without global privileges, a database that does not exist looks the same as one that may not be seen.
    await assertExtractionError(restricted([`ext_missing_${run}`]), 'permission_denied', /Access denied/);
    // information_schema shows only what the user holds a privilege on: the other table is not listed at all.
    const paths = records(await collect(restricted([db]))).map((record) => record.path.join('.'));
    assert.deepEqual(paths, [db, `${db}.shown`, `${db}.shown.a`]);
  });
});

describe('NDJSON dump extractor', () => {
  const { s3, bucket } = extractorDeps;
  // The tenant's own dumps: the only part of MetaSync's bucket its connections may name (lib/extractors/ndjson/dumpAccess.ts).
  const prefix = `${dumpsPrefix(tenant)}${run}`;
  let dir: string;
  const keys: string[] = [];

  const lines = [
    JSON.stringify({ kind: 'database', path: ['shop'], attributes: {} }),
    JSON.stringify({ kind: 'table', path: ['shop', 'public', 'orders'], attributes: { row_count: 3 } }),
    '',
    JSON.stringify({ kind: 'table', path: [], attributes: {} }),
    '{"kind": "column", "path": ["shop"',
    JSON.stringify({ kind: 'column', path: ['shop', 'public', 'orders', 'id'], attributes: { data_type: 'integer' } }),
  ];
  const dump = lines.join('\n') + '\n';
  const jsonError = (text: string) => {
    try {
      JSON.parse(text);
      return '';
    } catch (error) {
      return error instanceof Error ? error.message : '';
    }
  };
  const expected: Extracted[] = [
    { kind: 'database', path: ['shop'], attributes: {} },
    { kind: 'table', path: ['shop', 'public', 'orders'], attributes: { row_count: 3 } },
    {
      rejected: {
        line: 4,
        reason: 'not a RawRecord: path: Too small: expected array to have >=1 items',
        raw: lines[3]!,
      },
    },
    { rejected: { line: 5, reason: `malformed JSON: ${jsonError(lines[4]!)}`, raw: lines[4]! } },
    { kind: 'column', path: ['shop', 'public', 'orders', 'id'], attributes: { data_type: 'integer' } },
  ];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'metasync-dump-'));
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  });

  async function file(name: string, body: string | Buffer): Promise<string> {
    await writeFile(join(dir, name), body);
    return pathToFileURL(join(dir, name)).href;
  }

  async function object(name: string, body: string | Buffer): Promise<string> {
    const key = `${prefix}/${name}`;
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    keys.push(key);
    return `s3://${bucket}/${key}`;
  }

  it('reads a local file, plain and gzipped, surfacing each invalid line with its number', async () => {
    assert.deepEqual(await collect({ type: 'ndjson', uri: await file('dump.ndjson', dump) }), expected);
    assert.deepEqual(await collect({ type: 'ndjson', uri: await file('dump.ndjson.gz', gzipSync(dump)) }), expected);
    // Windows line ends and a missing final line end change nothing.
    const crlf = await file('crlf.ndjson', lines.join('\r\n'));
    assert.deepEqual(await collect({ type: 'ndjson', uri: crlf }), expected);
  });

  it('reads a dump from S3, plain and gzipped', async () => {
    assert.deepEqual(await collect({ type: 'ndjson', uri: await object('dump.ndjson', dump) }), expected);
    assert.deepEqual(await collect({ type: 'ndjson', uri: await object('dump.ndjson.gz', gzipSync(dump)) }), expected);
  });

  it("says when the dump is missing, unreadable as gzip, or outside the tenant's dumps", async () => {
    await assertExtractionError(
      { type: 'ndjson', uri: pathToFileURL(join(dir, 'nope.ndjson')).href },
      'not_found',
      /nope\.ndjson: there is no such file/,
    );
    await assertExtractionError(
      { type: 'ndjson', uri: await file('plain.ndjson.gz', dump) },
      'invalid_source',
      /it is not valid gzip/,
    );
    await assertExtractionError(
      { type: 'ndjson', uri: await file('cut.ndjson.gz', gzipSync(dump).subarray(0, 40)) },
      'invalid_source',
      /the gzip stream ends early/,
    );
    await assertExtractionError(
      { type: 'ndjson', uri: `s3://${bucket}/${prefix}/nope.ndjson` },
      'not_found',
      /there is no such object/,
    );
    // Another tenant's dumps, MetaSync's own objects of this tenant, and other buckets without credentials of their own.
    for (const uri of [
      `s3://${bucket}/${dumpsPrefix(`other-${tenant}`)}dump.ndjson`,
      `s3://${bucket}/tenants/${tenant}/connections/c/runs/r/manifest.json`,
      `s3://${bucket}/${dumpsPrefix(tenant)}../../other/dumps/dump.ndjson`,
      's3://another-bucket/dump.ndjson',
    ]) {
      await assertExtractionError(
        { type: 'ndjson', uri },
        'invalid_source',
        /dumps.* under s3:\/\/metasync\/tenants\//,
      );
    }
    assert.throws(
      () => createExtractor({ type: 'ndjson', uri: 'http://example.com/dump.ndjson' }, extractorDeps),
      /uri: expected s3/,
    );
  });
});
