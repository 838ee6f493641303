import { execa } from 'execa';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { z } from 'zod';
import { signMonteCarloBody, MONTE_CARLO_SIGNATURE_HEADER } from '../../lib/incidents/monteCarlo/index.js';
import type { ingestEstate } from '../../workflows/index.js';
import { eventually, testConfig, uniqueTenant, whatItIsDoing } from '../support/harness.js';
import { freePort } from '../support/harness.js';
import { sparkSubmitsMentioning } from '../support/processes.js';
import { findLeaks, tenantHistories, type Leak } from '../support/secretScan.js';
import { openStack } from '../support/stack.js';

/**
 * A full run with real processes, every secret of it chosen here: the source's password, the webhook secret, the
 * API keys, the sealing key and the S3 secret key. The API and a worker run as child processes with their logs
 * captured; starters register the source and the webhook secret the way the README says; the run goes through the
 * API and loads columns with Spark, and one Spark job is killed so its failure lands in the history. `ps` is sampled
 * all along. Then every secret is looked for in `ps`, the logs and the workflow histories.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const config = testConfig();
const stack = openStack(config);
const { temporal } = stack;
const tenant = uniqueTenant('secrets');
const sourceRole = `src_${tenant.replaceAll('-', '_')}`;
const sourceDatabase = `src_${tenant.replaceAll('-', '_')}`;
const account = '9a59c6f1-203a-4c72-8cd7-132db7f21b92'; // the Monte Carlo fixture's account

const secrets: Record<string, string> = {
  'source password': randomBytes(18).toString('base64url'),
  'webhook secret': randomBytes(30).toString('base64url'),
  'sealing key': randomBytes(32).toString('base64'),
  'S3 secret key': config.s3.secretAccessKey,
};

/** Superuser SQL on the stack's cluster, through stdin: a password in `psql -c` would be in ps itself. */
const asSuperuser = (sql: string) =>
  execa('runuser', ['-u', 'postgres', '--', 'psql', '-q', '-p', '5432', '-v', 'ON_ERROR_STOP=1'], { input: sql });

/**
 * Every command line on the machine, sampled until stopped: what `ps -eo args` shows anyone (-ww: not cut). Each line
 * is kept once, and marked when its process descends from this test (the API, the worker, the starters and the
 * spark-submit the worker runs).
 */
function samplePs(everyMs: number) {
  const lines = new Map<string, { args: string; ours: boolean }>();
  let running = true;
  let samples = 0;
  const loop = (async () => {
    while (running) {
      const { stdout } = await execa('ps', ['-eww', '-o', 'pid=,ppid=,args='], { reject: false });
      const parsed = stdout
        .split('\n')
        .map((line) => /^\s*(\d+)\s+(\d+)\s(.*)$/.exec(line))
        .filter((m) => m !== null);
      const ours = new Set([process.pid]);
      // Parents come before their children in ps's order often, but not always: repeat until nothing is added.
      for (let grown = true; grown;) {
        grown = false;
        for (const [, pid, ppid] of parsed) {
          if (!ours.has(Number(ppid)) || ours.has(Number(pid))) continue;
          ours.add(Number(pid));
          grown = true;
        }
      }
      for (const [, pid, , args] of parsed) {
        const key = `${pid} ${args}`;
        const seen = lines.get(key);
        lines.set(key, { args: args!, ours: (seen?.ours ?? false) || ours.has(Number(pid)) });
      }
      samples += 1;
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  })();
  return {
    lines,
    get samples() {
      return samples;
    },
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** The ids of this tenant's Spark applications (their executors are the Spark worker's children, not ours). */
async function sparkAppIds(tenantId: string): Promise<string[]> {
  const state = z
    .object({
      activeapps: z.array(z.object({ id: z.string(), name: z.string() })).default([]),
      completedapps: z.array(z.object({ id: z.string(), name: z.string() })).default([]),
    })
    .parse(await (await fetch(`${config.spark.uiUrl}/json/`)).json());
  return [...state.activeapps, ...state.completedapps]
    .filter((app) => app.name.includes(tenantId))
    .map((app) => app.id);
}

/** A process of this checkout as it runs in production, its output kept (not shown) for the leak check. */
function spawnCaptured(entry: string, args: string[], env: Record<string, string>) {
  const output: string[] = [];
  const child = execa(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: root,
    env,
    stdin: 'ignore',
    reject: false,
  });
  child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output: () => output.join('') };
}

async function runStarter(entry: string, args: string[], env: Record<string, string>) {
  const { child, output } = spawnCaptured(entry, args, env);
  const result = await child;
  return { exitCode: result.exitCode, output: output() };
}

/** The messages of every failure a history records (an attempt's last failure, a failed activity or workflow). */
function failureMessages(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(failureMessages);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => {
    const own =
      (key === 'lastFailure' || key === 'failure') && typeof (inner as { message?: unknown })?.message === 'string';
    return [...(own ? [(inner as { message: string }).message] : []), ...failureMessages(inner)];
  });
}

const waitForLine = (output: () => string, text: string, what: string) =>
  eventually(() => (output().includes(text) ? true : undefined), 120_000, what);

describe('secrets stay off command lines, logs and workflow histories', () => {
  const texts: Record<string, string> = {};
  let apiBase: string;
  let env: Record<string, string>;
  let api: ReturnType<typeof spawnCaptured>;
  let worker: ReturnType<typeof spawnCaptured>;
  let ps: ReturnType<typeof samplePs>;

  before(async () => {
    // The source: a database of the stack's PostgreSQL that only a role with this test's password may read.
    await asSuperuser(
      `CREATE ROLE ${sourceRole} LOGIN PASSWORD '${secrets['source password']}';
       CREATE DATABASE ${sourceDatabase} OWNER ${sourceRole};`,
    );
    const source = new pg.Client({
      host: '127.0.0.1',
      port: 5432,
      user: sourceRole,
      password: secrets['source password'],
      database: sourceDatabase,
    });
    await source.connect();
    for (const table of ['orders', 'customers', 'invoices']) {
      await source.query(
        `CREATE TABLE ${table} (id bigint PRIMARY KEY, email text, amount numeric(12,2), at timestamptz)`,
      );
    }
    await source.end();

    ps = samplePs(150);
    const apiPort = await freePort();
    apiBase = `http://127.0.0.1:${apiPort}`;
    // Every process of the run gets the secrets the way production does: the environment (or a file), never argv.
    env = {
      ...(process.env as Record<string, string>),
      METASYNC_TASK_QUEUE: config.temporal.taskQueue,
      METASYNC_SECRETS_KEY: secrets['sealing key']!,
      METASYNC_API_PORT: String(apiPort),
      // The source database is on this machine, as the stack's own apps allow (stack/lib.sh).
      METASYNC_DESTINATIONS_ALLOW_LOOPBACK: 'true',
      // Their own metrics ports are the stack's processes': off here.
      METASYNC_METRICS_PORT: '0',
      METASYNC_TEMPORAL_METRICS_PORT: '0',
    };
    api = spawnCaptured('api/main.ts', [], env);
    worker = spawnCaptured('workers/worker.ts', [], env);
    await Promise.all([
      waitForLine(api.output, 'api listening', 'the API to listen'),
      waitForLine(worker.output, 'worker running', 'the worker to run'),
    ]);
  });

  after(async () => {
    await ps?.stop();
    for (const app of [api, worker]) {
      app?.child.kill('SIGTERM');
      await app?.child;
    }
    await stack.close();
    await asSuperuser(`DROP DATABASE IF EXISTS ${sourceDatabase} WITH (FORCE); DROP ROLE IF EXISTS ${sourceRole};`);
  });

  it('the leak check finds a secret it is shown, in any of its forms', () => {
    const planted = { 'a planted secret': 'pl4nted/s3cret+key=' };
    const found = findLeaks({ 'a log': `x ${encodeURIComponent('pl4nted/s3cret+key=')} y` }, planted);
    assert.equal(found.length, 1);
    assert.doesNotMatch(found[0]!.excerpt, /pl4nted/);
  });

  it('a starter refuses a password on its command line without repeating it', async () => {
    // A password of its own (not one of the run's): this one is on a command line on purpose.
    const decoy = randomBytes(12).toString('base64url');
    const uri = `postgres://${sourceRole}:${decoy}@127.0.0.1:5432/${sourceDatabase}`;
    const refused = await runStarter(
      'starters/ingest.ts',
      ['--tenant', tenant, '--connection', 'x', '--source', uri],
      env,
    );
    assert.notEqual(refused.exitCode, 0);
    assert.match(refused.output, /password in --source is on the command line.*METASYNC_SOURCE_PASSWORD/s);
    assert.deepEqual(findLeaks({ 'the refusal': refused.output }, { decoy }), []);
  });

  it('a run with a failed Spark job leaves no secret in ps, the logs or the histories', async (t) => {
    const began = Date.now();
    const took = (what: string) => t.diagnostic(`${what} after ${((Date.now() - began) / 1000).toFixed(1)} s`);
    const tenantCreated = await runStarter('starters/tenant.ts', ['create', '--tenant', tenant], env);
    assert.equal(tenantCreated.exitCode, 0, tenantCreated.output);
    secrets['admin API key'] = /msk_[A-Za-z0-9_-]+/.exec(tenantCreated.output)![0];

    // The README's way: the URI without its password, the password from the environment. The key is made meanwhile.
    const [added, keyCreated] = await Promise.all([
      runStarter(
        'starters/connection.ts',
        [
          'add',
          '--tenant',
          tenant,
          '--connection',
          'warehouse',
          '--source',
          `postgres://${sourceRole}@127.0.0.1:5432/${sourceDatabase}`,
        ],
        { ...env, METASYNC_SOURCE_PASSWORD: secrets['source password']! },
      ),
      runStarter(
        'starters/apiKey.ts',
        ['create', '--tenant', tenant, '--name', 'runs', '--scopes', 'ingest,read'],
        env,
      ),
    ]);
    assert.equal(added.exitCode, 0, added.output);
    texts['connection add output'] = added.output;
    assert.equal(keyCreated.exitCode, 0, keyCreated.output);
    const apiKey = /msk_[A-Za-z0-9_-]+/.exec(keyCreated.output)![0];
    secrets['API key'] = apiKey;

    const connected = await runStarter(
      'starters/monteCarlo.ts',
      ['--tenant', tenant, '--account', account, '--connection', 'warehouse', '--base-url', apiBase],
      { ...env, METASYNC_WEBHOOK_SECRET: secrets['webhook secret']! },
    );
    assert.equal(connected.exitCode, 0, connected.output);
    assert.match(connected.output, /webhook secret: the one given/);
    texts['monte-carlo:connect output'] = connected.output;

    // The webhook secret in use: a signed webhook is accepted (and one signed with another secret is not).
    const body = readFileSync(new URL('../fixtures/montecarlo/anomaly-incident.json', import.meta.url));
    const webhook = (signature: string) =>
      fetch(`${apiBase}/v1/tenants/${tenant}/webhooks/monte-carlo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [MONTE_CARLO_SIGNATURE_HEADER]: signature },
        body,
      });
    assert.equal((await webhook(signMonteCarloBody(body, secrets['webhook secret']!))).status, 202);
    assert.equal((await webhook(signMonteCarloBody(body, 'not the secret'))).status, 401);

    // The run, started with the API key: one Spark job for the columns.
    const started = await fetch(`${apiBase}/v1/tenants/${tenant}/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
      body: JSON.stringify({ connectionId: 'warehouse', options: { buckets: 2, bucketsPerColumnsJob: 2 } }),
    });
    assert.equal(started.status, 202, await started.clone().text());
    const { workflowId } = z.object({ workflowId: z.string() }).parse(await started.json());
    took('the tenant, its connection, webhook secret and key set up; the run started');

    // One Spark job fails: its driver is killed while it runs, and the activity's retry loads the columns.
    // A run that ends before any Spark job fails the test at once; one still without a job after the wait fails it
    // with what the run and its children were doing.
    const run = temporal.workflow.getHandle<typeof ingestEstate>(workflowId);
    let polls = 0;
    const [driver] = await eventually(
      async () => {
        const pids = sparkSubmitsMentioning(tenant);
        if (pids.length > 0) return pids;
        if (++polls % 20 === 0 && (await run.describe()).status.name !== 'RUNNING') {
          throw new Error(`the run ended before any Spark job:\n${await whatItIsDoing(temporal, workflowId)}`);
        }
        return undefined;
      },
      240_000,
      `a Spark job of ${tenant}`,
    ).catch(async (error: unknown) => {
      if (error instanceof Error && error.message.startsWith('the run ended')) throw error;
      throw new Error(`${String(error)}; the run:\n${await whatItIsDoing(temporal, workflowId)}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // sampled while it runs
    process.kill(driver!, 'SIGKILL');
    took('the first Spark job killed');
    const result = await run.result();
    assert.equal(result.phase, 'completed');
    took('the run completed');
    assert.equal(result.counts['column']?.added, 12);

    await ps.stop();
    assert.ok(ps.samples > 10, `ps was sampled ${ps.samples} times`);
    // The secrets this test made up are looked for in every command line of the machine. The S3 secret is the
    // machine's, shared with every checkout on it (whose code may differ): it is looked for in this run's processes,
    // and in its Spark applications' executors.
    const appIds = await sparkAppIds(tenant);
    assert.ok(appIds.length >= 1, `the run's Spark applications: ${appIds.join(', ')}`);
    const everyLine = [...ps.lines.values()];
    const ofThisRun = everyLine.filter((line) => line.ours || appIds.some((id) => line.args.includes(id)));
    assert.ok(
      ofThisRun.some((line) => line.args.includes('org.apache.spark.deploy.SparkSubmit')),
      'spark-submit was sampled',
    );
    assert.ok(
      ofThisRun.some((line) => line.args.includes('CoarseGrainedExecutorBackend')),
      'an executor was sampled',
    );
    const { 'S3 secret key': s3Secret, ...madeUp } = secrets;
    const psLeaks = [
      ...findLeaks({ 'ps -eo args, every process': everyLine.map((line) => line.args).join('\n') }, madeUp),
      ...findLeaks(
        { "ps -eo args, this run's processes": ofThisRun.map((line) => line.args).join('\n') },
        { 'S3 secret key': s3Secret! },
      ),
    ];
    for (const [name, app] of [
      ['api', api],
      ['worker', worker],
    ] as const) {
      app.child.kill('SIGTERM');
      await app.child;
      texts[`${name} log`] = app.output();
    }
    Object.assign(texts, await tenantHistories(temporal, tenant));

    // The failure is in the history, short enough that Temporal kept its reason.
    const failures = Object.entries(texts)
      .filter(([where]) => where.startsWith('history of'))
      .flatMap(([, history]) => failureMessages(JSON.parse(history)));
    assert.ok(failures.length > 0, 'the killed Spark job failed an attempt, recorded in a history');
    for (const message of failures) {
      assert.match(message, /Spark job load_columns failed/);
      assert.ok(message.length < 4_000, `a failure of ${message.length} characters`);
    }

    const leaks: Leak[] = [...psLeaks, ...findLeaks(texts, secrets)];
    const report = leaks.map((leak) => `  ${leak.secret} in ${leak.where}: …${leak.excerpt}…`).join('\n');
    assert.equal(leaks.length, 0, `secrets found where they must never be:\n${report}`);
  });
});
