import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { z } from 'zod';
import { SourceType } from '../../lib/ingest/contracts.js';
import { ExtractionError } from '../../lib/extractors/errors.js';
import {
  connectionFromBody,
  connectionProblem,
  connectionSummary,
  createExtractor,
  openLineageNaming,
  PASSWORD_URI_SCHEMES,
  SECRET_FIELDS,
  secretsOf,
  SOURCE_TYPE_LIST,
  SOURCE_URI_EXAMPLES,
  SOURCES,
  SourceConnection,
  sourceFromUri,
  uriForm,
  type ConnectionBody,
} from '../../lib/extractors/registry.js';
import { storedConnection } from '../../lib/extractors/source.js';
import { ConnectionView } from '../../lib/stores/connections.js';

const scope = { tenant: 'acme', bucket: 'metasync', connectionId: 'warehouse' };
const postgres = {
  type: 'postgres',
  host: 'db',
  database: 'sales',
  user: 'reader',
  password: 'stored-secret',
} as const;
const ownBucket = {
  type: 'ndjson',
  uri: 's3://their-bucket/estate.ndjson',
  endpoint: 'https://s3.example.com',
  accessKeyId: 'AKIA1',
  secretAccessKey: 'stored-secret-key',
} as const;

/** A stored connection, counting how often it is read. */
function storedAs(source: unknown) {
  const reads = { count: 0 };
  const stored = () => {
    reads.count++;
    return Promise.resolve(source === undefined ? undefined : SourceConnection.parse(source));
  };
  return { stored, reads };
}

const fromBody = (body: unknown, stored = storedAs(undefined).stored) =>
  connectionFromBody(body as ConnectionBody, stored, scope);

describe('the source registry', () => {
  it('lists exactly the contracts’ source types, once each', () => {
    assert.deepEqual(
      SOURCES.map((source) => source.type),
      SourceType.options,
    );
    assert.equal(SOURCE_TYPE_LIST, 'postgres, mysql or ndjson');
  });

  it('builds the connection union from the plugins’ schemas, each with its defaults', () => {
    assert.deepEqual(SourceConnection.parse({ type: 'mysql', host: 'shop', user: 'u', password: '' }), {
      type: 'mysql',
      host: 'shop',
      port: 3306,
      user: 'u',
      password: '',
      connectTimeoutSeconds: 10,
      tls: { mode: 'disable' },
    });
    const parsed = SourceConnection.parse(postgres);
    assert.ok(parsed.type === 'postgres' && parsed.port === 5432 && parsed.connectTimeoutSeconds === 10);
    assert.equal(SourceConnection.safeParse({ ...postgres, type: 'oracle' }).success, false);
    assert.equal(SourceConnection.safeParse({ ...postgres, schema: ['public'] }).success, false, 'strict');
  });

  it('shows every source without its secrets, with the store’s fields and a flag for each secret but the password', () => {
    for (const source of SOURCES) {
      const fields = Object.keys(source.view.shape);
      for (const secret of source.secrets) assert.ok(!fields.includes(secret), `${source.type} shows ${secret}`);
      for (const field of Object.keys(storedConnection)) assert.ok(fields.includes(field), `${source.type}: ${field}`);
      const flags = source.secrets.filter((secret) => secret !== 'password').map((secret) => `${secret}Set`);
      const settings = Object.keys(source.config.shape).filter((field) => !source.secrets.includes(field));
      assert.deepEqual(new Set(fields), new Set([...settings, ...Object.keys(storedConnection), ...flags]));
    }
    assert.deepEqual(SECRET_FIELDS, ['password', 'secretAccessKey']);
    assert.deepEqual(secretsOf('ndjson'), ['secretAccessKey']);
    assert.deepEqual(secretsOf('oracle'), []);
  });

  it('lets an API body leave out each secret, and nothing else', () => {
    for (const source of SOURCES) {
      const body: Record<string, z.ZodType> = source.body.shape;
      for (const secret of source.secrets) assert.ok(body[secret]?.safeParse(undefined).success, secret);
      assert.deepEqual(
        Object.keys(source.body.shape),
        Object.keys(source.config.shape),
        `${source.type}: the body has the config's fields`,
      );
    }
  });

  it('keeps a server’s stored password only when the body leaves it out, and only of the same type', async () => {
    const same = storedAs(postgres);
    const given = await fromBody({ ...postgres, password: 'new-secret', port: 5432 }, same.stored);
    assert.ok('source' in given && given.source.type === 'postgres' && given.source.password === 'new-secret');
    assert.equal(same.reads.count, 0, 'a given password needs no stored one');

    const kept = await fromBody({ ...postgres, password: undefined, host: 'db2' }, same.stored);
    assert.ok('source' in kept && kept.source.type === 'postgres');
    assert.equal(kept.source.password, 'stored-secret');
    assert.equal(kept.source.host, 'db2');

    const noneOfThatType = await fromBody({ type: 'mysql', host: 'shop', user: 'u' }, same.stored);
    assert.deepEqual(noneOfThatType, {
      problem:
        'password is required, as there is no mysql connection warehouse whose password to keep (send "" for none)',
    });
  });

  it('keeps a dump’s stored secret key for the same access key only, and holds dumps to the tenant’s scope', async () => {
    const { stored, reads } = storedAs(ownBucket);
    const kept = await fromBody({ ...ownBucket, secretAccessKey: undefined }, stored);
    assert.ok('source' in kept && kept.source.type === 'ndjson');
    assert.equal(kept.source.secretAccessKey, 'stored-secret-key');
    assert.equal(reads.count, 1);

    const otherKey = await fromBody({ ...ownBucket, accessKeyId: 'AKIA2', secretAccessKey: undefined }, stored);
    assert.deepEqual(otherKey, {
      problem: 'uri: a bucket of your own needs endpoint, accessKeyId and secretAccessKey together',
    });
    assert.deepEqual(await fromBody({ type: 'ndjson', uri: 'file:///etc/passwd' }, stored), {
      problem:
        'uri: file:/// sources are for local use (npm run connection); over the API, put the dump in S3 and use s3://',
    });
    const elsewhere = await fromBody({ type: 'ndjson', uri: 's3://metasync/tenants/other/dumps/x.ndjson' });
    assert.ok('problem' in elsewhere);
    assert.match(elsewhere.problem, /^uri: tenant acme may read dumps under s3:\/\/metasync\/tenants\/acme\/dumps\//);
    assert.ok('source' in (await fromBody({ type: 'ndjson', uri: 's3://metasync/tenants/acme/dumps/x.ndjson' })));
  });

  it('asks each source whether the tenant may use a connection', () => {
    assert.equal(connectionProblem(SourceConnection.parse(postgres), scope), undefined);
    const outside = SourceConnection.parse({ type: 'ndjson', uri: 's3://metasync/estate.ndjson' });
    assert.equal(connectionProblem(outside, scope)?.field, 'uri');
  });

  it('reads each source’s URI form, and says which forms there are for any other', () => {
    assert.deepEqual(sourceFromUri('postgresql://ana:p%40ss@db:6432/sales'), {
      input: { type: 'postgres', host: 'db', user: 'ana', password: 'p@ss', port: 6432, database: 'sales' },
      login: 'ana@db:6432',
    });
    assert.deepEqual(sourceFromUri('MYSQL://root@shop'), {
      input: { type: 'mysql', host: 'shop', user: 'root', password: '', port: 3306 },
      login: 'root@shop:3306',
    });
    assert.deepEqual(sourceFromUri('file:///data/estate.ndjson'), {
      input: { type: 'ndjson', uri: 'file:///data/estate.ndjson' },
    });
    assert.equal(uriForm('s3://b/k')?.password, false);
    assert.equal(uriForm('postgres://db')?.password, true);
    assert.throws(() => sourceFromUri('http://example.com/x'), /^Error: expected a URI of postgres:\/\/user@host/);
    assert.throws(
      () => sourceFromUri('postgres://ana:hunter2@db:99999/sales'),
      (error: Error) =>
        /^not a valid postgres:\/\/ URL: check the port/.test(error.message) && !error.message.includes('hunter2'),
    );
    assert.equal(
      SOURCE_URI_EXAMPLES,
      'postgres://user@host:port/db, mysql://user@host:port, s3://bucket/key.ndjson[.gz] or file:///path',
    );
    assert.equal(PASSWORD_URI_SCHEMES, 'postgres:// and mysql://');
  });

  it('names OpenLineage datasets by each source’s convention', () => {
    assert.deepEqual(openLineageNaming('postgresql:'), {
      schemes: ['postgres', 'postgresql'],
      defaultPort: 5432,
      containers: 2,
      sourceType: 'postgres',
    });
    assert.equal(openLineageNaming('mysql:')?.containers, 1);
    assert.equal(openLineageNaming('s3:'), undefined);
  });

  it('sums up where a connection goes, never a secret', () => {
    const now = new Date().toISOString();
    const view = (settings: object) =>
      ConnectionView.parse({ ...settings, connectionId: 'c', passwordSet: true, createdAt: now, updatedAt: now });
    const pg = { type: 'postgres', host: 'db', database: 'sales', user: 'reader', schemas: ['a', 'b'] };
    assert.equal(connectionSummary(view(pg)), 'postgres reader@db:5432/sales schemas a,b');
    assert.equal(connectionSummary(view({ type: 'mysql', host: 'shop', user: 'u' })), 'mysql u@shop:3306');
    const dump = { type: 'ndjson', uri: ownBucket.uri, secretAccessKeySet: false };
    assert.equal(connectionSummary(view(dump)), `ndjson ${ownBucket.uri}`);
  });

  it('makes no extractor of an invalid source, naming every wrong field', () => {
    assert.throws(
      // Validation comes first: the dependencies are never reached.
      () => createExtractor({ type: 'postgres', host: '', port: 0 } as never, {} as never),
      (error: unknown) =>
        error instanceof ExtractionError &&
        error.code === 'invalid_source' &&
        /host: .*port: .*database: /.test(error.message),
    );
  });
});
