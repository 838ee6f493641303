import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { ActivityExecuteInput } from '@temporalio/worker';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bounded, maskSecrets, outputTail, redactCommandLine } from '../../lib/platform/redact.js';
import { boundedFailures } from '../../lib/temporal/boundedFailures.js';

describe('redaction', () => {
  it('masks secret settings, secret options and URI passwords in a command line, and nothing else', () => {
    const args = [
      '--conf',
      'spark.hadoop.fs.s3a.secret.key=s3cr3t',
      '--conf',
      'spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:9000',
      '--password',
      'hunter2',
      '--password-file',
      '/home/me/pw',
      '--source',
      'postgres://ana:hunter2@db:5432/sales',
      '--api-token=abc123',
      '--tenant',
      'acme',
    ];
    assert.deepEqual(redactCommandLine(args), [
      '--conf',
      'spark.hadoop.fs.s3a.secret.key=***',
      '--conf',
      'spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:9000',
      '--password',
      '***',
      '--password-file',
      '/home/me/pw',
      '--source',
      'postgres://ana:***@db:5432/sales',
      '--api-token=***',
      '--tenant',
      'acme',
    ]);
  });

  it('masks known secrets and URI passwords in any text', () => {
    const text = 'failed with key Zq9/xY+ab== at mysql://root:pw@host:3306 (metasync)';
    assert.equal(
      maskSecrets(text, ['Zq9/xY+ab==', 'meta']),
      'failed with key *** at mysql://root:***@host:3306 (metasync)', // too short a secret is not masked
    );
  });

  it('bounds a text in the middle, keeping its start and end', () => {
    assert.equal(bounded('short', 10), 'short');
    const long = `${'a'.repeat(5_000)}THE END`;
    const cut = bounded(long, 1_000);
    assert.ok(cut.length <= 1_000);
    assert.ok(cut.startsWith('aaa') && cut.endsWith('THE END'));
    assert.match(cut, /characters left out/);
  });

  it('keeps the last lines of an output, each cut to a length', () => {
    const output = ['one', '', 'two', 'x'.repeat(50), 'three', ''].join('\n');
    assert.equal(outputTail(output, 2, 10), `${'x'.repeat(10)} …\nthree`);
  });
});

describe('activity failures leaving the worker', () => {
  const input = { args: [], headers: {} } as unknown as ActivityExecuteInput;
  const interceptor = boundedFailures(['the-s3-secret-key'])({} as never).inbound!;
  const failWith = (error: Error) => interceptor.execute!(input, () => Promise.reject(error));

  it('are bounded and masked, and keep their type and retry settings', async () => {
    const failure = ApplicationFailure.create({
      message: `job failed: ${'x'.repeat(100_000)} with the-s3-secret-key`,
      type: 'SparkError',
      nonRetryable: true,
      details: [{ command: 'spark-submit --conf secret=the-s3-secret-key' }, 'y'.repeat(10)],
      cause: new Error(`inner ${'z'.repeat(100_000)}`),
    });
    await assert.rejects(failWith(failure), (error: unknown) => {
      assert.ok(error instanceof ApplicationFailure);
      assert.equal(error.type, 'SparkError');
      assert.equal(error.nonRetryable, true);
      assert.ok(error.message.length <= 4_000 && !error.message.includes('the-s3-secret-key'));
      assert.ok((error.stack ?? '').length <= 6_000 && !(error.stack ?? '').includes('the-s3-secret-key'));
      assert.deepEqual(error.details, [{ command: 'spark-submit --conf secret=***' }, 'yyyyyyyyyy']);
      assert.ok((error.cause as Error).message.length <= 4_000);
      return true;
    });
  });

  it('lose details too large to keep, and let cancellations through untouched', async () => {
    const big = ApplicationFailure.create({ message: 'm', details: ['d'.repeat(10_000)] });
    await assert.rejects(failWith(big), (error: unknown) => {
      assert.deepEqual((error as ApplicationFailure).details, ['details of 10004 characters left out']);
      return true;
    });
    const cancelled = new CancelledFailure('cancelled');
    await assert.rejects(failWith(cancelled), (error: unknown) => error === cancelled);
  });
});
