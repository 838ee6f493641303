import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureMessage } from '../../lib/extractors/connectionCheck.js';
import { mask } from '../../lib/extractors/errors.js';
import { DestinationRefused } from '../../lib/platform/destinations.js';
import { SourceConnection } from '../../lib/extractors/index.js';

const postgres = SourceConnection.parse({
  type: 'postgres',
  host: 'db.internal',
  port: 6432,
  database: 'sales',
  user: 'reader',
  password: 'hunter2-secret',
  connectTimeoutSeconds: 3,
});
const mysql = SourceConnection.parse({ type: 'mysql', host: 'shop', user: 'reader', password: 'hunter2-secret' });
const dump = SourceConnection.parse({ type: 'ndjson', uri: 's3://dumps/estate.ndjson' });

const driverError = (message: string, fields: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), fields);

describe('connection check failures', () => {
  const cannotConnect = (what: string) =>
    `cannot connect to ${what} — check the host and port, that the server is running and accepts connections from MetaSync, and that MetaSync's destination policy allows it`;

  it('says the same whatever lay behind the port: refused, timed out, reset, no such host, another server, or not allowed', () => {
    const failures = [
      driverError('connect ECONNREFUSED 10.0.0.1:6432', { code: 'ECONNREFUSED' }),
      driverError('connect ETIMEDOUT', { code: 'ETIMEDOUT' }),
      driverError('Connection terminated due to connection timeout'),
      driverError('Connection terminated unexpectedly'),
      driverError('read ECONNRESET', { code: 'ECONNRESET' }),
      driverError('getaddrinfo ENOTFOUND db.internal', { code: 'ENOTFOUND' }),
      driverError('There was an error establishing an SSL connection'),
      new DestinationRefused("10.0.0.1:6432 is MetaSync's own Kafka"),
      // Connecting to a name with an IPv4 and an IPv6 address fails with both attempts.
      new AggregateError([driverError('v4', { code: 'ECONNREFUSED' }), driverError('v6')], ''),
    ];
    for (const failure of failures) {
      assert.equal(failureMessage(failure, postgres), cannotConnect('PostgreSQL at db.internal:6432'));
    }
    for (const failure of [...failures, driverError('Connection lost', { code: 'PROTOCOL_CONNECTION_LOST' })]) {
      assert.equal(failureMessage(failure, mysql), cannotConnect('MySQL at shop:3306'));
    }
  });

  it('says an authentication failure is one, with the driver’s words and the user', () => {
    const pgAuth = driverError('password authentication failed for user "reader"', { code: '28P01' });
    assert.equal(
      failureMessage(pgAuth, postgres),
      'PostgreSQL at db.internal:6432 did not accept user "reader" (password authentication failed for user "reader") — check the user name and password',
    );
    const myAuth = driverError("Access denied for user 'reader'@'10.0.0.2' (using password: YES)", {
      code: 'ER_ACCESS_DENIED_ERROR',
    });
    assert.match(failureMessage(myAuth, mysql), /^MySQL at shop:3306 did not accept user "reader"/);
  });

  it('says what is wrong with TLS, once a server has spoken', () => {
    const untrusted = driverError('self-signed certificate', { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' });
    assert.equal(
      failureMessage(untrusted, postgres),
      'PostgreSQL at db.internal:6432: its TLS certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT) — give the CA that signed it as tls.ca, or use tls mode require',
    );
    const otherName = driverError("Hostname/IP does not match certificate's altnames", {
      code: 'ERR_TLS_CERT_ALTNAME_INVALID',
    });
    assert.match(failureMessage(otherName, mysql), /^MySQL at shop:3306: its TLS certificate does not name shop — /);
    // mysql2 gives every TLS failure one code, with the TLS error's words.
    const wrapped = driverError('self-signed certificate', { code: 'HANDSHAKE_SSL_ERROR' });
    assert.match(failureMessage(wrapped, mysql), /its TLS certificate is not trusted \(self-signed certificate\)/);
    const noTls = driverError('The server does not support SSL connections');
    assert.match(
      failureMessage(noTls, postgres),
      /does not offer TLS — enable TLS on the server, or set tls mode disable/,
    );
  });

  it('never repeats the password, even when a driver does', () => {
    const message = failureMessage(driverError('bad password "hunter2-secret"', { code: '28P01' }), postgres);
    assert.ok(!message.includes('hunter2-secret') && message.includes('"***"'), message);
    assert.equal(mask('a hunter2-secret b hunter2-secret', 'hunter2-secret'), 'a *** b ***');
    // Masking a password of a character or two would garble the message and hide nothing worth hiding.
    assert.equal(mask('a b', 'a'), 'a b');
  });

  it('words S3 and file failures of a dump', () => {
    const notFound = Object.assign(new Error('UnknownError'), { name: 'NotFound' });
    assert.equal(
      failureMessage(notFound, dump),
      'cannot read s3://dumps/estate.ndjson: there is no such object — check the key',
    );
    const file = SourceConnection.parse({ type: 'ndjson', uri: 'file:///data/estate.ndjson' });
    assert.match(failureMessage(driverError('ENOENT', { code: 'ENOENT' }), file), /no such file — check the path/);
  });

  it("reads a tenant's own S3 endpoint like a server: its S3 answers are said, anything else is one wording", () => {
    const own = SourceConnection.parse({
      type: 'ndjson',
      uri: 's3://their-bucket/estate.ndjson',
      endpoint: 'https://s3.example.com',
      accessKeyId: 'AKIA',
      secretAccessKey: 'hunter2-secret',
    });
    const denied = Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
    assert.match(failureMessage(denied, own), /access denied — grant s3:GetObject on it/);
    for (const failure of [
      driverError('connect ECONNREFUSED', { code: 'ECONNREFUSED' }),
      Object.assign(new Error('Deserialization error: <html>'), { name: 'UnknownError' }),
      new DestinationRefused('169.254.169.254 is link-local'),
    ]) {
      assert.equal(failureMessage(failure, own), cannotConnect('S3 at https://s3.example.com'));
    }
  });
});
