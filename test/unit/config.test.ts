import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../lib/config.js';

describe('configuration', () => {
  it('defaults to the local stack', () => {
    const config = loadConfig({});
    assert.equal(config.temporal.address, '127.0.0.1:7233');
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(config.postgres.url, 'postgres://metasync:metasync@127.0.0.1:5432/metasync_production');
    assert.equal(config.s3.bucket, 'metasync');
    assert.equal(config.spark.master, 'spark://127.0.0.1:7077');
  });

  it('reads lists and numbers from the environment', () => {
    const config = loadConfig({ METASYNC_KAFKA_BROKERS: 'a:9092, b:9093', METASYNC_SPARK_JOB_TIMEOUT_SECONDS: '60' });
    assert.deepEqual(config.kafka.brokers, ['a:9092', 'b:9093']);
    assert.equal(config.spark.jobTimeoutMs, 60_000);
  });

  it('names every wrong variable, what it expects and what it got', () => {
    assert.throws(
      () =>
        loadConfig({
          METASYNC_KAFKA_BROKERS: 'localhost',
          METASYNC_POSTGRES_URL: 'not a url',
          METASYNC_SPARK_JOB_TIMEOUT_SECONDS: '-1',
        }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 3);
        assert.match(error.message, /METASYNC_KAFKA_BROKERS: expected host:port, got "localhost"/);
        assert.match(error.message, /METASYNC_POSTGRES_URL: expected a URL, got "not a url"/);
        assert.match(error.message, /METASYNC_SPARK_JOB_TIMEOUT_SECONDS: .*got "-1"/);
        return true;
      },
    );
  });
});
