import { WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { IngestInput } from '../../lib/ingest/contracts.js';
import { estateSize, generateEstate, type EstateShape } from '../support/estateGenerator.js';
import { objectStore } from '../../lib/platform/objectStore.js';
import { ConnectionIdAttribute, RunKindAttribute, TenantIdAttribute } from '../../lib/temporal/searchAttributes.js';
import { parseApiKey } from '../../lib/stores/apiKeys.js';
import { saveConnection } from '../../lib/stores/connections.js';
import { ingestWorkflowId } from '../../lib/temporal/workflowIds.js';
import type { IngestProgress } from '../../lib/ingest/contracts.js';
import type { ingestEstate } from '../../workflows/index.js';
import { startTestApi, type TestApi } from '../support/api.js';
import { testConfig, uniqueTenant } from '../support/harness.js';

const config = testConfig();
const tenantA = uniqueTenant('runs');
const tenantB = uniqueTenant('runs-other');
const connectionId = 'warehouse';
// Small, so a run is one Spark job: the runs API is under test here, not the ingestion.
const shape: EstateShape = { databases: 1, schemasPerDatabase: 1, tablesPerSchema: 3, columnsPerTable: 4 };
const options: Partial<IngestInput['options']> = { buckets: 2, bucketsPerColumnsJob: 2, childrenPerWave: 1 };

interface Run {
  runId: string;
  workflowId: string;
  status: string;
  counts: Record<string, unknown>;
  requestedBy: string | null;
  finishedAt: string | null;
  progress?: IngestProgress;
  links: { self: string; events: string; cancel: string };
}
interface SentEvent {
  event: string;
  data: unknown;
}

/** Server-Sent Events as a client reads them: blocks split by a blank line, comments (":") skipped. */
function parseEvents(stream: string): SentEvent[] {
  return stream
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => line !== '' && !line.startsWith(':')))
    .filter((lines) => lines.length > 0)
    .map((lines) => {
      const field = (name: string) => lines.find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
      return { event: field('event') ?? 'message', data: JSON.parse(field('data') ?? 'null') as unknown };
    });
}

describe('ingestion runs over the HTTP API', () => {
  let api: TestApi;
  let baseUrl: string;
  const keys = { ingestA: '', readA: '', ingestB: '' };
  const runsA = (path = '') => `/v1/tenants/${tenantA}/runs${path}`;
  const handleOf = (workflowId: string) => api.deps.temporal.workflow.getHandle<typeof ingestEstate>(workflowId);
  const start = (key: string, tenant: string, body: Record<string, unknown>) =>
    api.call(key, 'POST', `/v1/tenants/${tenant}/runs`, { connectionId, options, ...body });
  let finished: Run;

  before(async () => {
    api = await startTestApi(config, [tenantA, tenantB]);
    await api.stack.workers();
    baseUrl = await api.app.listen({ port: 0, host: '127.0.0.1' }); // SSE is watched over a real socket
    const store = objectStore(api.deps.s3, config.s3.bucket);
    for (const tenant of [tenantA, tenantB]) {
      const dumpKey = `tenants/${tenant}/dumps/estate.ndjson.gz`;
      await store.putNdjsonGz(
        dumpKey,
        [...generateEstate(shape)].map((record) => JSON.stringify(record)),
      );
      await saveConnection(api.deps.postgres, config.secretsKey, tenant, connectionId, {
        type: 'ndjson',
        uri: `s3://${config.s3.bucket}/${dumpKey}`,
      });
    }
    keys.ingestA = await api.keyOf(tenantA, ['ingest', 'read']);
    keys.readA = await api.keyOf(tenantA, ['read']);
    keys.ingestB = await api.keyOf(tenantB, ['ingest', 'read']);
  });

  after(() => api?.close());

  it('starts a run, streams its progress to the end, and its row matches the final progress', async () => {
    const started = await start(keys.ingestA, tenantA, { runId: 'run-1' });
    assert.equal(started.statusCode, 202, started.body);
    const body = started.json<Run>();
    assert.equal(body.workflowId, ingestWorkflowId(tenantA, connectionId, 'run-1'));
    assert.equal(body.status, 'running');
    assert.equal(started.headers.location, runsA('/run-1'));

    const watched = await fetch(`${baseUrl}${body.links.events}`, {
      headers: { authorization: `Bearer ${keys.ingestA}` },
    });
    assert.equal(watched.status, 200);
    assert.match(watched.headers.get('content-type') ?? '', /^text\/event-stream/);
    const events = parseEvents(await watched.text()); // the stream closes by itself once the run has ended

    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data as IngestProgress);
    assert.ok(progress.length >= 2, `progress as it changes, got ${progress.length} events`);
    for (const [i, p] of progress.entries()) {
      if (i > 0) assert.notDeepEqual(p, progress[i - 1], 'only changes are sent');
    }
    const end = events.at(-1)!;
    assert.equal(end.event, 'end');
    assert.equal((end.data as Run).status, 'completed');

    const handle = handleOf(body.workflowId);
    const final = await handle.result();
    const size = estateSize(shape);
    assert.equal(final.phase, 'completed');
    assert.deepEqual(final.columns, { done: size.columns, total: size.columns, running: [] });
    assert.deepEqual(progress.at(-1), final, 'the last progress event is the final progress');

    const read = await api.call(keys.readA, 'GET', runsA('/run-1'));
    assert.equal(read.statusCode, 200, read.body);
    finished = read.json<Run>();
    assert.equal(finished.status, 'completed');
    assert.deepEqual(finished.counts, final.counts);
    assert.deepEqual(end.data, finished);
    assert.equal(finished.requestedBy, `api-key:${parseApiKey(keys.ingestA)!.keyId}`);
    assert.ok(finished.finishedAt);
    assert.equal(finished.progress, undefined, 'no live progress once finished');

    const { typedSearchAttributes } = await handle.describe();
    assert.equal(typedSearchAttributes.get(TenantIdAttribute), tenantA);
    assert.equal(typedSearchAttributes.get(RunKindAttribute), 'ingest');
    assert.equal(typedSearchAttributes.get(ConnectionIdAttribute), connectionId);
  });

  it('starting the same runId again answers the same run, and starts no second workflow', async () => {
    const before = await handleOf(finished.workflowId).describe();
    const again = await start(keys.ingestA, tenantA, { runId: 'run-1' });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json<Run>().workflowId, finished.workflowId);
    assert.equal(again.json<Run>().status, 'completed');
    const after = await handleOf(finished.workflowId).describe();
    assert.equal(after.runId, before.runId, 'the same workflow execution');
    assert.equal(after.status.name, 'COMPLETED');
  });

  it('cancelling a finished run is refused with 409', async () => {
    const cancel = await api.call(keys.ingestA, 'POST', runsA('/run-1/cancel'));
    assert.equal(cancel.statusCode, 409, cancel.body);
    assert.match(cancel.json<{ error: string }>().error, /already ended \(completed\)/);
  });

  it('cancels a running run: Temporal shows it cancelled, and so does its row', async () => {
    const started = await start(keys.ingestA, tenantA, {}); // no runId: the API makes one
    assert.equal(started.statusCode, 202, started.body);
    const { runId, workflowId } = started.json<Run>();
    assert.match(runId, /^run-\d+-[0-9a-f]{6}$/);

    const cancel = await api.call(keys.ingestA, 'POST', runsA(`/${runId}/cancel`));
    assert.equal(cancel.statusCode, 202, cancel.body);
    const handle: WorkflowHandle<typeof ingestEstate> = handleOf(workflowId);
    await assert.rejects(handle.result(), WorkflowFailedError);
    assert.equal((await handle.describe()).status.name, 'CANCELLED');

    const events = parseEvents((await api.call(keys.readA, 'GET', runsA(`/${runId}/events`))).body);
    assert.equal(events.at(-1)?.event, 'end');
    assert.equal((events.at(-1)?.data as Run).status, 'cancelled');
    const read = await api.call(keys.readA, 'GET', runsA(`/${runId}`));
    assert.equal(read.json<Run>().status, 'cancelled');
    assert.equal((await api.call(keys.ingestA, 'POST', runsA(`/${runId}/cancel`))).statusCode, 409);
  });

  it('lists runs newest first, page by page, each exactly once; a tampered page token or filter is a 400', async () => {
    const seen: string[] = [];
    let pageToken: string | null = null;
    let firstToken = '';
    do {
      const query: string = `?limit=1${pageToken ? `&pageToken=${pageToken}` : ''}`;
      const page = await api.call(keys.readA, 'GET', runsA(query));
      assert.equal(page.statusCode, 200, page.body);
      const body = page.json<{ runs: Run[]; nextPageToken: string | null }>();
      assert.ok(body.runs.length <= 1);
      seen.push(...body.runs.map((run) => run.runId));
      pageToken = body.nextPageToken;
      firstToken ||= pageToken ?? '';
    } while (pageToken);
    assert.equal(seen.length, 2);
    assert.equal(new Set(seen).size, 2, 'every run exactly once');
    assert.equal(seen[1], 'run-1', 'newest first: the cancelled run was started after run-1');

    const completed = await api.call(keys.readA, 'GET', runsA('?status=completed&connectionId=warehouse'));
    assert.deepEqual(
      completed.json<{ runs: Run[] }>().runs.map((run) => run.runId),
      ['run-1'],
    );
    const other = await api.call(keys.readA, 'GET', runsA('?connectionId=elsewhere'));
    assert.deepEqual(other.json<{ runs: Run[] }>().runs, []);

    const key = JSON.parse(Buffer.from(firstToken, 'base64url').toString()) as Record<string, string>;
    const forged = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const token of [
      forged({ ...key, startedAt: "2020-01-01' OR '1'='1" }),
      forged({ ...key, runId: "x' OR '1'='1" }),
      forged({ ...key, tenant: tenantB }),
      firstToken.slice(0, -3),
      'bm90LWpzb24',
      encodeURIComponent('a=b;c'),
    ]) {
      const answer = await api.call(keys.readA, 'GET', runsA(`?pageToken=${token}`));
      assert.equal(answer.statusCode, 400, `${token}: ${answer.body}`);
      assert.match(answer.json<{ error: string }>().error, /nextPageToken/);
    }
    const injected = await api.call(keys.readA, 'GET', runsA(`?status=${encodeURIComponent("running' OR '1'='1")}`));
    assert.equal(injected.statusCode, 400, injected.body);
    assert.match(injected.json<{ error: string }>().error, /status/);
  });

  it('refuses a connection the tenant does not have with 404, and starts nothing', async () => {
    const answer = await start(keys.ingestA, tenantA, { connectionId: 'nowhere', runId: 'ghost' });
    assert.equal(answer.statusCode, 404, answer.body);
    assert.match(answer.json<{ error: string }>().error, /has no connection nowhere: add it with PUT/);
    await assert.rejects(handleOf(ingestWorkflowId(tenantA, 'nowhere', 'ghost')).describe(), WorkflowNotFoundError);
    assert.equal((await api.call(keys.readA, 'GET', runsA('/ghost'))).statusCode, 404);

    const taken = await start(keys.ingestA, tenantA, { connectionId: 'nowhere', runId: 'run-1' });
    assert.equal(taken.statusCode, 409, 'a run id names one run of the tenant, whatever its connection');

    const strict = await start(keys.ingestA, tenantA, { runId: 'ghost', requestedBy: 'someone else' });
    assert.equal(strict.statusCode, 400, 'the body is strict: who started a run is never taken from it');
  });

  it('documents the event stream in the OpenAPI document', async () => {
    const document = (await api.call(undefined, 'GET', '/openapi.json')).json<{
      paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }>;
    }>();
    const events = document.paths['/v1/tenants/{tenant}/runs/{runId}/events']?.get?.responses['200'];
    assert.ok(events?.content?.['text/event-stream']);
  });

  it('a read-only key can read runs but neither start nor cancel one', async () => {
    assert.equal((await api.call(keys.readA, 'GET', runsA())).statusCode, 200);
    assert.equal((await start(keys.readA, tenantA, { runId: 'run-read-only' })).statusCode, 403);
    assert.equal((await api.call(keys.readA, 'POST', runsA('/run-1/cancel'))).statusCode, 403);
  });

  it("tenant A's key cannot list, read, watch or cancel tenant B's run, which runs on unaffected", async () => {
    const started = await start(keys.ingestB, tenantB, { runId: 'run-b' });
    assert.equal(started.statusCode, 202, started.body);
    const runsB = `/v1/tenants/${tenantB}/runs`;
    for (const [method, url] of [
      ['GET', runsB],
      ['GET', `${runsB}/run-b`],
      ['GET', `${runsB}/run-b/events`],
      ['POST', `${runsB}/run-b/cancel`],
    ] as const) {
      assert.equal((await api.call(keys.ingestA, method, url)).statusCode, 403, `${method} ${url}`);
    }
    // Through its own tenant's URLs, A's key finds no such run at all.
    assert.equal((await api.call(keys.ingestA, 'GET', runsA('/run-b'))).statusCode, 404);
    assert.equal((await api.call(keys.ingestA, 'GET', runsA('/run-b/events'))).statusCode, 404);
    assert.equal((await api.call(keys.ingestA, 'POST', runsA('/run-b/cancel'))).statusCode, 404);

    const runB = await api.call(keys.ingestB, 'GET', `${runsB}/run-b`);
    assert.equal(runB.json<Run>().status, 'running');
    assert.ok(runB.json<Run>().progress, 'a running run answers with its live progress');
    const final = await handleOf(started.json<Run>().workflowId).result();
    assert.equal(final.phase, 'completed');
    const done = await api.call(keys.ingestB, 'GET', `${runsB}/run-b`);
    assert.equal(done.json<Run>().status, 'completed');
    assert.deepEqual(done.json<Run>().counts, final.counts);
  });
});
