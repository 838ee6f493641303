-- Up Migration
-- Keys callers of the HTTP API present as `Authorization: Bearer msk_<key_id>_<secret>`. Only a SHA-256 of the
-- secret is kept: the plain key is printed once, when it is created, and cannot be recovered from here.
CREATE TABLE api_keys (
  key_id text PRIMARY KEY,
  tenant text NOT NULL REFERENCES tenants (tenant) ON DELETE CASCADE,
  name text NOT NULL,
  secret_hash bytea NOT NULL CHECK (octet_length(secret_hash) = 32),
  scopes text[] NOT NULL CHECK (
    cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest', 'read', 'annotate', 'admin']::text[]
  ),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant);

-- Down Migration
DROP TABLE api_keys;
