import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it("reads each Kafka principal's password from its own file, never showing it in an error", () => {
    const dir = mkdtempSync(join(tmpdir(), 'metasync-secrets-'));
    try {
      writeFileSync(join(dir, 'kafka-metasync-bridge'), 'bridge-password-0123456789\n', { mode: 0o600 });
      writeFileSync(join(dir, 'kafka-metasync-admin'), 'admin-password-0123456789\n', { mode: 0o600 });
      const env = { METASYNC_SECRETS_DIR: dir, METASYNC_KAFKA_USERNAME: 'metasync-bridge' };
      const { kafka } = loadConfig(env);
      assert.deepEqual(kafka.credentials, { username: 'metasync-bridge', password: 'bridge-password-0123456789' });
      assert.deepEqual(kafka.admin, { username: 'metasync-admin', password: 'admin-password-0123456789' });
      assert.equal(loadConfig({ METASYNC_SECRETS_DIR: dir }).kafka.credentials, undefined, 'no principal, no login');

      assert.throws(
        () => loadConfig({ ...env, METASYNC_KAFKA_USERNAME: 'metasync-worker' }),
        /METASYNC_KAFKA_PASSWORD: not set for Kafka principal metasync-worker: .*kafka-metasync-worker/,
      );
      chmodSync(join(dir, 'kafka-metasync-bridge'), 0o644);
      assert.throws(
        () => loadConfig(env),
        (error: unknown) => error instanceof ConfigError && /kafka-metasync-bridge is readable by others/.test(error.message) && !error.message.includes('bridge-password-0123456789'), // prettier-ignore
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
