import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import { z } from 'zod';
import { ingestEstate, ingestProgress } from '../workflows/index.js';
import type { Config } from '../lib/platform/config.js';
import { connectionProblem } from '../lib/extractors/index.js';
import { columnsWrittenSoFar } from '../lib/ingest/columnJobs.js';
import {
  IngestInput,
  SparkJobHeartbeat,
  type CountsByType,
  type IngestOptions,
  type IngestProgress,
  type RunStatus,
} from '../lib/ingest/contracts.js';
import { RunId } from '../lib/platform/ids.js';
import { runSearchAttributes } from '../lib/temporal/searchAttributes.js';
import { loadConnection } from '../lib/stores/connections.js';
import { ingestWorkflowId } from '../lib/temporal/workflowIds.js';

/**
 * Starting, watching and cancelling ingestion runs: one library for the HTTP API and `npm run ingest`, so both
 * start runs the same way. Temporal runs them; the runs table (kept by the workflow's recordRun) is what is read.
 */

/** A request refused for what it asked, not for a fault: callers turn the reason into an answer (400/404/409). */
export class IngestRunError extends Error {
  constructor(
    readonly reason: 'invalid' | 'not-found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'IngestRunError';
  }
}

/** One ingestion run, as its runs row has it. Times are ISO 8601 in UTC, to the microsecond (as stored). */
export interface IngestRun {
  runId: string;
  connectionId: string;
  workflowId: string;
  status: RunStatus;
  counts: CountsByType;
  error: string | null;
  requestedBy: string | null;
  startedAt: string;
  updatedAt: string;
  finishedAt: string | null;
}

export interface IngestRunRequest {
  tenant: string;
  connectionId: string;
  /** The same run id again is the same run; left out, a new one is made. */
  runId?: string;
  options?: Partial<IngestOptions>;
  requestedBy?: string;
}

export interface StartedRun {
  runId: string;
  workflowId: string;
  /** The run existed already: nothing was started. */
  alreadyStarted: boolean;
  status: RunStatus;
  webUiUrl: string;
}

export const workflowUiUrl = (config: Config['temporal'], workflowId: string): string =>
  `${config.uiUrl}/namespaces/${config.namespace}/workflows/${encodeURIComponent(workflowId)}`;

const newRunId = () => `run-${new Date().toISOString().replace(/\D/g, '')}-${randomBytes(3).toString('hex')}`;

/** Starts the run once: the same run id again answers that run (alreadyStarted), never a second one. */
export async function startIngestRun(
  temporal: Client,
  postgres: pg.Pool,
  config: Config,
  request: IngestRunRequest,
): Promise<StartedRun> {
  const parsed = IngestInput.safeParse({ ...request, runId: request.runId ?? newRunId() });
  if (!parsed.success) throw new IngestRunError('invalid', `invalid run: ${z.prettifyError(parsed.error)}`);
  const input = parsed.data;
  const { tenant, connectionId, runId } = input;
  const workflowId = ingestWorkflowId(tenant, connectionId, runId);
  const started = (alreadyStarted: boolean, status: RunStatus): StartedRun => ({
    runId,
    workflowId,
    alreadyStarted,
    status,
    webUiUrl: workflowUiUrl(config.temporal, workflowId),
  });

  // A row exists only once its workflow was started, so it answers a repeat even after Temporal's retention.
  // The run id is the row's key within the tenant, whichever connection took it first.
  const existing = await runRow(postgres, tenant, runId);
  if (existing) {
    if (existing.kind !== 'ingest' || existing.connection_id !== connectionId) {
      const owner = existing.kind === 'ingest' ? `connection ${existing.connection_id}` : `a ${existing.kind} run`;
      throw new IngestRunError('conflict', `run id ${runId} is taken by ${owner}: choose another, or leave it out`);
    }
    return started(true, existing.status);
  }
  const source = await loadConnection(postgres, config.secretsKey, tenant, connectionId);
  if (!source) {
    throw new IngestRunError(
      'not-found',
      `tenant ${tenant} has no connection ${connectionId}: add it with PUT /v1/tenants/${tenant}/connections/${connectionId} or npm run connection`,
    );
  }
  // A connection saved before the rule, or by a starter, is held to it here too (and the extractor checks again).
  const problem = connectionProblem(source, { tenant, bucket: config.s3.bucket });
  if (problem) {
    throw new IngestRunError(
      'invalid',
      `connection ${connectionId} cannot be ingested: ${problem.message} — change it with PUT /v1/tenants/${tenant}/connections/${connectionId}`,
    );
  }

  try {
    await temporal.workflow.start(ingestEstate, {
      workflowId,
      taskQueue: config.temporal.taskQueue,
      args: [input],
      typedSearchAttributes: runSearchAttributes(tenant, 'ingest', connectionId),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return started(true, (await runRow(postgres, tenant, runId))?.status ?? 'running'); // a concurrent twin started it
  }
  // The workflow records itself once a worker picks it up; the row is written now so the run can be read,
  // watched and cancelled at once. Whatever the workflow wrote first wins.
  await postgres.query(
    `INSERT INTO runs (tenant, run_id, kind, workflow_id, connection_id, status, requested_by)
     VALUES ($1, $2, 'ingest', $3, $4, 'running', $5) ON CONFLICT (tenant, run_id) DO NOTHING`,
    [tenant, runId, workflowId, connectionId, input.requestedBy ?? null],
  );
  return started(false, 'running');
}

async function runRow(postgres: pg.Pool, tenant: string, runId: string) {
  const { rows } = await postgres.query<{ kind: string; connection_id: string | null; status: RunStatus }>(
    'SELECT kind, connection_id, status FROM runs WHERE tenant = $1 AND run_id = $2',
    [tenant, runId],
  );
  return rows[0];
}

/** The run's live progress; undefined when its workflow does not answer in time (no worker yet, or gone). */
export async function runProgress(
  temporal: Client,
  workflowId: string,
  timeoutMs = 2_000,
): Promise<IngestProgress | undefined> {
  const handle = temporal.workflow.getHandle<typeof ingestEstate>(workflowId);
  return temporal
    .withDeadline(Date.now() + timeoutMs, async () => withJobProgress(temporal, await handle.query(ingestProgress)))
    .catch(() => undefined);
}

/** Each running columns job with its step and the columns it has written so far, from its last heartbeat. */
async function withJobProgress(temporal: Client, progress: IngestProgress): Promise<IngestProgress> {
  const running = progress.columns.running ?? [];
  if (running.length === 0) return progress;
  const jobs = await Promise.all(
    running.map(async (job) => {
      const state = await sparkJobState(temporal, job.workflowId).catch(() => undefined);
      if (state === 'finished') return { ...job, step: 'finished', written: job.columns };
      if (!state?.progress) return job;
      return { ...job, step: state.progress.step, written: columnsWrittenSoFar(job.columns, state.progress) };
    }),
  );
  return { ...progress, columns: { ...progress.columns, running: jobs } };
}

/**
 * The last heartbeat of a columns job's Spark activity while it is pending, or 'finished' once the activity has
 * ended (its job done, or failed for good, and the run with it) before the parent has counted the job: without this
 * the job's columns would drop back to none meanwhile.
 * The job's workflow schedules that one activity first, so a job without a pending activity that has gone past its
 * first events has finished it.
 */
async function sparkJobState(
  temporal: Client,
  jobWorkflowId: string,
): Promise<SparkJobHeartbeat | 'finished' | undefined> {
  const { raw, status } = await temporal.workflow.getHandle(jobWorkflowId).describe();
  if (status.name === 'COMPLETED') return 'finished';
  const pending = raw.pendingActivities?.[0];
  if (!pending) return Number(raw.workflowExecutionInfo?.historyLength ?? 0) > 4 ? 'finished' : undefined;
  const payload = pending.heartbeatDetails?.payloads?.[0];
  if (!payload) return undefined;
  const details: unknown = temporal.options.loadedDataConverter.payloadConverter.fromPayload(payload);
  const parsed = SparkJobHeartbeat.safeParse(details);
  return parsed.success ? parsed.data : undefined;
}

export type CancelOutcome =
  { outcome: 'requested'; run: IngestRun } | { outcome: 'finished'; run: IngestRun } | { outcome: 'unknown' };

/** Asks the run's workflow to cancel; it stops its Spark jobs and records 'cancelled' itself. */
export async function cancelIngestRun(
  temporal: Client,
  postgres: pg.Pool,
  tenant: string,
  runId: string,
): Promise<CancelOutcome> {
  const run = await getRun(postgres, tenant, runId);
  if (!run) return { outcome: 'unknown' };
  if (run.status !== 'running') return { outcome: 'finished', run };
  try {
    await temporal.workflow.getHandle(run.workflowId).cancel();
  } catch (error) {
    // Temporal answers "not found" for a workflow that has already closed (or was ended outside MetaSync).
    if (error instanceof WorkflowNotFoundError) return { outcome: 'finished', run };
    throw error;
  }
  return { outcome: 'requested', run };
}

const utc = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const RUN_COLUMNS = `run_id AS "runId", connection_id AS "connectionId", workflow_id AS "workflowId", status, counts,
  error, requested_by AS "requestedBy", ${utc('started_at')} AS "startedAt", ${utc('updated_at')} AS "updatedAt",
  ${utc('finished_at')} AS "finishedAt"`;

export async function getRun(postgres: pg.Pool, tenant: string, runId: string): Promise<IngestRun | undefined> {
  const { rows } = await postgres.query<IngestRun>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE tenant = $1 AND run_id = $2 AND kind = 'ingest'`,
    [tenant, runId],
  );
  return rows[0];
}

/** Where a page ends: the last run's start (to the microsecond, so no two runs are confused) and id. */
const PageKey = z.strictObject({ startedAt: z.iso.datetime({ precision: 6 }), runId: RunId });
type PageKey = z.infer<typeof PageKey>;

const encodePageToken = (key: PageKey) => Buffer.from(JSON.stringify(key)).toString('base64url');

function decodePageToken(token: string): PageKey {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = PageKey.safeParse(json);
  if (!parsed.success) {
    throw new IngestRunError(
      'invalid',
      'pageToken is not one this API handed out: pass the nextPageToken of the previous page unchanged, or leave it out for the first page',
    );
  }
  return parsed.data;
}

export interface RunListing {
  status?: RunStatus;
  connectionId?: string;
  limit: number;
  pageToken?: string;
}

/** The tenant's ingestion runs, newest first, paged by keyset (runs_newest_first): a page costs the same anywhere. */
export async function listRuns(
  postgres: pg.Pool,
  tenant: string,
  listing: RunListing,
): Promise<{ runs: IngestRun[]; nextPageToken: string | null }> {
  const values: unknown[] = [tenant];
  const value = (v: unknown) => `$${values.push(v)}`;
  const where = ['tenant = $1', "kind = 'ingest'"];
  if (listing.status) where.push(`status = ${value(listing.status)}`);
  if (listing.connectionId) where.push(`connection_id = ${value(listing.connectionId)}`);
  if (listing.pageToken) {
    const after = decodePageToken(listing.pageToken);
    const [startedAt, runId] = [value(after.startedAt), value(after.runId)];
    where.push(`(started_at < ${startedAt} OR (started_at = ${startedAt} AND run_id > ${runId}))`);
  }
  const { rows } = await postgres.query<IngestRun>(
    `SELECT ${RUN_COLUMNS} FROM runs WHERE ${where.join(' AND ')}
     ORDER BY started_at DESC, run_id LIMIT ${value(listing.limit + 1)}`,
    values,
  );
  const runs = rows.slice(0, listing.limit);
  const last = runs.at(-1);
  const more = rows.length > listing.limit && last !== undefined;
  return { runs, nextPageToken: more ? encodePageToken({ startedAt: last.startedAt, runId: last.runId }) : null };
}

export type RunEvent = { event: 'progress'; data: IngestProgress } | { event: 'end'; data: IngestRun };

/**
 * The run's progress as it changes, polled every `intervalMs` until `signal` aborts, then an `end` with the run's
 * row once its workflow has closed.
 */
export async function* watchRun(
  temporal: Client,
  postgres: pg.Pool,
  tenant: string,
  runId: string,
  signal: AbortSignal,
  intervalMs = 1_000,
): AsyncGenerator<RunEvent> {
  let last: string | undefined;
  while (!signal.aborted) {
    const run = await getRun(postgres, tenant, runId);
    if (!run) return;
    // The workflow records its end before it closes, so once it is seen closed the next query answers its final
    // progress. One ended outside MetaSync (terminated in the Web UI) records nothing, and ends the watch too.
    const open = run.status === 'running' && (await workflowOpen(temporal, run.workflowId));
    const progress = await runProgress(temporal, run.workflowId);
    const seen = progress && JSON.stringify(progress);
    if (progress && seen !== last) {
      last = seen;
      yield { event: 'progress', data: progress };
    }
    if (!open) {
      yield { event: 'end', data: (await getRun(postgres, tenant, runId)) ?? run };
      return;
    }
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
  }
}

async function workflowOpen(temporal: Client, workflowId: string): Promise<boolean> {
  try {
    // Bounded like the progress query: a watch must not wait without end on a Temporal that does not answer.
    const description = await temporal.withDeadline(Date.now() + 5_000, () =>
      temporal.workflow.getHandle(workflowId).describe(),
    );
    return description.status.name === 'RUNNING';
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}
