-- Up Migration
-- Rejected HTTP bodies (the Monte Carlo webhook's, the OpenLineage route's) archived as dead letters, per tenant and
-- UTC day: bytes kept count against the tenant's quota (METASYNC_DEAD_LETTER_BYTES_PER_DAY); past it, bodies are
-- refused all the same but not kept, and only counted. One row, shared by every API process, so the quota holds
-- for the deployment rather than per process.
CREATE TABLE dead_letter_quota (
  tenant text NOT NULL,
  day date NOT NULL,
  archived_bytes bigint NOT NULL DEFAULT 0,
  archived_count integer NOT NULL DEFAULT 0,
  refused_bytes bigint NOT NULL DEFAULT 0,
  refused_count integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, day)
);

-- Down Migration
DROP TABLE dead_letter_quota;
