-- Up Migration
-- The control plane (issue 6): tenants can be suspended, API keys belong to service accounts, runs say who
-- started them.

-- A suspended tenant's keys are refused and its data is kept; resuming restores them as they were.
ALTER TABLE tenants
  ADD COLUMN suspended_at timestamptz,
  ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Who calls the API: a pipeline, a CI job, a downstream tool. Keys are its credentials and rotate under it; a
-- disabled account's keys are all refused at once.
CREATE TABLE service_accounts (
  tenant text NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  account_id text NOT NULL CHECK (account_id ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  description text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  disabled_at timestamptz,
  PRIMARY KEY (tenant, account_id)
);

-- Keys made before service accounts existed belong to each tenant's "default" account.
INSERT INTO service_accounts (tenant, account_id, description)
  SELECT DISTINCT tenant, 'default', 'keys created before service accounts' FROM api_keys;
ALTER TABLE api_keys ADD COLUMN service_account text;
UPDATE api_keys SET service_account = 'default';
ALTER TABLE api_keys
  ALTER COLUMN service_account SET NOT NULL,
  ADD FOREIGN KEY (tenant, service_account) REFERENCES service_accounts (tenant, account_id) ON DELETE CASCADE;

-- Runs started through the API name the key that started them; the listing pages newest first.
ALTER TABLE runs ADD COLUMN requested_by text;
CREATE INDEX runs_newest_first ON runs (tenant, started_at DESC, run_id);

-- Down Migration
DROP INDEX runs_newest_first;
ALTER TABLE runs DROP COLUMN requested_by;
ALTER TABLE api_keys DROP COLUMN service_account;
DROP TABLE service_accounts;
ALTER TABLE tenants DROP COLUMN updated_at, DROP COLUMN suspended_at;
