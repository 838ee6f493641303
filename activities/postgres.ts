import type pg from 'pg';

export interface RunRecord {
  tenant: string;
  runId: string;
  kind: string;
  workflowId: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  counts: Record<string, number>;
}

export function createPostgresActivities(pool: pg.Pool) {
  return {
    /** Upserts the run's row, so recording the same state twice (a retry) changes nothing. */
    async recordRun(run: RunRecord): Promise<void> {
      await pool.query(
        `INSERT INTO runs (tenant, run_id, kind, workflow_id, status, counts, finished_at)
         VALUES ($1, $2, $3, $4, $5, $6, CASE WHEN $5 = 'running' THEN NULL ELSE now() END)
         ON CONFLICT (tenant, run_id) DO UPDATE
           SET status = EXCLUDED.status, counts = EXCLUDED.counts, finished_at = EXCLUDED.finished_at, updated_at = now()`,
        [run.tenant, run.runId, run.kind, run.workflowId, run.status, JSON.stringify(run.counts)],
      );
    },
  };
}
