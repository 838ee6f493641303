-- Up Migration
-- Runs of every workflow kind, kept in step with Temporal so the control plane can list and report them.
CREATE TABLE runs (
  tenant text NOT NULL,
  run_id text NOT NULL,
  kind text NOT NULL,
  workflow_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'cancelled')),
  counts jsonb NOT NULL DEFAULT '{}',
  started_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  PRIMARY KEY (tenant, run_id)
);

-- Down Migration
DROP TABLE runs;
