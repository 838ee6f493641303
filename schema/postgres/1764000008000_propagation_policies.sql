-- Up Migration
-- A tenant's propagation policy, replacing policies/propagation.json as a whole for that tenant.
CREATE TABLE propagation_policies (
  tenant text PRIMARY KEY,
  policy jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE propagation_policies;
