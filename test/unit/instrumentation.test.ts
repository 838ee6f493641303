import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { installInstrumentations } from '../../lib/platform/telemetry.js';

/**
 * What a traced process's preload does (lib/platform/telemetryPreload.mjs), in this test's own process: the
 * instrumentations are installed before the instrumented packages are imported, and the imports that follow must find
 * them patched, with no ESM loader hook. The packages are imported dynamically, after the install, as an entry point's
 * imports load after its preload.
 */

/** Whether shimmer (which every OpenTelemetry instrumentation patches through) wrapped this function. */
const wrapped = (fn: unknown) => typeof fn === 'function' && '__wrapped' in fn;
/** Whether `owner[method]` is wrapped (read without binding it). */
const patched = (owner: object, method: string) => wrapped(Reflect.get(owner, method));

before(() => installInstrumentations());

describe('the instrumented packages, imported after the preload', () => {
  it('are patched where each instrumentation patches them', async () => {
    const { default: pg } = await import('pg');
    const { Kafka } = await import('kafkajs');
    const { default: cassandra } = await import('cassandra-driver');
    const { S3Client } = await import('@aws-sdk/client-s3');
    const http = await import('node:http');
    const { request } = await import('node:https');
    assert.ok(patched(pg.Client.prototype, 'query'), 'pg: Client.query');
    assert.ok(patched(pg.Pool.prototype, 'connect'), 'pg-pool: Pool.connect');
    assert.ok(
      patched(Kafka.prototype, 'producer') && patched(Kafka.prototype, 'consumer'),
      'kafkajs: producer, consumer',
    );
    assert.ok(patched(cassandra.Client.prototype, '_execute'), 'cassandra-driver: Client._execute');
    assert.ok(patched(S3Client.prototype, 'send'), 'the AWS SDK: Client.send');
    assert.ok(patched(http, 'request') && patched(http, 'get'), 'http, imported as a namespace');
    assert.ok(wrapped(request), 'https, a named import');
  });
});

describe('withoutStatementSpans', () => {
  it("gives bulk writes the driver's own execute and shares the rest of the client", async () => {
    const { default: cassandra } = await import('cassandra-driver');
    const { withoutStatementSpans } = await import('../../lib/stores/cql.js');
    // Nothing connects until a statement runs.
    const client = new cassandra.Client({ contactPoints: ['127.0.0.1'], localDataCenter: 'dc1', keyspace: 'any' });
    const instrumented = Reflect.get(client, '_execute') as { __original?: unknown };
    assert.ok(wrapped(instrumented));

    const bulk = withoutStatementSpans(client);
    assert.equal(Reflect.get(bulk, '_execute'), instrumented.__original);
    assert.ok(!wrapped(Reflect.get(bulk, '_execute')));
    assert.equal(bulk.keyspace, 'any');
    assert.equal(bulk.metadata, client.metadata);
    assert.equal(Object.getPrototypeOf(bulk), client);
    // The client itself keeps the instrumentation: single statements have their spans.
    assert.equal(Reflect.get(client, '_execute'), instrumented);
  });
});
