-- Up Migration
-- Tenants' overrides of the default mapping rules (mappings/default.json). Append-only: each save is a new
-- version, so what a past run applied can still be looked up; the latest version is the one in effect.
CREATE TABLE mapping_rule_sets (
  tenant text NOT NULL,
  version int NOT NULL CHECK (version > 0),
  rules jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant, version)
);

-- Down Migration
DROP TABLE mapping_rule_sets;
