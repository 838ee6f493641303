import { CreateBucketCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { execa } from 'execa';
import type { LightMyRequestResponse } from 'fastify';
import mysql from 'mysql2/promise';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { createS3 } from '../../lib/platform/clients.js';
import { loadConfig, type Config } from '../../lib/platform/config.js';
import { checkConnection, ConnectionCheck } from '../../lib/extractors/connectionCheck.js';
import { IngestInput, type RawRecord } from '../../lib/ingest/contracts.js';
import { PostgresEnforcementSinkSpec } from '../../lib/subscriptions/contracts.js';
import {
  configuredDestinations,
  destinationGuard,
  ownEndpoints,
  type Resolve,
} from '../../lib/platform/destinations.js';
import { cannotConnect } from '../../lib/extractors/errors.js';
import { createExtractor, ExtractionError, SourceConnection, type Extracted } from '../../lib/extractors/index.js';
import { rootCause } from '../../lib/temporal/failures.js';
import { dumpsPrefix, runObjectKeys } from '../../lib/platform/objectKeys.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { runSearchAttributes } from '../../lib/temporal/searchAttributes.js';
import { ConnectionView, saveConnection } from '../../lib/stores/connections.js';
import { createSink } from '../../lib/subscriptions/sinks/index.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import { ingestEstate } from '../../workflows/index.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testConfig, uniqueId, uniqueTenant } from '../support/harness.js';
import { sourceLogin } from '../support/postgresCluster.js';
import { startTestS3, type TestS3 } from '../support/s3Server.js';

/**
 * The tenant boundary where MetaSync reaches out on a tenant's behalf, against the real stack: S3 partitioned by
 * tenant (issue 12, point 1), the connection test and the extractors held to the destination policy with one wording
 * for every failure (point 4), and TLS to source databases per connection (point 9). postgresRoles.test.ts checks
 * the control plane's roles.
 *
 * Two APIs: one with the real default policy (`strict`), one with the local stack's development setting that
 * allows loopback sources (`dev`), as the other suites run. The stack's MariaDB is on 3306;
 * METASYNC_TEST_MARIADB_PORT points the TLS checks at another one started from stack/services/mariadb.sh.
 */

const dev = testConfig();
/** The real default: the environment without any destination setting. */
const strict: Config = loadConfig(
  Object.fromEntries(
    Object.entries({ ...process.env, METASYNC_TASK_QUEUE: dev.temporal.taskQueue }).filter(
      ([name]) => !name.startsWith('METASYNC_DESTINATIONS_'),
    ),
  ),
);
const tenantA = uniqueTenant('sec-a');
const tenantB = uniqueTenant('sec-b');
const run = uniqueId('sec').replace(/\W/g, '_').toLowerCase();
const bucket = dev.s3.bucket;
const mariadbPort = Number(process.env['METASYNC_TEST_MARIADB_PORT'] ?? 3306);
const mariadbAdmin = { host: '127.0.0.1', port: mariadbPort, user: 'metasync', password: 'metasync' };
const controlPlane = new URL(dev.postgres.url);
const sources = sourceLogin(dev);

const record = (kind: RawRecord['kind'], path: string[]): RawRecord => ({ kind, path, attributes: {} });
const estateOf = (database: string) => [
  record('database', [database]),
  record('schema', [database, 'public']),
  record('table', [database, 'public', 'customers']),
];
const ndjson = (records: RawRecord[]) => records.map((r) => JSON.stringify(r)).join('\n') + '\n';

async function collect(source: unknown, deps: Parameters<typeof createExtractor>[1]): Promise<Extracted[]> {
  const extractor = createExtractor(source as SourceConnection, deps);
  const items: Extracted[] = [];
  try {
    for await (const item of extractor.extract()) items.push(item);
  } finally {
    await extractor.close();
  }
  return items;
}

/** A TCP server that counts the connections it accepts, and answers them as `answer` says. */
async function listener(answer: 'silent' | 'http') {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((socket) => {
    accepted++;
    sockets.add(socket);
    if (answer === 'http') socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => accepted,
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function closedPort(): Promise<number> {
  const probe = await listener('silent');
  await probe.close();
  return probe.port;
}

describe('the tenant boundary where MetaSync reaches out for a tenant', () => {
  let devApi: TestApi;
  let strictApi: TestApi;
  let adminA: string;
  let ingestB: string;
  const ownDump = `${dumpsPrefix(tenantA)}estate.ndjson`;
  const theirDump = `${dumpsPrefix(tenantB)}estate.ndjson`;
  const theirMissing = `${dumpsPrefix(tenantB)}missing.ndjson`;

  const url = (tenant: string, suffix = '') => `/v1/tenants/${tenant}${suffix}`;
  const put = (api: TestApi, connection: string, body: unknown) =>
    api.call(adminA, 'PUT', url(tenantA, `/connections/${connection}`), body);
  const check = async (api: TestApi, connection: string) => {
    const response = await api.call(adminA, 'POST', url(tenantA, `/connections/${connection}/test`));
    assert.equal(response.statusCode, 200, response.body);
    return ConnectionCheck.parse(response.json());
  };
  const failed = async (api: TestApi, connection: string) => {
    const answer = await check(api, connection);
    assert.ok(!answer.ok, `${connection} should fail: ${JSON.stringify(answer)}`);
    return answer.error;
  };
  const saved = async (api: TestApi, connection: string, body: unknown) => {
    const response = await put(api, connection, body);
    assert.ok([200, 201].includes(response.statusCode), response.body);
    return ConnectionView.parse(response.json());
  };
  const errorOf = (response: LightMyRequestResponse, status: number) => {
    assert.equal(response.statusCode, status, response.body);
    return response.json<{ error: string }>().error;
  };
  const extractorDeps = (config: Config, tenant = tenantA) => ({
    tenant,
    destinations: configuredDestinations(config),
    s3: devApi.deps.s3,
    bucket,
  });

  before(async () => {
    devApi = await startTestApi(dev, [tenantA, tenantB]);
    strictApi = await startTestApi(strict);
    adminA = await devApi.keyOf(tenantA, ['admin']);
    ingestB = await devApi.keyOf(tenantB, ['ingest']);
  });

  after(async () => {
    const { postgres } = devApi.deps;
    for (const table of ['runs', 'connections', 'tenants']) {
      await postgres.query(`DELETE FROM ${table} WHERE tenant = ANY($1)`, [[tenantA, tenantB]]);
    }
    const store = objectStore(devApi.deps.s3, bucket);
    for (const tenant of [tenantA, tenantB]) await store.deletePrefix(`tenants/${tenant}/`);
    await strictApi?.close();
    await devApi?.close();
  });

  describe('S3 is partitioned by tenant', () => {
    /** A presigned upload, as a tenant makes it: the API's URL, then a plain HTTP PUT of the bytes. */
    async function upload(tenant: string, key: string, name: string, body: string) {
      const response = await devApi.call(key, 'POST', url(tenant, '/dumps/uploads'), { name });
      assert.equal(response.statusCode, 201, response.body);
      const { uri, uploadUrl, method } = response.json<{ uri: string; uploadUrl: string; method: string }>();
      assert.equal(uri, `s3://${bucket}/${dumpsPrefix(tenant)}${name}`);
      const put = await fetch(uploadUrl, { method, body });
      assert.equal(put.status, 200, await put.text());
      return uri;
    }

    it('gives each tenant an upload URL for its own dumps prefix, and no other', async () => {
      await upload(tenantB, ingestB, 'estate.ndjson', ndjson(estateOf('b_secret_db')));
      const head = await devApi.deps.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: theirDump }));
      assert.ok((head.ContentLength ?? 0) > 0, 'the dump is in B’s prefix');
      await upload(tenantA, adminA, 'estate.ndjson', ndjson(estateOf('a_own_db')));

      assert.match(
        errorOf(await devApi.call(adminA, 'POST', url(tenantB, '/dumps/uploads'), { name: 'x' }), 403),
        /not a key of tenant/,
      );
      for (const name of ['../../' + theirDump, 'a/../../b', '', '/abs', 'a//b']) {
        assert.match(errorOf(await devApi.call(adminA, 'POST', url(tenantA, '/dumps/uploads'), { name }), 400), /name/);
      }
      const unsigned = await fetch(`${dev.s3.endpoint}/${bucket}/${theirDump}`);
      assert.equal(unsigned.status, 403, 'the bucket itself is not readable without credentials');
    });

    it("refuses A's connection naming B's objects when it is saved, in the same words whether one exists or not", async () => {
      const answers = [];
      for (const key of [theirDump, theirMissing, `${dumpsPrefix(tenantA)}../../${theirDump}`]) {
        answers.push(errorOf(await put(devApi, 'theirs', { type: 'ndjson', uri: `s3://${bucket}/${key}` }), 400));
      }
      assert.equal(new Set(answers).size, 1, answers.join('\n'));
      assert.match(answers[0]!, new RegExp(`may read dumps under s3://${bucket}/${dumpsPrefix(tenantA)} only`));
      assert.match(answers[0]!, /POST \/v1\/tenants\/.*\/dumps\/uploads gives an upload URL/);
      // Nor with credentials of its own: those are for buckets that are not MetaSync's.
      const withKeys = {
        type: 'ndjson',
        uri: `s3://${bucket}/${theirDump}`,
        endpoint: dev.s3.endpoint,
        accessKeyId: 'x',
        secretAccessKey: 'y',
      };
      assert.match(errorOf(await put(devApi, 'theirs', withKeys), 400), /is MetaSync's own/);
      assert.equal((await devApi.call(adminA, 'GET', url(tenantA, '/connections/theirs'))).statusCode, 404);
    });

    it('refuses such a connection saved before the rule (or by a starter) when it is tested and when a run starts', async () => {
      const { postgres } = devApi.deps;
      for (const [connection, key] of [
        ['b-existing', theirDump],
        ['b-missing', theirMissing],
      ] as const) {
        await saveConnection(postgres, dev.secretsKey, tenantA, connection, {
          type: 'ndjson',
          uri: `s3://${bucket}/${key}`,
        });
      }
      const neutral = (text: string) => text.replace(theirDump, '<key>').replace(theirMissing, '<key>');
      const tested = [await failed(devApi, 'b-existing'), await failed(devApi, 'b-missing')];
      assert.equal(
        neutral(tested[0]!),
        neutral(tested[1]!),
        'the test answers the same for an existing and a missing object',
      );
      assert.match(tested[0]!, /may read dumps under .* only/);
      assert.ok(!/size|lastModified|no such object/i.test(tested.join(' ')), tested.join('\n'));

      const started = [];
      for (const connectionId of ['b-existing', 'b-missing']) {
        const response = await devApi.call(adminA, 'POST', url(tenantA, '/runs'), { connectionId });
        started.push(errorOf(response, 400).replaceAll(connectionId, '<connection>'));
      }
      assert.equal(neutral(started[0]!), neutral(started[1]!));
      assert.match(started[0]!, /connection <connection> cannot be ingested: .* — change it with PUT/);
      const { rows } = await postgres.query('SELECT run_id FROM runs WHERE tenant = $1', [tenantA]);
      assert.deepEqual(rows, [], 'no run was started');
    });

    it("refuses it in the extractor as well: a run started past the API ingests nothing of B's", async () => {
      const workers = await devApi.stack.workers();
      try {
        const { temporal } = devApi.deps;
        const runId = 'run-past-the-api';
        const handle = await temporal.workflow.start(ingestEstate, {
          workflowId: ingestWorkflowId(tenantA, 'b-existing', runId),
          taskQueue: dev.temporal.taskQueue,
          args: [IngestInput.parse({ tenant: tenantA, connectionId: 'b-existing', runId })],
          typedSearchAttributes: runSearchAttributes(tenantA, 'ingest', 'b-existing'),
        });
        const failure = await handle.result().then(
          () => assert.fail('the run should fail'),
          (error: unknown) => error,
        );
        assert.ok(failure instanceof WorkflowFailedError);
        assert.match(rootCause(failure), /ExtractionError:invalid_source.*may read dumps under .* only/);
        const store = objectStore(devApi.deps.s3, bucket);
        const keys = runObjectKeys(tenantA, 'b-existing', runId);
        assert.equal(await store.exists(keys.manifest), false, 'no manifest');
        for await (const part of store.list(keys.rawPrefix)) assert.fail(`B's dump was copied into ${part}`);
      } finally {
        await workers.stop();
      }
      await assert.rejects(
        collect({ type: 'ndjson', uri: `s3://${bucket}/${theirDump}` }, extractorDeps(dev)),
        (error) => {
          assert.ok(error instanceof ExtractionError && error.code === 'invalid_source', String(error));
          return true;
        },
      );
    });

    it('reads its own prefix: saved, tested and extracted', async () => {
      const view = await saved(devApi, 'own', { type: 'ndjson', uri: `s3://${bucket}/${ownDump}` });
      assert.ok(view.type === 'ndjson' && !view.secretAccessKeySet);
      const answer = await check(devApi, 'own');
      assert.ok(answer.ok, JSON.stringify(answer));
      assert.equal(answer.details['sizeBytes'], ndjson(estateOf('a_own_db')).length);
      const items = await collect({ type: 'ndjson', uri: `s3://${bucket}/${ownDump}` }, extractorDeps(dev));
      assert.deepEqual(items, estateOf('a_own_db'));
    });

    describe('a bucket of its own, with its own credentials', () => {
      let theirs: TestS3;
      const key = 'exports/estate.ndjson';

      before(async () => {
        theirs = await startTestS3();
        const { endpoint, accessKeyId, secretAccessKey } = theirs;
        const client = createS3({ ...dev.s3, endpoint, region: 'us-east-1', accessKeyId, secretAccessKey });
        await client.send(new CreateBucketCommand({ Bucket: 'their-bucket' }));
        await client.send(
          new PutObjectCommand({ Bucket: 'their-bucket', Key: key, Body: ndjson(estateOf('their_db')) }),
        );
        client.destroy();
      });

      after(() => theirs?.stop());

      it('is read with the secret sealed at rest and never shown, and held to the destination policy', async () => {
        const source = {
          type: 'ndjson',
          uri: `s3://their-bucket/${key}`,
          endpoint: theirs.endpoint,
          accessKeyId: theirs.accessKeyId,
          secretAccessKey: theirs.secretAccessKey,
        };
        const created = await put(devApi, 'their-bucket', source);
        assert.equal(created.statusCode, 201, created.body);
        assert.ok(!created.body.includes(theirs.secretAccessKey));
        const view = ConnectionView.parse(created.json());
        assert.ok(view.type === 'ndjson' && view.secretAccessKeySet && view.endpoint === theirs.endpoint);
        const { rows } = await devApi.deps.postgres.query<{ source: { secretAccessKey: string } }>(
          "SELECT source FROM connections WHERE tenant = $1 AND connection_id = 'their-bucket'",
          [tenantA],
        );
        assert.ok(!JSON.stringify(rows[0]!.source).includes(theirs.secretAccessKey), 'sealed at rest');

        // Changed without the secret (same access key): the stored one is kept.
        const withoutSecret = { ...source, secretAccessKey: undefined, region: 'us-east-1' };
        assert.equal((await put(devApi, 'their-bucket', JSON.parse(JSON.stringify(withoutSecret)))).statusCode, 200);
        const answer = await check(devApi, 'their-bucket');
        assert.ok(answer.ok, JSON.stringify(answer));
        assert.deepEqual(await collect(source, extractorDeps(dev)), estateOf('their_db'));

        // The real default refuses its endpoint (it is on loopback here), in the one wording.
        assert.equal(await failed(strictApi, 'their-bucket'), cannotConnect(`S3 at ${theirs.endpoint}`));
        // MetaSync's own S3 is never a tenant's endpoint, whatever the credentials.
        const ours = {
          type: 'ndjson',
          uri: 's3://another-bucket/x.ndjson',
          endpoint: dev.s3.endpoint,
          accessKeyId: dev.s3.accessKeyId,
          secretAccessKey: dev.s3.secretAccessKey,
        };
        await saved(devApi, 'our-s3', ours);
        assert.equal(await failed(devApi, 'our-s3'), cannotConnect(`S3 at ${dev.s3.endpoint}`));
      });
    });
  });

  describe('the connection test is not a network scanner', () => {
    const pgAt = (host: string, port: number, extra: Record<string, unknown> = {}) => ({
      type: 'postgres',
      host,
      port,
      database: 'postgres',
      user: sources.user,
      password: sources.password,
      connectTimeoutSeconds: 1,
      ...extra,
    });
    const mysqlAt = (host: string, port: number) => ({
      type: 'mysql',
      host,
      port,
      user: 'metasync',
      password: 'metasync',
      connectTimeoutSeconds: 1,
    });
    /** The control plane with the credentials its documentation gives. */
    const controlPlaneSource = {
      type: 'postgres',
      host: controlPlane.hostname,
      port: Number(controlPlane.port || 5432),
      database: controlPlane.pathname.slice(1),
      user: decodeURIComponent(controlPlane.username),
      password: decodeURIComponent(controlPlane.password),
    };
    const wording = (source: { type: string; host: string; port: number }) =>
      cannotConnect(`${source.type === 'postgres' ? 'PostgreSQL' : 'MySQL'} at ${source.host}:${source.port}`);

    it('runs with the real default policy', () => {
      assert.deepEqual(strict.destinations, {
        allow: ['0.0.0.0/0', '::/0'],
        deny: [],
        ports: [[1, 65535]],
        allowLoopback: false,
      });
    });

    it("by default reaches neither the control plane, MetaSync's services, this host nor the metadata service", async () => {
      const recorder = await listener('silent');
      const ownAddress = Object.values(networkInterfaces())
        .flat()
        .find((entry) => entry && !entry.internal && entry.family === 'IPv4')?.address;
      try {
        const targets: Record<string, { type: string; host: string; port: number }> = {
          'control-plane': controlPlaneSource,
          'control-plane-by-name': { ...controlPlaneSource, host: 'localhost' },
          'loopback-listener': pgAt('127.0.0.1', recorder.port),
          'loopback-other-address': pgAt('127.0.0.2', recorder.port),
          'loopback-mapped': pgAt('::ffff:127.0.0.1', recorder.port),
          unspecified: pgAt('0.0.0.0', recorder.port),
          'metadata-service': pgAt('169.254.169.254', 80),
          kafka: mysqlAt('127.0.0.1', 9092),
          'cassandra-by-name': pgAt('localhost', 9042),
          mariadb: mysqlAt('127.0.0.1', mariadbPort),
          ...(ownAddress && { 'this-host': pgAt(ownAddress, recorder.port) }),
        };
        for (const [connection, source] of Object.entries(targets)) {
          await saved(strictApi, connection, source);
          const started = Date.now();
          assert.equal(await failed(strictApi, connection), wording(source), connection);
          assert.ok(Date.now() - started < 2_000, `${connection} was refused without waiting`);
        }
        assert.equal(recorder.accepted(), 0, 'no connection was even attempted');
      } finally {
        await recorder.close();
      }
    });

    it("in development, reaches loopback sources but still not the control plane's database nor MetaSync's services", async () => {
      await saved(devApi, 'dev-source', pgAt('localhost', Number(controlPlane.port || 5432)));
      const answer = await check(devApi, 'dev-source');
      assert.ok(answer.ok, JSON.stringify(answer));
      for (const [connection, source] of Object.entries({
        'dev-control-plane': controlPlaneSource,
        'dev-control-plane-other-loopback': { ...controlPlaneSource, host: '127.0.0.2' },
        'dev-kafka': mysqlAt('127.0.0.1', 9092),
        'dev-cassandra': pgAt('localhost', 9042),
        'dev-s3': pgAt('127.0.0.1', 9000),
        'dev-metadata-service': pgAt('169.254.169.254', 80),
      })) {
        await saved(devApi, connection, source);
        assert.equal(await failed(devApi, connection), wording(source), connection);
      }
    });

    it('reads the same whatever lies behind the port: refused, timed out, another server, no such host, not allowed', async () => {
      const silent = await listener('silent');
      const http = await listener('http');
      const closed = await closedPort();
      try {
        const answers: string[] = [];
        for (const at of [pgAt, mysqlAt]) {
          const cases: [TestApi, string, { type: string; host: string; port: number }][] = [
            [devApi, 'closed', at('127.0.0.1', closed)],
            [devApi, 'silent', at('127.0.0.1', silent.port)],
            [devApi, 'http', at('127.0.0.1', http.port)],
            [devApi, 'no-such-host', at('no-such-host.invalid', 5432)],
            [devApi, 'own-service', at('127.0.0.1', 7233)],
            [strictApi, 'not-allowed', at('127.0.0.1', closed)],
          ];
          for (const [api, name, source] of cases) {
            const connection = `${source.type}-${name}`;
            await saved(api, connection, source);
            const error = await failed(api, connection);
            assert.equal(error, wording(source), connection);
            answers.push(
              error.replace(`${source.host}:${source.port}`, '<where>').replace(/PostgreSQL|MySQL/, '<kind>'),
            );
          }
        }
        assert.equal(new Set(answers).size, 1, answers.join('\n'));
        assert.ok(http.accepted() > 0, 'the other server was reached in development, and still read the same');
      } finally {
        await silent.close();
        await http.close();
      }
    });

    it('checks every address a name resolves to, then connects to the checked one: a rebinding name cannot swap it', async () => {
      // A DNS that answers differently each time it is asked, and names no real resolver knows.
      const answers: Record<string, string[][]> = {};
      const resolve: Resolve = (host) => {
        const next = answers[host]?.shift();
        if (next) return Promise.resolve(next);
        if (/^[\d.:]+$/.test(host)) return Promise.resolve([host]);
        return Promise.reject(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }));
      };
      const guard = destinationGuard(dev.destinations, ownEndpoints(dev), resolve);
      const deps = { tenant: tenantA, destinations: guard, s3: devApi.deps.s3, bucket };
      const pgPort = Number(controlPlane.port || 5432);

      answers['rebind.test'] = [['127.0.0.1'], ['169.254.169.254'], ['169.254.169.254']];
      const pgCheck = await checkConnection(SourceConnection.parse(pgAt('rebind.test', pgPort)), deps);
      assert.ok(pgCheck.ok, `connected to the address it checked: ${JSON.stringify(pgCheck)}`);
      answers['rebind.test'] = [['127.0.0.1'], ['169.254.169.254']];
      const myCheck = await checkConnection(SourceConnection.parse(mysqlAt('rebind.test', mariadbPort)), deps);
      assert.ok(myCheck.ok, JSON.stringify(myCheck));
      answers['rebind.test'] = [['127.0.0.1'], ['169.254.169.254']];
      const records = await collect(pgAt('rebind.test', pgPort), deps);
      assert.equal((records[0] as RawRecord).kind, 'database', 'the extractor too');

      const refused = [
        ['flip.test', [['169.254.169.254'], ['127.0.0.1']], pgPort, 'postgres'],
        ['mixed.test', [['127.0.0.1', '169.254.169.254']], pgPort, 'postgres'],
        ['control.test', [['127.0.0.1']], pgPort, controlPlane.pathname.slice(1)],
        ['kafka.test', [['127.0.0.3']], 9092, 'postgres'],
      ] as const;
      for (const [host, resolved, port, database] of refused) {
        answers[host] = resolved.map((list) => [...list]);
        const source = SourceConnection.parse(pgAt(host, port, { database }));
        const answer = await checkConnection(source, deps);
        assert.ok(!answer.ok && answer.error === wording({ type: 'postgres', host, port }), JSON.stringify(answer));
      }
    });

    it('holds the extractors and the enforcement sink to the same policy', async () => {
      for (const source of [controlPlaneSource, mysqlAt('127.0.0.1', mariadbPort)]) {
        await assert.rejects(collect(source, extractorDeps(strict)), (error) => {
          assert.ok(error instanceof ExtractionError, String(error));
          assert.equal(error.code, 'unreachable');
          assert.equal(error.message, wording(source));
          return true;
        });
      }
      await saveConnection(
        devApi.deps.postgres,
        dev.secretsKey,
        tenantA,
        'enforce-here',
        SourceConnection.parse(controlPlaneSource),
      );
      const sinkDeps = { config: strict, kafka: {} as never, producer: {} as never, postgres: devApi.deps.postgres };
      const spec = PostgresEnforcementSinkSpec.parse({
        type: 'postgres-enforcement',
        connectionId: 'enforce-here',
        restrictedRoles: ['analyst'],
      });
      await assert.rejects(createSink(spec, { tenant: tenantA, subscriptionId: 'sec' }, sinkDeps), (error) => {
        assert.equal((error as Error).message, wording(controlPlaneSource));
        return true;
      });
    });
  });

  describe('TLS to source databases, per connection', () => {
    const database = `tls_${run}`;
    let postgresCa: string;
    let mariadbCa: string;
    const tlsUser = `tls_${run}`.slice(0, 32);
    const tlsPassword = `tls-${randomBytes(8).toString('hex')}`;
    const pgSource = (host: string, tls: Record<string, unknown>) => ({
      type: 'postgres',
      host,
      port: Number(controlPlane.port || 5432),
      database,
      user: sources.user,
      password: sources.password,
      tls,
    });
    const mysqlSource = (host: string, tls: Record<string, unknown>) => ({
      type: 'mysql',
      host,
      port: mariadbPort,
      user: tlsUser,
      password: tlsPassword,
      databases: [database],
      tls,
    });

    before(async () => {
      await devApi.stack.sourceDatabase(database);
      const { stdout } = await execa('runuser', [
        '-u',
        'postgres',
        '--',
        'psql',
        '-p',
        controlPlane.port || '5432',
        '-Atc',
        'SHOW ssl_cert_file',
      ]);
      postgresCa = readFileSync(stdout.trim(), 'utf8');
      const server = await mysql.createConnection(mariadbAdmin);
      try {
        const [[variables]] = await server.query<mysql.RowDataPacket[]>(
          'SELECT @@have_ssl AS have, @@ssl_cert AS cert',
        );
        assert.equal(
          variables?.['have'],
          'YES',
          `the MariaDB on ${mariadbPort} has no TLS: restart it from a checkout whose stack/services/mariadb.sh gives it a certificate (bash stack/down.sh mariadb && bash stack/up.sh mariadb)`,
        );
        mariadbCa = readFileSync(String(variables?.['cert']), 'utf8');
        await server.query(`CREATE DATABASE ${database}`);
        await server.query(`CREATE TABLE ${database}.t (a int)`);
        // A user the server lets in over TLS only: that it gets in proves the connection was TLS.
        await server.query("CREATE USER ?@'%' IDENTIFIED BY ? REQUIRE SSL", [tlsUser, tlsPassword]);
        await server.query(`GRANT SELECT ON ${database}.* TO ?@'%'`, [tlsUser]);
      } finally {
        await server.end();
      }
    });

    after(async () => {
      const server = await mysql.createConnection(mariadbAdmin);
      await server.query(`DROP DATABASE IF EXISTS ${database}`);
      await server.query("DROP USER IF EXISTS ?@'%'", [tlsUser]);
      await server.end();
    });

    it('connects to PostgreSQL with TLS as each connection asks, the server says so, and the extractor does the same', async () => {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['pg-verify-full', pgSource('localhost', { mode: 'verify-full', ca: postgresCa }), /^TLSv1\.[23]$/],
        ['pg-verify-ca', pgSource('127.0.0.1', { mode: 'verify-ca', ca: postgresCa }), /^TLSv1\.[23]$/],
        ['pg-require', pgSource('127.0.0.1', { mode: 'require' }), /^TLSv1\.[23]$/],
        ['pg-disable', pgSource('127.0.0.1', { mode: 'disable' }), /^off$/],
      ];
      for (const [connection, source, tls] of cases) {
        await saved(devApi, connection, source);
        const answer = await check(devApi, connection);
        assert.ok(answer.ok, `${connection}: ${JSON.stringify(answer)}`);
        assert.match(String(answer.details['tls']), tls, connection);
      }
      // The certificate names localhost, not 127.0.0.1; and without its CA it is not trusted.
      await saved(devApi, 'pg-wrong-name', pgSource('127.0.0.1', { mode: 'verify-full', ca: postgresCa }));
      assert.match(await failed(devApi, 'pg-wrong-name'), /its TLS certificate does not name 127\.0\.0\.1 — /);
      await saved(devApi, 'pg-no-ca', pgSource('localhost', { mode: 'verify-full' }));
      assert.match(await failed(devApi, 'pg-no-ca'), /its TLS certificate is not trusted \(\w+\) — give the CA/);

      // What the server sees of the extractor's own session, halfway through its extraction.
      for (const [mode, ssl] of [
        ['verify-full', true],
        ['disable', false],
      ] as const) {
        const tls = mode === 'disable' ? { mode } : { mode, ca: postgresCa };
        const extractor = createExtractor(SourceConnection.parse(pgSource('localhost', tls)), extractorDeps(dev));
        try {
          for await (const item of extractor.extract()) {
            assert.ok('kind' in item && item.kind === 'database');
            const { rows } = await devApi.stack.sources.query<{ ssl: boolean }>(
              `SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid)
               WHERE a.datname = $1 AND a.application_name = 'metasync-extractor'`,
              [database],
            );
            assert.deepEqual(rows, [{ ssl }], `the extractor's session with tls ${mode}`);
            break;
          }
        } finally {
          await extractor.close();
        }
      }
    });

    it('connects to MariaDB with TLS as each connection asks; a TLS-only user gets in only so', async () => {
      await saved(devApi, 'my-disable', mysqlSource('127.0.0.1', { mode: 'disable' }));
      assert.match(await failed(devApi, 'my-disable'), /did not accept user/);
      for (const [connection, source] of [
        ['my-require', mysqlSource('127.0.0.1', { mode: 'require' })],
        ['my-verify-full', mysqlSource('localhost', { mode: 'verify-full', ca: mariadbCa })],
        ['my-verify-ca', mysqlSource('127.0.0.1', { mode: 'verify-ca', ca: mariadbCa })],
      ] as const) {
        await saved(devApi, connection, source);
        const answer = await check(devApi, connection);
        assert.ok(answer.ok, `${connection}: ${JSON.stringify(answer)}`);
        assert.match(String(answer.details['tls']), /^TLSv1\.[23]$/, connection);
      }
      await saved(devApi, 'my-no-ca', mysqlSource('localhost', { mode: 'verify-full' }));
      assert.match(await failed(devApi, 'my-no-ca'), /its TLS certificate is not trusted/);
      const items = await collect(mysqlSource('localhost', { mode: 'verify-full', ca: mariadbCa }), extractorDeps(dev));
      assert.deepEqual(
        items.map((item) => ('kind' in item ? `${item.kind} ${item.path.join('.')}` : 'rejected')),
        [`database ${database}`, `table ${database}.t`, `column ${database}.t.a`],
      );
    });
  });
});
