-- Up Migration
-- The tenants MetaSync serves. Events and webhooks for a tenant that is not here are refused.
CREATE TABLE tenants (
  tenant text PRIMARY KEY,
  display_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE tenants;
