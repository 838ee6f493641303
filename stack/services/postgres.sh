# PostgreSQL from Debian's packages: the metadata store `metasync_production` (tenants, keys, connections, runs).
PG_PORT=5432
PG_USER=metasync
PG_PASSWORD=metasync
PG_DATABASE=metasync_production

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
  # Role and database are created once; migrations (npm run migrate) own everything inside.
  runuser -u postgres -- psql -q -p "$PG_PORT" -v ON_ERROR_STOP=1 <<SQL
SELECT 'CREATE ROLE $PG_USER LOGIN PASSWORD ''$PG_PASSWORD'' CREATEDB'
  WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') \gexec
SELECT 'CREATE DATABASE $PG_DATABASE OWNER $PG_USER'
  WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$PG_DATABASE') \gexec
SQL
}

# shellcheck disable=SC2046
postgres_stop() { [ -z "$(pg_cluster)" ] || pg_ctlcluster $(pg_cluster) stop 2>/dev/null || true; }

postgres_where() { echo "postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DATABASE, log /var/log/postgresql/"; }
