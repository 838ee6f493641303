-- MetaSync's roles and control-plane database, least privilege (docs/security.md). Run by the cluster's superuser
-- with psql variables owner, owner_password, runtime, runtime_password and database (stack/services/postgres.sh;
-- test/integration/postgresRoles.test.ts runs it on a cluster of its own). Idempotent, and it converts a database
-- from before the two roles, when the runtime role owned everything and could create databases.
--
--   owner    owns the database and everything in it; migrations (npm run migrate) run as it
--   runtime  what every MetaSync process connects as: reads and writes the tables, owns nothing, creates nothing

SELECT format('CREATE ROLE %I LOGIN', :'owner') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'owner') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'runtime') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'runtime') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'owner', :'owner_password') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'runtime', :'runtime_password') \gexec

SELECT format('CREATE DATABASE %I OWNER %I', :'database', :'owner')
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'database') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'database', :'owner') \gexec
-- Only MetaSync's roles may connect (PUBLIC may by default).
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'database') \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', :'database', :'runtime') \gexec

\connect :database

-- Before the split, the runtime role created (and so owned) every table: the owner takes them over. REASSIGN
-- covers tables, their sequences and indexes, and any view, function or type a migration made.
-- (It reassigns the runtime role's databases elsewhere in the cluster too: tests' leftovers from before, if any.)
SELECT format('REASSIGN OWNED BY %I TO %I', :'runtime', :'owner') \gexec

-- The schema is the owner's to change (PostgreSQL 15 gives PUBLIC no CREATE on it; said here for older clusters).
SELECT format('ALTER SCHEMA public OWNER TO %I', :'owner') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT USAGE ON SCHEMA public TO %I', :'runtime') \gexec

-- What exists now, and (default privileges) what the owner's migrations create later.
SELECT format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO %I', :'runtime') \gexec
SELECT format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO %I', :'runtime') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO %I', :'owner', :'runtime') \gexec
SELECT format('ALTER DEFAULT PRIVILEGES FOR ROLE %I IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO %I', :'owner', :'runtime') \gexec

-- The migrations' own record is the owner's alone: the runtime role cannot make a migration look applied.
SELECT format('REVOKE ALL ON TABLE public.pgmigrations FROM %I', :'runtime') WHERE to_regclass('public.pgmigrations') IS NOT NULL \gexec
SELECT format('REVOKE ALL ON SEQUENCE public.pgmigrations_id_seq FROM %I', :'runtime') WHERE to_regclass('public.pgmigrations_id_seq') IS NOT NULL \gexec
