-- Up Migration
-- Sources a tenant ingests from. Passwords are sealed (AES-256-GCM) inside `source`; the key is in configuration.
CREATE TABLE connections (
  tenant text NOT NULL,
  connection_id text NOT NULL,
  source_type text NOT NULL,
  source jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, connection_id)
);

-- Ingestion runs name their connection; the last completed one is the baseline the next run diffs against.
ALTER TABLE runs ADD COLUMN connection_id text;
CREATE INDEX runs_by_connection ON runs (tenant, connection_id, finished_at DESC) WHERE status = 'completed';

-- Down Migration
DROP INDEX runs_by_connection;
ALTER TABLE runs DROP COLUMN connection_id;
DROP TABLE connections;
