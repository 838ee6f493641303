import { ApplicationFailure } from '@temporalio/common';
import type pg from 'pg';
import type { PreparedRun, RunRecord } from '../lib/ingest/contracts.js';
import { effectiveRules } from '../lib/mapping/tenantRules.js';
import { runObjectKeys } from '../lib/platform/objectKeys.js';
import type { ObjectStore } from '../lib/platform/objectStore.js';
import type { SealingKeys } from '../lib/platform/secrets.js';
import { loadConnection } from '../lib/stores/connections.js';
import { metrics } from '../lib/platform/metrics.js';

const isFinished = (status: string | null) => status === 'completed' || status === 'failed' || status === 'cancelled';

export function createPostgresActivities(deps: { postgres: pg.Pool; secretsKey: SealingKeys; store: ObjectStore }) {
  const { postgres } = deps;
  return {
    /**
     * Upserts the run's row, so recording the same state twice (a retry) changes nothing. The end of an ingestion
     * (the first time its row turns completed, failed or cancelled) is timed here: workflow code cannot record
     * metrics, and the row knows when the run started, across continue-as-new and worker restarts.
     */
    async recordRun(run: RunRecord): Promise<void> {
      const { rows } = await postgres.query<{ previous: string | null; run_s: number | null; ready_s: number | null }>(
        `WITH previous AS (SELECT status FROM runs WHERE tenant = $1 AND run_id = $2)
         INSERT INTO runs (tenant, run_id, kind, workflow_id, connection_id, status, counts, error, requested_by,
                           finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $6 = 'running' THEN NULL ELSE now() END)
         ON CONFLICT (tenant, run_id) DO UPDATE
           SET status = EXCLUDED.status, counts = EXCLUDED.counts, error = EXCLUDED.error,
               requested_by = COALESCE(EXCLUDED.requested_by, runs.requested_by),
               finished_at = EXCLUDED.finished_at, updated_at = now()
         RETURNING (SELECT status FROM previous) AS previous,
                   extract(epoch FROM finished_at - started_at)::float8 AS run_s,
                   extract(epoch FROM $10::timestamptz - started_at)::float8 AS ready_s`,
        [
          run.tenant,
          run.runId,
          run.kind,
          run.workflowId,
          run.connectionId ?? null,
          run.status,
          JSON.stringify(run.counts),
          run.error ?? null,
          run.requestedBy ?? null,
          run.containersReadyAt ?? null,
        ],
      );
      const ended = rows[0];
      if (run.kind !== 'ingest' || run.status === 'running' || !ended || isFinished(ended.previous)) return;
      const outcome = { outcome: run.status };
      if (ended.run_s !== null) metrics.runDuration.observe(outcome, Math.max(0, ended.run_s));
      if (ended.ready_s !== null) metrics.containersReady.observe(outcome, Math.max(0, ended.ready_s));
    },

    /** Resolves what a run needs before it extracts, and freezes the tenant's effective mapping rules into S3. */
    async prepareIngestRun(input: { tenant: string; connectionId: string; runId: string }): Promise<PreparedRun> {
      const source = await loadConnection(postgres, deps.secretsKey, input.tenant, input.connectionId);
      if (!source)
        throw ApplicationFailure.nonRetryable(`tenant ${input.tenant} has no connection ${input.connectionId}`);
      const { rows } = await postgres.query<{ run_id: string }>(
        `SELECT run_id FROM runs WHERE tenant = $1 AND connection_id = $2 AND kind = 'ingest' AND status = 'completed'
           AND run_id <> $3 ORDER BY finished_at DESC LIMIT 1`,
        [input.tenant, input.connectionId, input.runId],
      );
      const rules = await effectiveRules(postgres, input.tenant);
      await deps.store.putJson(runObjectKeys(input.tenant, input.connectionId, input.runId).rules, rules);
      return { sourceType: source.type, previousRunId: rows[0]?.run_id ?? null };
    },
  };
}
