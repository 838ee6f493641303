-- Up Migration
-- Secrets webhook senders sign with, one per tenant and provider; sealed (AES-256-GCM) like connection passwords.
CREATE TABLE webhook_secrets (
  tenant text NOT NULL,
  provider text NOT NULL CHECK (provider IN ('monte-carlo')),
  secret text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, provider)
);

-- Which MetaSync connection a Monte Carlo account's tables are: an incident's tables resolve to that
-- connection's qualified names.
CREATE TABLE monte_carlo_accounts (
  tenant text NOT NULL,
  account_id text NOT NULL,
  connection_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, account_id),
  FOREIGN KEY (tenant, connection_id) REFERENCES connections (tenant, connection_id) ON DELETE CASCADE
);

-- Down Migration
DROP TABLE monte_carlo_accounts;
DROP TABLE webhook_secrets;
