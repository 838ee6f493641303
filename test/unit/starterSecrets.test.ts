import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { readSecret, SecretInputError } from '../../starters/secretInput.js';
import { sourceFromOptions } from '../../starters/sourceOption.js';

/** A secret file as a user would write it (echo adds the newline). */
function secretFile(content: string, mode: number): string {
  const path = join(mkdtempSync(join(tmpdir(), 'metasync-starter-')), 'secret');
  writeFileSync(path, `${content}\n`);
  chmodSync(path, mode);
  return path;
}

describe('secrets given to starters', () => {
  afterEach(() => {
    delete process.env['METASYNC_SOURCE_PASSWORD'];
  });

  it('refuse a password inside --source, without repeating it', async () => {
    await assert.rejects(sourceFromOptions('postgres://ana:hunter2@db:5432/sales', undefined), (error: unknown) => {
      assert.ok(error instanceof SecretInputError);
      assert.match(
        error.message,
        /password in --source is on the command line.*METASYNC_SOURCE_PASSWORD=.*--password-file/,
      );
      assert.ok(!error.message.includes('hunter2'));
      return true;
    });
  });

  it('take the password from the environment, or a file only its owner reads', async () => {
    process.env['METASYNC_SOURCE_PASSWORD'] = 'from env';
    assert.deepEqual(await sourceFromOptions('mysql://root@db:3306', undefined), {
      type: 'mysql',
      host: 'db',
      user: 'root',
      password: 'from env',
      port: 3306,
    });
    const file = secretFile('from file', 0o600);
    const fromFile = (await sourceFromOptions('postgres://ana@db/sales', file)) as { password: string };
    assert.equal(fromFile.password, 'from file', 'the file wins over the environment, without its newline');
    await assert.rejects(
      sourceFromOptions('postgres://ana@db/sales', secretFile('x', 0o644)),
      /--password-file: .* is readable by others: chmod 600 it/,
    );
  });

  it('keep a URI without a password working: no password anywhere and no terminal is the empty one', async () => {
    const source = (await sourceFromOptions('postgres://ana@db:5433/sales', undefined)) as Record<string, unknown>;
    assert.deepEqual(source, {
      type: 'postgres',
      host: 'db',
      user: 'ana',
      password: '',
      port: 5433,
      database: 'sales',
    });
    assert.deepEqual(await sourceFromOptions('s3://metasync/dumps/estate.ndjson.gz', undefined), {
      type: 'ndjson',
      uri: 's3://metasync/dumps/estate.ndjson.gz',
    });
    await assert.rejects(
      sourceFromOptions('s3://b/k.ndjson', secretFile('x', 0o600)),
      /--password-file is for postgres/,
    );
  });

  it('do not prompt when stdin is not a terminal', async () => {
    assert.equal(process.stdin.isTTY, undefined);
    assert.equal(await readSecret({ env: 'METASYNC_NOT_SET', fileOption: '--x-file', prompt: 'secret' }), undefined);
  });
});
