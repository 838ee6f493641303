import { z } from 'zod';
import { CountsByType, IngestOptions, IngestProgress, RunStatus } from '../lib/ingest/contracts.js';
import { RunId } from '../lib/platform/ids.js';
import {
  cancelIngestRun,
  getRun,
  IngestRunError,
  listRuns,
  runProgress,
  startIngestRun,
  watchRun,
  workflowUiUrl,
  type IngestRun,
} from '../control/ingestRuns.js';
import { log } from '../lib/platform/log.js';
import { sendError } from './errors.js';
import type { ApiLimits } from './limits.js';
import { ErrorBody, errorResponses, NextPageToken, pageLimit, Slug, TenantParams } from './schemas.js';
import type { Api, ApiDependencies } from './dependencies.js';

const RunParams = TenantParams.extend({ runId: RunId.describe('The run id') });

const Links = z.object({ self: z.string(), events: z.string(), cancel: z.string() });

const Run = z.object({
  runId: RunId,
  connectionId: Slug,
  status: RunStatus,
  counts: CountsByType.describe('What each asset type went through, so far'),
  error: z.string().nullable().describe('Why a failed run failed'),
  requestedBy: z.string().nullable().describe('Who started it: api-key:<key id>, or cli:<user>'),
  startedAt: z.string().describe('ISO 8601, UTC'),
  updatedAt: z.string(),
  finishedAt: z.string().nullable(),
  workflowId: z.string(),
  webUiUrl: z.string().describe('The run in the Temporal Web UI'),
  links: Links,
});

const Started = z.object({
  runId: RunId,
  workflowId: z.string(),
  status: RunStatus,
  webUiUrl: z.string(),
  links: Links,
});

const StartBody = z.strictObject({
  connectionId: Slug.describe('The connection to ingest (PUT /v1/tenants/{tenant}/connections/{connectionId})'),
  runId: RunId.optional().describe('Names the run: the same id again is the same run, not a second one'),
  options: z.strictObject(IngestOptions.shape).optional(),
});

const ListQuery = z.object({
  status: RunStatus.optional(),
  connectionId: Slug.optional(),
  limit: pageLimit(20, 200),
  pageToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,1024}$/, 'a page token is the nextPageToken of the previous page, unchanged')
    .optional()
    .describe('The nextPageToken of the previous page'),
});

/** A watcher turned away waits about as long as a watched run takes to change phase. */
const STREAM_RETRY_AFTER_SECONDS = '15';

const STATUS_OF = { invalid: 400, 'not-found': 404, conflict: 409 } as const;

/** Starting, reading, watching and cancelling ingestion runs (control/ingestRuns.ts, as `npm run ingest` does). */
export function registerRunRoutes(app: Api, deps: ApiDependencies, limits: ApiLimits): void {
  // Open event streams end when the API closes, before its clients do: a watch stopped mid-call to Temporal would
  // otherwise wait on a closed connection, and the stream (and its keep-alive timer) with it.
  const streams = new Set<{ gone: AbortController; ended: Promise<void> }>();
  app.addHook('preClose', async () => {
    for (const stream of streams) stream.gone.abort();
    await Promise.all([...streams].map((stream) => stream.ended));
  });
  const { temporal, postgres, config } = deps;
  const links = (tenant: string, runId: string) => {
    const self = `/v1/tenants/${tenant}/runs/${encodeURIComponent(runId)}`;
    return { self, events: `${self}/events`, cancel: `${self}/cancel` };
  };
  const view = (tenant: string, run: IngestRun) => ({
    ...run,
    webUiUrl: workflowUiUrl(config.temporal, run.workflowId),
    links: links(tenant, run.runId),
  });
  const unknownRun = (tenant: string, runId: string) =>
    `tenant ${tenant} has no ingestion run ${runId}: GET /v1/tenants/${tenant}/runs lists them`;

  app.post(
    '/v1/tenants/:tenant/runs',
    {
      config: { scope: 'ingest' },
      schema: {
        tags: ['runs'],
        summary: 'Start an ingestion run of a connection',
        description: 'Answers 202 with the new run, or 200 with the run that already has this runId.',
        params: TenantParams,
        body: StartBody,
        response: {
          202: Started.describe('The run was started'),
          200: Started.describe('A run with this runId exists already: it is that run'),
          ...errorResponses(404, 409),
        },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params;
      try {
        const started = await startIngestRun(temporal, postgres, config, {
          tenant,
          ...request.body,
          requestedBy: `api-key:${request.apiKey!.keyId}`, // who the key says, never what the body claims
        });
        const runLinks = links(tenant, started.runId);
        return reply
          .code(started.alreadyStarted ? 200 : 202)
          .header('location', runLinks.self)
          .send({ ...started, links: runLinks });
      } catch (error) {
        if (error instanceof IngestRunError) return sendError(reply, STATUS_OF[error.reason], error.message);
        throw error;
      }
    },
  );

  app.get(
    '/v1/tenants/:tenant/runs',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['runs'],
        summary: 'The tenant’s ingestion runs, newest first, paged',
        params: TenantParams,
        querystring: ListQuery,
        response: { 200: z.object({ runs: z.array(Run), nextPageToken: NextPageToken }), ...errorResponses() },
      },
    },
    async (request, reply) => {
      const { tenant } = request.params;
      try {
        const page = await listRuns(postgres, tenant, request.query);
        return { runs: page.runs.map((run) => view(tenant, run)), nextPageToken: page.nextPageToken };
      } catch (error) {
        if (error instanceof IngestRunError) return sendError(reply, STATUS_OF[error.reason], error.message);
        throw error;
      }
    },
  );

  app.get(
    '/v1/tenants/:tenant/runs/:runId',
    {
      config: { scope: 'read' },
      schema: {
        tags: ['runs'],
        summary: 'An ingestion run, with its live progress while it runs',
        params: RunParams,
        response: { 200: Run.extend({ progress: IngestProgress.optional() }), ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const { tenant, runId } = request.params;
      const run = await getRun(postgres, tenant, runId);
      if (!run) return sendError(reply, 404, unknownRun(tenant, runId));
      // The row answers even when the workflow does not (no worker for now): progress is a bonus.
      const progress = run.status === 'running' ? await runProgress(temporal, run.workflowId) : undefined;
      return { ...view(tenant, run), ...(progress && { progress }) };
    },
  );

  app.get(
    '/v1/tenants/:tenant/runs/:runId/events',
    {
      config: { scope: 'read' },
      exposeHeadRoute: false, // a HEAD would hold a stream open for nothing
      schema: {
        tags: ['runs'],
        summary: 'Watch an ingestion run: its progress as Server-Sent Events, until it ends',
        params: RunParams,
        response: {
          200: {
            description:
              'A text/event-stream. `event: progress` carries the workflow’s progress (JSON, as `progress` of ' +
              'GET /runs/{runId}) each time it changes; `event: end` carries the run (JSON, as GET /runs/{runId}) once ' +
              'it is completed, failed or cancelled, and the stream closes. `event: error` says the run could not be ' +
              'read for now: reconnect to watch again. Lines starting with ":" keep the connection alive.',
            content: { 'text/event-stream': { schema: z.string() } },
          },
          ...errorResponses(404),
          429: ErrorBody.describe('Too many requests, or this API key watches as many runs as it may: see retry-after'),
        },
      },
    },
    async (request, reply) => {
      const { tenant, runId } = request.params;
      const run = await getRun(postgres, tenant, runId);
      if (!run) return sendError(reply, 404, unknownRun(tenant, runId));
      // Each stream holds a connection and polls Temporal every second: a key gets a few at a time (per API process).
      const release = limits.openStream(request.apiKey!.keyId);
      if (!release) {
        reply.header('retry-after', STREAM_RETRY_AFTER_SECONDS);
        return sendError(
          reply,
          429,
          `this API key already watches ${limits.streamsPerKey} runs at once (METASYNC_API_MAX_STREAMS_PER_KEY): close one of its streams, or retry after ${STREAM_RETRY_AFTER_SECONDS} s`,
        );
      }

      reply.hijack();
      const stream = reply.raw;
      const gone = new AbortController();
      stream.on('close', () => gone.abort()); // the client went away: stop polling for it
      // It may have gone while the run was read, before anyone listened: its close event is then past.
      if (request.raw.socket.destroyed) gone.abort();
      stream.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no', // proxies (nginx) would otherwise hold events back
      });
      stream.flushHeaders(); // the watcher knows at once that it is watching, before the first event

      const send = (event: string, data: unknown) => stream.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      const keepAlive = setInterval(() => stream.write(': keep-alive\n\n'), 15_000);
      let ended!: () => void;
      const watching = { gone, ended: new Promise<void>((resolve) => (ended = resolve)) };
      streams.add(watching);
      try {
        for await (const { event, data } of watchRun(temporal, postgres, tenant, runId, gone.signal)) {
          send(event, event === 'end' ? view(tenant, data) : data);
        }
      } catch (error) {
        log.error('run events failed', { requestId: request.id, tenant, runId, error: (error as Error).message });
        send('error', { error: 'the run could not be read for now: reconnect to watch it again' });
      } finally {
        clearInterval(keepAlive);
        release();
        stream.end();
        streams.delete(watching);
        ended();
      }
    },
  );

  app.post(
    '/v1/tenants/:tenant/runs/:runId/cancel',
    {
      config: { scope: 'ingest' },
      schema: {
        tags: ['runs'],
        summary: 'Cancel a running ingestion run',
        description: 'The run stops its Spark jobs and then records itself cancelled: watch its events for the end.',
        params: RunParams,
        response: { 202: Started.describe('Cancellation was asked for'), ...errorResponses(404, 409) },
      },
    },
    async (request, reply) => {
      const { tenant, runId } = request.params;
      const cancel = await cancelIngestRun(temporal, postgres, tenant, runId);
      if (cancel.outcome === 'unknown') return sendError(reply, 404, unknownRun(tenant, runId));
      if (cancel.outcome === 'finished') {
        const how = cancel.run.status === 'running' ? '' : ` (${cancel.run.status})`;
        return sendError(reply, 409, `run ${runId} has already ended${how}: there is nothing to cancel`);
      }
      const { webUiUrl, links: runLinks, workflowId, status } = view(tenant, cancel.run);
      return reply.code(202).send({ runId, workflowId, status, webUiUrl, links: runLinks });
    },
  );
}
