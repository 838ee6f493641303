import { execa } from 'execa';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import pLimit from 'p-limit';
import { PUBLISHED_DEVELOPMENT_KEY } from '../../lib/platform/secrets.js';
import { uniqueId } from '../support/harness.js';

/**
 * Every process MetaSync runs refuses the published sealing key at start, before it touches anything, and says what
 * to do. Each entry point is started as `npm run` would, with arguments its own parsing accepts, so that what stops
 * it is the key. (starters/contractSchemas.ts holds no secret and reads no configuration: it only writes JSON Schema.)
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const tenant = 'published-key-test';

const ENTRY_POINTS: [string, string[]][] = [
  ['api/main.ts', []],
  ['workers/worker.ts', []],
  ['workers/bridge.ts', []],
  ['workers/subscribers.ts', []],
  ['starters/migrate.ts', []],
  ['starters/skeleton.ts', []],
  ['starters/tenant.ts', ['list']],
  ['starters/apiKey.ts', ['list', '--tenant', tenant]],
  ['starters/connection.ts', ['list', '--tenant', tenant]],
  ['starters/ingest.ts', ['--tenant', tenant, '--connection', 'warehouse']],
  ['starters/asset.ts', ['--tenant', tenant, 'postgres://warehouse/sales/public/orders']],
  ['starters/annotate.ts', ['--tenant', tenant, '--add', 'tag=x', 'postgres://warehouse/sales/public/orders']],
  ['starters/subscribe.ts', ['--list']],
  ['starters/monteCarlo.ts', ['--tenant', tenant, '--account', 'a', '--connection', 'warehouse']],
  [
    'starters/lineageDbt.ts',
    ['--tenant', tenant, '--connection', 'warehouse', '--manifest', 'test/fixtures/dbt/manifest.json'],
  ],
  ['starters/secretsRotate.ts', []],
  ['bench/ingest.ts', []],
  ['bench/incidents.ts', []],
  ['bench/propagate.ts', []],
];

/** Were a process to start after all, it would serve a queue, a port and a consumer group of its own: harmless. */
const aside = {
  METASYNC_TASK_QUEUE: uniqueId('published-key'),
  METASYNC_KAFKA_GROUP_PREFIX: uniqueId('published-key'),
  METASYNC_API_PORT: '0',
  METASYNC_METRICS_PORT: '0',
  METASYNC_TEMPORAL_METRICS_PORT: '0',
};

const start = (entry: string, args: string[], env: Record<string, string>) =>
  execa(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: root,
    env: { ...aside, ...env },
    stdin: 'ignore',
    all: true,
    reject: false,
    timeout: 120_000,
  });

describe('the published sealing key', () => {
  const published = PUBLISHED_DEVELOPMENT_KEY.toString('base64');

  it('stops every process at start, saying what to do and not repeating the key', async () => {
    const limit = pLimit(4);
    const results = await Promise.all(
      ENTRY_POINTS.map(([entry, args]) =>
        limit(async () => ({ entry, result: await start(entry, args, { METASYNC_SECRETS_KEY: published }) })),
      ),
    );
    for (const { entry, result } of results) {
      assert.equal(result.exitCode, 2, `${entry} exited ${result.exitCode}: ${result.all}`);
      assert.match(
        result.all ?? '',
        /METASYNC_SECRETS_KEY is the published development key: anyone can open .*bash stack\/up.sh secrets/,
        entry,
      );
      assert.ok(!(result.all ?? '').includes(published), `${entry} does not repeat the key`);
    }
  });

  it('is refused as a previous key too, and allowed only with the development flag', async () => {
    const previous = await start('starters/tenant.ts', ['list'], { METASYNC_SECRETS_PREVIOUS_KEYS: published });
    assert.equal(previous.exitCode, 2, previous.all);
    assert.match(previous.all ?? '', /METASYNC_SECRETS_PREVIOUS_KEYS holds the published development key/);
    const allowed = await start('starters/tenant.ts', ['list'], {
      METASYNC_SECRETS_KEY: published,
      METASYNC_ALLOW_PUBLISHED_SECRETS_KEY: '1',
    });
    assert.equal(allowed.exitCode, 0, allowed.all);
  });
});
