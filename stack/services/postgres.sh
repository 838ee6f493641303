# PostgreSQL from Debian's packages: the metadata store `metasync_production` (tenants, keys, connections, runs).
PG_PORT=5432
PG_DATABASE=metasync_production
PG_USER=metasync                  # what MetaSync's processes connect as: reads and writes the tables, owns nothing
PG_PASSWORD=metasync
PG_OWNER=metasync_owner           # owns the database and its schema; migrations (npm run migrate) run as it
PG_OWNER_PASSWORD=metasync_owner
PG_SOURCES=metasync_sources       # owns the local stack's source databases (tests, benchmarks): may create them
PG_SOURCES_PASSWORD=metasync_sources

pg_cluster() { pg_lsclusters --no-header 2>/dev/null | awk -v p="$PG_PORT" '$3 == p { print $1, $2; exit }'; }

postgres_install() {
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    say "postgres: installing Debian's postgresql (first run only)"
    apt_install postgresql
  fi
  [ -n "$(pg_cluster)" ] || pg_createcluster --port "$PG_PORT" "$(ls /usr/lib/postgresql | sort -V | tail -n 1)" main >/dev/null
}

postgres_check() { pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; }

postgres_start() {
  # shellcheck disable=SC2046
  pg_ctlcluster $(pg_cluster) start || fail "postgres: pg_ctlcluster could not start; see /var/log/postgresql/"
  wait_until postgres 60 "/var/log/postgresql/postgresql-$(pg_cluster | tr ' ' '-').log" postgres_check
}

postgres_provision() {
  # MetaSync's two roles and its database (converting one from before the split: stack/postgres/provision.sql).
  runuser -u postgres -- psql -q -p "$PG_PORT" -v ON_ERROR_STOP=1 -v database="$PG_DATABASE" \
    -v owner="$PG_OWNER" -v owner_password="$PG_OWNER_PASSWORD" \
    -v runtime="$PG_USER" -v runtime_password="$PG_PASSWORD" -f - <"$STACK_DIR/postgres/provision.sql" >/dev/null \
    || fail "postgres: provisioning the roles and $PG_DATABASE failed (stack/postgres/provision.sql)"
  # The sources the local stack's tests and benchmarks ingest are not MetaSync's: a role of their own creates them.
  runuser -u postgres -- psql -q -p "$PG_PORT" -v ON_ERROR_STOP=1 >/dev/null <<SQL
SELECT 'CREATE ROLE $PG_SOURCES LOGIN PASSWORD ''$PG_SOURCES_PASSWORD'' CREATEDB'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_SOURCES') \gexec
SQL
}

# shellcheck disable=SC2046
postgres_stop() { [ -z "$(pg_cluster)" ] || pg_ctlcluster $(pg_cluster) stop 2>/dev/null || true; }

postgres_where() { echo "postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DATABASE, log /var/log/postgresql/"; }
