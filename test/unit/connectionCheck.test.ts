import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureMessage, mask } from '../../lib/connectionCheck.js';
import { SourceConnection } from '../../lib/extractors/sourceConnection.js';

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
  it('says where a network failure happened and what to check', () => {
    assert.equal(
      failureMessage(driverError('connect ECONNREFUSED 10.0.0.1:6432', { code: 'ECONNREFUSED' }), postgres),
      'cannot reach PostgreSQL at db.internal:6432: connection refused — check host/port and that the server is running',
    );
    // Connecting to a name with an IPv4 and an IPv6 address fails with both attempts.
    const both = new AggregateError([driverError('v4', { code: 'ECONNREFUSED' }), driverError('v6')], '');
    assert.match(failureMessage(both, mysql), /^cannot reach MySQL at shop:3306: connection refused/);
  });

  it('names the time-out, whether the driver gives a code (mysql2) or only words (pg)', () => {
    const timedOut = /^cannot reach PostgreSQL at db.internal:6432: timed out after 3 s — check host\/port, firewalls/;
    assert.match(failureMessage(driverError('Connection terminated due to connection timeout'), postgres), timedOut);
    assert.match(
      failureMessage(driverError('connect ETIMEDOUT', { code: 'ETIMEDOUT' }), mysql),
      /timed out after 10 s/,
    );
  });

  it('says an authentication failure is one, with the driver’s words and the user', () => {
    const pgAuth = driverError('password authentication failed for user "reader"', { code: '28P01' });
    assert.equal(
      failureMessage(pgAuth, postgres),
      'authentication failed at PostgreSQL at db.internal:6432 for user "reader" (password authentication failed for user "reader") — check the user name and password',
    );
    const myAuth = driverError("Access denied for user 'reader'@'10.0.0.2' (using password: YES)", {
      code: 'ER_ACCESS_DENIED_ERROR',
    });
    assert.match(failureMessage(myAuth, mysql), /^authentication failed at MySQL at shop:3306 for user "reader"/);
  });

  it('never repeats the password, even when a driver does', () => {
    const message = failureMessage(driverError('bad startup packet near "hunter2-secret"'), postgres);
    assert.equal(message, 'PostgreSQL at db.internal:6432: bad startup packet near "***"');
    assert.equal(mask('a hunter2-secret b hunter2-secret', 'hunter2-secret'), 'a *** b ***');
    // Masking a password of a character or two would garble the message and hide nothing worth hiding.
    assert.equal(mask('a b', 'a'), 'a b');
  });

  it('words S3 and file failures of a dump', () => {
    const notFound = Object.assign(new Error('UnknownError'), { name: 'NotFound' });
    assert.equal(
      failureMessage(notFound, dump),
      'cannot read s3://dumps/estate.ndjson: there is no such object — check the bucket and key',
    );
    const file = SourceConnection.parse({ type: 'ndjson', uri: 'file:///data/estate.ndjson' });
    assert.match(failureMessage(driverError('ENOENT', { code: 'ENOENT' }), file), /no such file — check the path/);
  });
});
