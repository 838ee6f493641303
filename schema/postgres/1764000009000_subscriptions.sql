-- Up Migration
-- What a tenant's outside tools receive from its outbound topic (lib/subscriptions/contracts.ts `Subscription`), and how the
-- delivery is going: workers/subscribers.ts keeps the status current, so a failing sink shows here and in
-- `npm run subscribe -- --list`.
CREATE TABLE subscriptions (
  tenant text NOT NULL,
  subscription_id text NOT NULL,
  spec jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  delivered bigint NOT NULL DEFAULT 0,
  last_delivered_at timestamptz,
  last_error text,
  last_error_at timestamptz,
  failing_since timestamptz,
  PRIMARY KEY (tenant, subscription_id)
);

-- The restrictions an enforcement subscription wants on its downstream, one row per classification, so removing
-- PII keeps a column restricted while GDPR remains. column_name '' is the whole table. Names are the downstream's
-- own (resolved case). Rows outlive their subscription on purpose: its grants stay revoked downstream too.
CREATE TABLE enforcement_restrictions (
  tenant text NOT NULL,
  subscription_id text NOT NULL,
  schema_name text NOT NULL,
  table_name text NOT NULL,
  column_name text NOT NULL,
  classification text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, subscription_id, schema_name, table_name, column_name, classification)
);

-- Whether each restricted role held table-level SELECT before the first restriction on a table, so lifting the
-- last one gives back what was taken and never grants a role what it did not have.
CREATE TABLE enforcement_baselines (
  tenant text NOT NULL,
  subscription_id text NOT NULL,
  schema_name text NOT NULL,
  table_name text NOT NULL,
  role_name text NOT NULL,
  had_select boolean NOT NULL,
  PRIMARY KEY (tenant, subscription_id, schema_name, table_name, role_name)
);

-- Down Migration
DROP TABLE enforcement_baselines;
DROP TABLE enforcement_restrictions;
DROP TABLE subscriptions;
