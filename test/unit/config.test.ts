import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../lib/platform/config.js';
import { PUBLISHED_DEVELOPMENT_KEY, sealingKeyId } from '../../lib/platform/secrets.js';

/** A folder of secret files as the stack makes them (owner-only), standing in for this machine's. */
function secretsDir(files: Record<string, string>, mode = 0o600): string {
  const dir = mkdtempSync(join(tmpdir(), 'metasync-secrets-'));
  for (const [name, content] of Object.entries(files)) {
    writeFileSync(join(dir, name), `${content}\n`);
    chmodSync(join(dir, name), mode);
  }
  return dir;
}

const key = () => randomBytes(32).toString('base64');
const published = PUBLISHED_DEVELOPMENT_KEY.toString('base64');
/** A machine the stack set up: its sealing key and S3 secret in their files. */
const machine = (files: Record<string, string> = {}) => ({
  METASYNC_SECRETS_DIR: secretsDir({ 'secrets-key': key(), 's3-secret-key': 'machine-s3-secret', ...files }),
});
const problemsOf = (env: NodeJS.ProcessEnv): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    return error.problems;
  }
  return [];
};

describe('configuration', () => {
  it('defaults to the local stack', () => {
    const config = loadConfig(machine());
    assert.equal(config.temporal.address, '127.0.0.1:7233');
    assert.deepEqual(config.kafka.brokers, ['127.0.0.1:9092']);
    assert.equal(config.postgres.url, 'postgres://metasync:metasync@127.0.0.1:5432/metasync_production');
    assert.equal(config.s3.bucket, 'metasync');
    assert.equal(config.spark.master, 'spark://127.0.0.1:7077');
    // The stack's Spark worker shares this machine's jar folder, so executors load the jars from where they are.
    assert.equal(config.spark.executorJarsDir, config.spark.jarsDir);
  });

  it('reads lists and numbers from the environment', () => {
    const config = loadConfig({
      ...machine(),
      METASYNC_KAFKA_BROKERS: 'a:9092, b:9093',
      METASYNC_SPARK_JOB_TIMEOUT_SECONDS: '60',
      METASYNC_SPARK_EXECUTOR_JARS_DIR: '/opt/metasync/jars',
    });
    assert.deepEqual(config.kafka.brokers, ['a:9092', 'b:9093']);
    assert.equal(config.spark.jobTimeoutMs, 60_000);
    assert.equal(config.spark.executorJarsDir, '/opt/metasync/jars');
  });

  it('names every wrong variable, what it expects and what it got', () => {
    assert.throws(
      () =>
        loadConfig({
          ...machine(),
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

  it("reads this machine's secrets from their files; a variable or a _FILE wins over them", () => {
    const fromDir = loadConfig(machine());
    assert.equal(fromDir.s3.secretAccessKey, 'machine-s3-secret');
    const mine = key();
    const own = secretsDir({ 'my-key': mine });
    const fromFile = loadConfig({ ...machine(), METASYNC_SECRETS_KEY_FILE: join(own, 'my-key') });
    assert.equal(fromFile.secretsKey.current.key.toString('base64'), mine);
    const fromEnv = loadConfig({ ...machine(), METASYNC_S3_SECRET_KEY: 'given' });
    assert.equal(fromEnv.s3.secretAccessKey, 'given');
  });

  it('refuses secret files others may read, saying how to fix them', () => {
    const problems = problemsOf({
      METASYNC_SECRETS_DIR: secretsDir({ 'secrets-key': key(), 's3-secret-key': 'x' }, 0o644),
    });
    assert.ok(problems.some((problem) => /METASYNC_SECRETS_KEY: .*readable by others: chmod 600 it/.test(problem)));
  });

  it('has no default sealing key or S3 secret: without them it says where the stack puts them', () => {
    const problems = problemsOf({ METASYNC_SECRETS_DIR: secretsDir({}) });
    assert.equal(problems.length, 2);
    const about = (variable: string) => problems.find((problem) => problem.startsWith(`${variable}:`)) ?? '';
    assert.match(
      about('METASYNC_SECRETS_KEY'),
      /not set, nor METASYNC_SECRETS_KEY_FILE, nor .*secrets-key: the local stack generates that file \(bash stack\/up.sh\)/,
    );
    assert.match(about('METASYNC_S3_SECRET_KEY'), /not set, nor METASYNC_S3_SECRET_KEY_FILE, nor .*s3-secret-key/);
  });

  it('refuses the published key, as the current key or a previous one, unless development allows it', () => {
    const current = problemsOf({ ...machine(), METASYNC_SECRETS_KEY: published });
    assert.equal(current.length, 1);
    assert.match(
      current[0]!,
      /METASYNC_SECRETS_KEY is the published development key: anyone can open .* bash stack\/up.sh secrets .* METASYNC_ALLOW_PUBLISHED_SECRETS_KEY=1/,
    );
    assert.ok(!current[0]!.includes(published), 'the key itself is not repeated');
    assert.match(
      problemsOf({ ...machine(), METASYNC_SECRETS_PREVIOUS_KEYS: `${key()},${published}` })[0]!,
      /METASYNC_SECRETS_PREVIOUS_KEYS holds the published/,
    );
    const allowed = loadConfig({
      ...machine(),
      METASYNC_SECRETS_KEY: published,
      METASYNC_ALLOW_PUBLISHED_SECRETS_KEY: '1',
    });
    assert.equal(allowed.secretsKey.current.id, sealingKeyId(PUBLISHED_DEVELOPMENT_KEY));
  });

  it('holds the current key and the previous ones, and never shows a wrong one', () => {
    const [current, previous] = [key(), key()];
    const config = loadConfig({
      ...machine(),
      METASYNC_SECRETS_KEY: current,
      METASYNC_SECRETS_PREVIOUS_KEYS: ` ${previous}, ${current} `,
    });
    assert.equal(config.secretsKey.current.key.toString('base64'), current);
    assert.deepEqual(
      config.secretsKey.previous.map((k) => k.key.toString('base64')),
      [previous],
    );
    const older = key();
    const fromFile = loadConfig(machine({ 'secrets-previous-keys': `${previous}\n${older}` }));
    assert.deepEqual(
      fromFile.secretsKey.previous.map((k) => k.key.toString('base64')),
      [previous, older],
      'one per line',
    );
    const wrong = 'c2hvcnQ='; // 5 bytes
    const problems = problemsOf({ ...machine(), METASYNC_SECRETS_KEY: wrong });
    assert.match(problems[0]!, /METASYNC_SECRETS_KEY: expected 32 bytes in base64 .*\(value not shown\)/);
    assert.ok(!problems[0]!.includes(wrong));
  });

  it("reads each Kafka principal's password from its own file, never showing it in an error", () => {
    const dir = machine().METASYNC_SECRETS_DIR;
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
        (error: unknown) =>
          error instanceof ConfigError &&
          /kafka-metasync-bridge is readable by others/.test(error.message) &&
          !error.message.includes('bridge-password-0123456789'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('configuration of traces', () => {
  it('traces nothing unless a Zipkin endpoint is named, by either variable; empty means none', () => {
    assert.deepEqual(loadConfig(machine()).traces, { url: undefined, sampleRatio: 0.05 });
    assert.equal(loadConfig({ ...machine(), METASYNC_TRACES_URL: '' }).traces.url, undefined);
    const url = 'http://127.0.0.1:9411/api/v2/spans';
    assert.equal(loadConfig({ ...machine(), METASYNC_TRACES_URL: url }).traces.url, url);
    assert.equal(loadConfig({ ...machine(), OTEL_EXPORTER_ZIPKIN_ENDPOINT: url }).traces.url, url);
  });

  it('refuses a sample ratio outside 0..1 and an endpoint that is not a URL', () => {
    assert.equal(loadConfig({ ...machine(), METASYNC_TRACES_SAMPLE_RATIO: '1' }).traces.sampleRatio, 1);
    const problems = problemsOf({ ...machine(), METASYNC_TRACES_SAMPLE_RATIO: '1.5', METASYNC_TRACES_URL: 'zipkin' });
    assert.ok(problems.some((problem) => problem.startsWith('METASYNC_TRACES_SAMPLE_RATIO')));
    assert.ok(problems.some((problem) => problem.startsWith('METASYNC_TRACES_URL')));
  });
});
