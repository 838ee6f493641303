import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { LightMyRequestResponse } from 'fastify';
import mysql from 'mysql2/promise';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it, mock } from 'node:test';
import { z } from 'zod';
import { ConnectionCheck } from '../../lib/extractors/connectionCheck.js';
import { ConnectionView, saveConnection } from '../../lib/stores/connections.js';
import { deleteSubscription, saveSubscription } from '../../lib/stores/subscriptions.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testConfig, uniqueTenant } from '../support/harness.js';
import { asSuperuser } from '../support/postgresCluster.js';

const config = testConfig();
const tenantA = uniqueTenant('conn-a');
const tenantB = uniqueTenant('conn-b');
const run = `${Date.now().toString(36)}_${process.pid}`;

/** A role and a user of their own, with passwords no other text contains, so any leak of one is visible. */
const pgRole = `conn_${run}`;
const pgPassword = `pg-${randomBytes(12).toString('hex')}`;
const mysqlUser = `conn_${run}`.slice(0, 32);
const mysqlPassword = `my-${randomBytes(12).toString('hex')}`;
const dumpKey = `tenants/${tenantA}/dumps/${run}.ndjson`;
const mysqlAdmin = { host: '127.0.0.1', port: 3306, user: 'metasync', password: 'metasync' };

// The stack's server is also the control plane's, whose own database no connection may reach: `postgres` is not it.
const postgresSource = (extra: Record<string, unknown> = {}) => ({
  type: 'postgres',
  host: '127.0.0.1',
  port: 5432,
  database: 'postgres',
  user: pgRole,
  password: pgPassword,
  ...extra,
});
const mysqlSource = (extra: Record<string, unknown> = {}) => ({
  type: 'mysql',
  host: '127.0.0.1',
  port: 3306,
  user: mysqlUser,
  password: mysqlPassword,
  ...extra,
});

/** The source as a client changing it without sending the secret again sends it. */
const withoutPassword = (source: Record<string, unknown>) => {
  const copy = { ...source };
  delete copy['password'];
  return copy;
};

const ErrorBody = z.strictObject({ error: z.string().min(1) });
const Connections = z.strictObject({ connections: z.array(ConnectionView) });

describe('connections on the HTTP API', () => {
  let api: TestApi;
  let adminA: string;
  let readA: string;
  let adminB: string;
  let silent: Server;
  const sockets = new Set<Socket>();
  let dumps: string;

  const url = (tenant: string, connection = '', suffix = '') =>
    `/v1/tenants/${tenant}/connections${connection && `/${encodeURIComponent(connection)}`}${suffix}`;
  const put = (connection: string, body: unknown, tenant = tenantA, key = adminA) =>
    api.call(key, 'PUT', url(tenant, connection), body);
  const get = (connection: string, tenant = tenantA, key = adminA) => api.call(key, 'GET', url(tenant, connection));
  const test = (connection: string, tenant = tenantA, key = adminA) =>
    api.call(key, 'POST', url(tenant, connection, '/test'));
  const remove = (connection: string, tenant = tenantA, key = adminA) =>
    api.call(key, 'DELETE', url(tenant, connection));

  /** Runs requests and returns their answers with everything the process wrote meanwhile to stdout and stderr. */
  async function captured(requests: () => Promise<LightMyRequestResponse[]>) {
    const stderr = mock.method(process.stderr, 'write');
    const stdout = mock.method(process.stdout, 'write');
    let responses: LightMyRequestResponse[];
    try {
      responses = await requests();
    } finally {
      stderr.mock.restore();
      stdout.mock.restore();
    }
    const written = [...stderr.mock.calls, ...stdout.mock.calls].map((call) => String(call.arguments[0]));
    return { responses, written };
  }

  const assertNoSecret = (texts: string[]) => {
    for (const text of texts) {
      assert.ok(!text.includes(pgPassword) && !text.includes(mysqlPassword), `a password leaked into: ${text}`);
    }
  };

  const checked = (response: LightMyRequestResponse) => {
    assert.equal(response.statusCode, 200, response.body);
    return ConnectionCheck.parse(response.json());
  };

  const refused = (response: LightMyRequestResponse, status: number, error: RegExp) => {
    assert.equal(response.statusCode, status, response.body);
    assert.match(ErrorBody.parse(response.json()).error, error);
  };

  const storedSource = async (tenant: string, connection: string) => {
    const { rows } = await api.deps.postgres.query<{ source: Record<string, unknown>; updated_at: Date }>(
      'SELECT source, updated_at FROM connections WHERE tenant = $1 AND connection_id = $2',
      [tenant, connection],
    );
    return rows[0];
  };

  before(async () => {
    api = await startTestApi(config, [tenantA, tenantB]);
    adminA = await api.keyOf(tenantA, ['admin']);
    readA = await api.keyOf(tenantA, ['read']);
    adminB = await api.keyOf(tenantB, ['admin']);
    await asSuperuser(`CREATE ROLE ${pgRole} LOGIN PASSWORD '${pgPassword}'`);
    const admin = await mysql.createConnection(mysqlAdmin);
    await admin.query("CREATE USER ?@'%' IDENTIFIED BY ?", [mysqlUser, mysqlPassword]);
    await admin.end();
    // A server that takes the TCP connection and never says a word: only a time-out ends the wait.
    silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    dumps = await mkdtemp(join(tmpdir(), 'metasync-connections-'));
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent?.close(resolve));
    await rm(dumps, { recursive: true, force: true });
    await api.deps.s3.send(new DeleteObjectCommand({ Bucket: config.s3.bucket, Key: dumpKey }));
    const tenants = [tenantA, tenantB];
    await api.deps.postgres.query('DELETE FROM subscriptions WHERE tenant = ANY($1)', [tenants]);
    await api.deps.postgres.query('DELETE FROM connections WHERE tenant = ANY($1)', [tenants]);
    await api.deps.postgres.query('DELETE FROM tenants WHERE tenant = ANY($1)', [tenants]);
    await api.close();
    await asSuperuser(`DROP ROLE IF EXISTS ${pgRole}`);
    const admin = await mysql.createConnection(mysqlAdmin);
    await admin.query("DROP USER IF EXISTS ?@'%'", [mysqlUser]);
    await admin.end();
  });

  it('creates, replaces, lists, reads and tests a PostgreSQL connection, never showing or logging its password', async () => {
    const { responses, written } = await captured(async () => [
      await put('warehouse', postgresSource()),
      await put('warehouse', postgresSource({ schemas: ['public'] })),
      await api.call(readA, 'GET', url(tenantA)),
      await get('warehouse'),
      await test('warehouse'),
    ]);
    const [created, replaced, list, read, tested] = responses;
    assert.equal(created!.statusCode, 201, created!.body);
    assert.equal(replaced!.statusCode, 200, replaced!.body);
    const settings = withoutPassword(
      postgresSource({ schemas: ['public'], connectTimeoutSeconds: 10, tls: { mode: 'disable' } }),
    );
    const { createdAt, updatedAt, ...view } = ConnectionView.parse(replaced!.json());
    assert.deepEqual(view, { ...settings, connectionId: 'warehouse', passwordSet: true });
    assert.ok(Date.parse(createdAt) <= Date.parse(updatedAt));
    assert.ok(!('password' in replaced!.json<object>()));
    const full = { ...view, createdAt, updatedAt };
    assert.deepEqual(Connections.parse(list!.json()).connections, [full]);
    assert.deepEqual(ConnectionView.parse(read!.json()), full);

    const check = checked(tested!);
    assert.ok(check.ok, JSON.stringify(check));
    assert.match(check.serverVersion ?? '', /^PostgreSQL \d+/);
    assert.equal(check.details['database'], 'postgres');
    assert.equal(check.details['tls'], 'off');
    assert.equal(check.details['schemas'], 1);
    assert.equal(typeof check.details['tables'], 'number');

    assertNoSecret([...responses.map((response) => response.body), ...written]);
    const stored = await storedSource(tenantA, 'warehouse');
    const sealed = String(stored?.source['password']);
    assert.ok(
      sealed.startsWith(`v2:${config.secretsKey.current.id}:`) && !sealed.includes(pgPassword),
      'the password is sealed at rest',
    );
  });

  it('keeps the stored password on a PUT without one, so the host can change without the secret', async () => {
    const changed = withoutPassword(postgresSource({ host: 'localhost', connectTimeoutSeconds: 5 }));
    const { responses, written } = await captured(async () => [
      await put('warehouse', changed),
      await test('warehouse'),
    ]);
    const [replaced, tested] = responses;
    assert.equal(replaced!.statusCode, 200, replaced!.body);
    const view = ConnectionView.parse(replaced!.json());
    assert.ok(view.type === 'postgres' && view.host === 'localhost' && view.passwordSet);
    assert.ok(checked(tested!).ok, tested!.body);
    assertNoSecret([...responses.map((response) => response.body), ...written]);
  });

  it('wants a password for a new connection, or one whose type changes', async () => {
    const noPassword = withoutPassword(mysqlSource());
    refused(await put('fresh', noPassword), 400, /password is required.*no mysql connection fresh/);
    refused(await put('warehouse', noPassword), 400, /password is required/);
    assert.equal((await get('fresh')).statusCode, 404);
    assert.equal(ConnectionView.parse((await get('warehouse')).json()).type, 'postgres');
  });

  it('tests a MariaDB connection for real', async () => {
    assert.equal((await put('shop', mysqlSource())).statusCode, 201);
    const { responses, written } = await captured(async () => [await test('shop')]);
    const check = checked(responses[0]!);
    assert.ok(check.ok, JSON.stringify(check));
    assert.match(check.serverVersion ?? '', /MariaDB/);
    assert.equal(typeof check.details['databases'], 'number');
    assertNoSecret([...responses.map((response) => response.body), ...written]);
  });

  it('says clearly when the password is wrong, without repeating it', async () => {
    const wrong = `wrong-${randomBytes(8).toString('hex')}`;
    await put('pg-wrong', postgresSource({ password: wrong }));
    await put('my-wrong', mysqlSource({ password: wrong }));
    const { responses, written } = await captured(async () => [await test('pg-wrong'), await test('my-wrong')]);
    for (const response of responses) {
      const check = checked(response);
      assert.ok(!check.ok);
      assert.match(check.error, /^(PostgreSQL|MySQL) at 127\.0\.0\.1:\d+ did not accept user "conn_/);
      assert.match(check.error, /check the user name and password/);
    }
    for (const text of [...responses.map((response) => response.body), ...written]) assert.ok(!text.includes(wrong));
  });

  it('fails fast on a closed port, within connectTimeoutSeconds on a server that never answers, in the same words', async () => {
    const { port } = silent.address() as { port: number };
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const cases = [
      ['pg-closed', postgresSource({ port: closed })],
      ['my-closed', mysqlSource({ port: closed })],
      ['pg-silent', postgresSource({ port, connectTimeoutSeconds: 1 })],
      ['my-silent', mysqlSource({ port, connectTimeoutSeconds: 1 })],
    ] as const;
    const errors: string[] = [];
    for (const [connection, source] of cases) {
      assert.equal((await put(connection, source)).statusCode, 201);
      const started = Date.now();
      const check = checked(await test(connection));
      assert.ok(Date.now() - started < 5_000, `${connection} took ${Date.now() - started} ms`);
      assert.ok(!check.ok, connection);
      assert.match(
        check.error,
        new RegExp(`^cannot connect to (PostgreSQL|MySQL) at 127\\.0\\.0\\.1:${source.port} — `),
      );
      errors.push(check.error.replace(/PostgreSQL|MySQL/, '<server>').replace(`:${source.port}`, ':<port>'));
    }
    // Nothing listening and something that never answers read the same: the answer does not map ports.
    assert.equal(new Set(errors).size, 1, errors.join('\n'));
  });

  it('checks an NDJSON dump in S3 or on disk without reading it; a missing one fails', async () => {
    const body = '{"kind":"database","path":["d"],"attributes":{}}\n';
    await api.deps.s3.send(new PutObjectCommand({ Bucket: config.s3.bucket, Key: dumpKey, Body: body }));
    const file = join(dumps, 'estate.ndjson');
    await writeFile(file, body);
    const bucket = `s3://${config.s3.bucket}`;
    const cases = [
      ['dump-s3', `${bucket}/${dumpKey}`, true],
      ['dump-s3-missing', `${bucket}/${dumpKey}.missing`, /no such object/],
      ['dump-file', pathToFileURL(file).href, true],
      ['dump-file-missing', pathToFileURL(join(dumps, 'missing.ndjson')).href, /no such file/],
    ] as const;
    for (const [connection, uri, expected] of cases) {
      if (uri.startsWith('file:')) {
        // A host's files are not a tenant's to name over the API; the local starter registers them.
        const refusedFile = await put(connection, { type: 'ndjson', uri });
        assert.equal(refusedFile.statusCode, 400, refusedFile.body);
        assert.match(refusedFile.json<{ error: string }>().error, /file:\/\/\/ sources are for local use/);
        await saveConnection(api.deps.postgres, config.secretsKey, tenantA, connection, { type: 'ndjson', uri });
      } else {
        const saved = await put(connection, { type: 'ndjson', uri });
        assert.equal(saved.statusCode, 201, saved.body);
        const view = ConnectionView.parse(saved.json());
        assert.ok(view.type === 'ndjson' && !view.passwordSet && !view.secretAccessKeySet);
      }
      const check = checked(await test(connection));
      if (expected === true) {
        assert.ok(check.ok, JSON.stringify(check));
        assert.equal(check.details['sizeBytes'], body.length);
      } else {
        assert.ok(!check.ok, connection);
        assert.match(check.error, expected);
        assert.ok(check.error.includes(uri));
      }
    }
    // Outside the tenant's dumps prefix, the connection is not saved (securityBoundary.test.ts tries much more).
    refused(
      await put('dump-other-bucket', { type: 'ndjson', uri: `s3://elsewhere-${run.replaceAll('_', '-')}/${dumpKey}` }),
      400,
      /MetaSync reads dumps in bucket .* under s3:\/\/.*\/tenants\/conn-a-.*\/dumps\/ only/,
    );
  });

  it('lets a read-only key list and read, but not create, delete or test (403)', async () => {
    assert.equal((await api.call(readA, 'GET', url(tenantA))).statusCode, 200);
    assert.equal((await get('warehouse', tenantA, readA)).statusCode, 200);
    refused(await put('warehouse', postgresSource(), tenantA, readA), 403, /admin/);
    refused(await remove('warehouse', tenantA, readA), 403, /admin/);
    refused(await test('warehouse', tenantA, readA), 403, /admin/);
    assert.equal((await get('warehouse')).statusCode, 200, 'still there');
  });

  it('answers bad input with 400 naming the problem', async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...postgresSource(), type: 'oracle' }, /type must be postgres, mysql or ndjson/],
      [{ host: '127.0.0.1' }, /type must be postgres, mysql or ndjson/],
      [{ ...postgresSource(), schema: ['public'] }, /Unrecognized key: "schema"/],
      [postgresSource({ port: 70000 }), /port: Too big/],
      [postgresSource({ host: 'h'.repeat(100_000) }), /host: Too big/],
      [postgresSource({ connectTimeoutSeconds: 0 }), /connectTimeoutSeconds: Too small/],
      [{ type: 'ndjson', uri: 'http://example.com/dump' }, /uri: expected s3:\/\/bucket\/key or file:\/\/\/path/],
      ['{"type": "postgres", ', /JSON/],
    ];
    const { responses, written } = await captured(async () => {
      const answers = [];
      for (const [body] of cases) answers.push(await put('bad-input', body));
      return answers;
    });
    responses.forEach((response, i) => refused(response, 400, cases[i]![1]));
    assertNoSecret(written);

    refused(await put('bad-input', 'x'.repeat(config.kafka.maxMessageBytes + 1)), 413, /larger than/);
    for (const id of ["'; DROP TABLE connections; --", '../x', 'Upper', 'a'.repeat(64)]) {
      refused(await put(id, postgresSource()), 400, /invalid URL: connectionId: expected 1-63 lowercase/);
    }
    assert.equal((await get('bad-input')).statusCode, 404);
  });

  it('refuses an SQL-injection-looking connection id on every route, leaving the table intact', async () => {
    const count = async () =>
      (await api.deps.postgres.query<{ n: number }>('SELECT count(*)::int AS n FROM connections')).rows[0]!.n;
    const before = await count();
    const ids = ["x' OR '1'='1", "x'; DROP TABLE connections; --", 'x%00', 'x"; DELETE FROM connections; --'];
    for (const id of ids) {
      for (const response of [await get(id), await remove(id), await test(id), await put(id, postgresSource())]) {
        refused(response, 400, /connectionId: expected 1-63 lowercase/);
      }
    }
    assert.equal(await count(), before);
    assert.equal((await get('warehouse')).statusCode, 200);
  });

  it("keeps tenants apart: A's key can neither see, test nor delete B's connection", async () => {
    assert.equal((await put('theirs', postgresSource(), tenantB, adminB)).statusCode, 201);
    const before = await storedSource(tenantB, 'theirs');
    refused(await api.call(adminA, 'GET', url(tenantB)), 403, /not a key of tenant/);
    refused(await get('theirs', tenantB, adminA), 403, /not a key of tenant/);
    refused(await test('theirs', tenantB, adminA), 403, /not a key of tenant/);
    refused(await remove('theirs', tenantB, adminA), 403, /not a key of tenant/);
    refused(await put('theirs', mysqlSource(), tenantB, adminA), 403, /not a key of tenant/);
    // Under its own tenant, A sees no such connection at all.
    assert.equal((await get('theirs')).statusCode, 404);
    assert.equal((await test('theirs')).statusCode, 404);
    assert.equal((await remove('theirs')).statusCode, 404);
    assert.deepEqual(await storedSource(tenantB, 'theirs'), before);
    assert.deepEqual(
      Connections.parse((await api.call(adminB, 'GET', url(tenantB))).json()).connections.map((c) => c.connectionId),
      ['theirs'],
    );
  });

  it('documents every connection route, and no answer of theirs has a password field', async () => {
    const Document = z.object({ paths: z.record(z.string(), z.record(z.string(), z.object({ responses: z.json() }))) });
    const { paths } = Document.parse((await api.app.inject({ method: 'GET', url: '/openapi.json' })).json());
    const routes = Object.entries(paths)
      .filter(([path]) => path.startsWith('/v1/tenants/{tenant}/connections'))
      .flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
      );
    assert.deepEqual(routes.map(({ method, path }) => `${method} ${path}`).sort(), [
      'delete /v1/tenants/{tenant}/connections/{connectionId}',
      'get /v1/tenants/{tenant}/connections',
      'get /v1/tenants/{tenant}/connections/{connectionId}',
      'post /v1/tenants/{tenant}/connections/{connectionId}/test',
      'put /v1/tenants/{tenant}/connections/{connectionId}',
    ]);
    for (const { method, path, operation } of routes) {
      assert.ok(!JSON.stringify(operation.responses).includes('"password"'), `${method} ${path} answers a password`);
    }
  });

  it('deletes (204, then 404), but not while a subscription writes through the connection (409)', async () => {
    await saveSubscription(api.deps.postgres, tenantA, 'restrict-pii', {
      sink: { type: 'postgres-enforcement', connectionId: 'warehouse', restrictedRoles: ['analyst'] },
    });
    refused(await remove('warehouse'), 409, /sink of subscription restrict-pii/);
    assert.equal((await get('warehouse')).statusCode, 200, 'still there');
    await deleteSubscription(api.deps.postgres, tenantA, 'restrict-pii');

    const deleted = await remove('warehouse');
    assert.equal(deleted.statusCode, 204, deleted.body);
    assert.equal(deleted.body, '');
    assert.equal(await storedSource(tenantA, 'warehouse'), undefined);
    refused(await remove('warehouse'), 404, /has no connection warehouse/);
    refused(await get('warehouse'), 404, /has no connection warehouse/);
    refused(await test('warehouse'), 404, /has no connection warehouse/);
  });
});
