import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cannotConnect, ExtractionError, sourceFailure } from '../../lib/extractors/errors.js';
import { mysqlClientConfig, MysqlConnection, mysqlTls } from '../../lib/extractors/mysql/connection.js';
import { mysqlFailure } from '../../lib/extractors/mysql/failure.js';
import { NdjsonConnection } from '../../lib/extractors/ndjson/connection.js';
import { dumpFailure } from '../../lib/extractors/ndjson/failure.js';
import { postgresClientConfig, PostgresConnection, postgresTls } from '../../lib/extractors/postgres/connection.js';
import { postgresFailure } from '../../lib/extractors/postgres/failure.js';
import { destinationGuard, type DestinationPolicy } from '../../lib/platform/destinations.js';

/** Public addresses only, every port: the policy a deployment without further rules has. */
const policy: DestinationPolicy = { allow: ['0.0.0.0/0', '::/0'], deny: [], ports: [[1, 65535]], allowLoopback: false };
const names: Record<string, string[]> = {
  'db.example.com': ['203.0.113.7', '203.0.113.8'],
  'metadata.example.com': ['169.254.169.254'],
};
const destinations = destinationGuard(policy, [], (host) =>
  names[host]
    ? Promise.resolve(names[host])
    : Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' })),
);

const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
const pg = (settings: object = {}) =>
  PostgresConnection.parse({
    type: 'postgres',
    host: 'db.example.com',
    database: 'sales',
    user: 'reader',
    password: 'hunter2-secret',
    ...settings,
  });
const my = (settings: object = {}) =>
  MysqlConnection.parse({
    type: 'mysql',
    host: 'db.example.com',
    user: 'reader',
    password: 'hunter2-secret',
    ...settings,
  });

const refusedWith = (what: string) => (error: unknown) =>
  error instanceof ExtractionError && error.code === 'unreachable' && error.message === cannotConnect(what);

describe('PostgreSQL as a source', () => {
  it('connects to the address the destination policy checked, with the connection’s settings', async () => {
    const config = await postgresClientConfig(pg({ connectTimeoutSeconds: 3 }), 'metasync-test', destinations);
    assert.deepEqual(config, {
      host: '203.0.113.7',
      port: 5432,
      database: 'sales',
      user: 'reader',
      password: 'hunter2-secret',
      ssl: false,
      connectionTimeoutMillis: 3000,
      application_name: 'metasync-test',
    });
  });

  it('says a refused or unknown destination as one that does not answer', async () => {
    const where = (host: string) => `PostgreSQL at ${host}:5432`;
    await assert.rejects(
      postgresClientConfig(pg({ host: 'metadata.example.com' }), 'x', destinations),
      refusedWith(where('metadata.example.com')),
    );
    await assert.rejects(
      postgresClientConfig(pg({ host: 'nowhere.example.com' }), 'x', destinations),
      refusedWith(where('nowhere.example.com')),
    );
  });

  it('checks the certificate against the name the user gave, since it connects to an address', () => {
    assert.equal(postgresTls({ mode: 'disable' }, 'db.example.com'), false);
    assert.deepEqual(postgresTls({ mode: 'require' }, 'db.example.com'), { rejectUnauthorized: false });
    const verifyCa = postgresTls({ mode: 'verify-ca', ca }, 'db.example.com');
    assert.ok(typeof verifyCa === 'object' && verifyCa.rejectUnauthorized && verifyCa.ca === ca);
    assert.equal(verifyCa.checkServerIdentity?.('db.example.com', {} as never), undefined, 'any name, a trusted CA');
    assert.deepEqual(postgresTls({ mode: 'verify-full', ca }, 'db.example.com'), {
      rejectUnauthorized: true,
      ca,
      servername: 'db.example.com',
    });
    // TLS sends no address as a server name: an address given by the user is checked as such.
    assert.deepEqual(postgresTls({ mode: 'verify-full' }, '203.0.113.7'), { rejectUnauthorized: true, ca: undefined });
  });
});

describe('MySQL as a source', () => {
  it('keeps the name for TLS and the connection’s settings, and makes its own socket', async () => {
    const config = await mysqlClientConfig(my({ tls: { mode: 'verify-full' } }), destinations);
    assert.equal(config.host, 'db.example.com');
    assert.equal(config.port, 3306);
    assert.equal(config.connectTimeout, 10_000);
    assert.deepEqual(config.ssl, { rejectUnauthorized: true, verifyIdentity: true });
    // mysql2 would look the name up again: the socket is made here, to the address pinned (not opened in a unit test).
    assert.equal(typeof config.stream, 'function');
  });

  it('says a refused destination as one that does not answer', async () => {
    await assert.rejects(
      mysqlClientConfig(my({ host: 'metadata.example.com' }), destinations),
      refusedWith('MySQL at metadata.example.com:3306'),
    );
  });

  it('has a TLS setting for each mode', () => {
    assert.equal(mysqlTls({ mode: 'disable' }), undefined);
    assert.deepEqual(mysqlTls({ mode: 'require' }), { rejectUnauthorized: false });
    assert.deepEqual(mysqlTls({ mode: 'verify-ca', ca }), { rejectUnauthorized: true, verifyIdentity: false, ca });
    assert.deepEqual(mysqlTls({ mode: 'verify-full' }), { rejectUnauthorized: true, verifyIdentity: true });
  });
});

describe('one wording of a failure, for the extractor and the check', () => {
  const odd = Object.assign(new Error('something odd'), { code: 'EODD' });

  it('words every failure before the source answered, and passes an unknown one on after', () => {
    const before = sourceFailure(postgresFailure, pg(), odd, false);
    assert.equal(before.message, cannotConnect('PostgreSQL at db.example.com:5432'));
    assert.equal(before.cause, odd);
    assert.equal(sourceFailure(postgresFailure, pg(), odd, true), odd);
    assert.equal(sourceFailure(mysqlFailure, my(), odd, true), odd);
    // What the source knows is worded either way.
    const denied = Object.assign(new Error('Access denied'), { code: 'ER_DBACCESS_DENIED_ERROR' });
    const after = sourceFailure(mysqlFailure, my(), denied, true);
    assert.ok(after instanceof ExtractionError && after.code === 'permission_denied', String(after));
  });

  it('masks the source’s secrets out of any message, its own included', () => {
    const own = new ExtractionError('not_found', 'no schema "hunter2-secret"');
    const masked = sourceFailure(postgresFailure, pg(), own, true);
    assert.ok(masked instanceof ExtractionError && masked.code === 'not_found');
    assert.equal(masked.message, 'no schema "***"');
    const dump = NdjsonConnection.parse({
      type: 'ndjson',
      uri: 's3://their-bucket/estate.ndjson',
      endpoint: 'https://s3.example.com',
      accessKeyId: 'AKIA',
      secretAccessKey: 'their-secret-key',
    });
    const echoed = Object.assign(new Error('bad key their-secret-key'), { name: 'SignatureDoesNotMatch' });
    assert.ok(!sourceFailure(dumpFailure, dump, echoed, false).message.includes('their-secret-key'));
  });

  it('says which dump could not be read when MetaSync’s own S3 fails in a way no case knows', () => {
    const dump = NdjsonConnection.parse({ type: 'ndjson', uri: 's3://metasync/tenants/a/dumps/x.ndjson' });
    const internal = Object.assign(new Error('We encountered an internal error'), { name: 'InternalError' });
    assert.equal(
      sourceFailure(dumpFailure, dump, internal, false).message,
      'cannot read s3://metasync/tenants/a/dumps/x.ndjson: We encountered an internal error',
    );
    assert.equal(sourceFailure(dumpFailure, dump, internal, true), internal, 'once reading, passed on as is');
  });
});
