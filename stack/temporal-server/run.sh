#!/usr/bin/env bash
# The real Temporal server (go.temporal.io/server, built by build.sh) on the stack's PostgreSQL, beside the dev
# server: frontend gRPC 127.0.0.1:7243, metrics http://127.0.0.1:9479/metrics, 4 history shards, namespace
# `default` with MetaSync's search attributes. Its own role and databases (temporal_bench,
# temporal_bench_visibility); the role's password is a secret of this machine ($SECRETS_DIR/temporal-bench-postgres),
# handed to psql, temporal-sql-tool and the server through the environment, never argv.
# Idempotent: a server that already answers is left running. Log .stack/logs/temporal-server.log, pid
# .stack/pids/temporal-server.pid (of this checkout). Stop it with: stack/temporal-server/run.sh stop
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
# This checkout's .stack (not whatever METASYNC_RUN a caller exported for the shared stack).
METASYNC_RUN="${TEMPORAL_SERVER_RUN:-$root/.stack}"
# shellcheck source=../lib.sh
source "$here/../lib.sh"
# shellcheck source=../services/postgres.sh
source "$STACK_DIR/services/postgres.sh"

TEMPORAL_SERVER_VERSION="${TEMPORAL_SERVER_VERSION:-v1.32.0}"
TS_CACHE="${METASYNC_TEMPORAL_SERVER_CACHE:-$CACHE/temporal-server/$TEMPORAL_SERVER_VERSION}"
TS_BIN="$TS_CACHE/bin"
TS_SCHEMA="$TS_CACHE/schema/postgresql/v12"

TS_DB=temporal_bench
TS_VIS_DB=temporal_bench_visibility
TS_ROLE=temporal_bench
TS_HOST=127.0.0.1
TS_PORT=7243            # frontend gRPC; history 7244, matching 7245, worker 7246, frontend HTTP 7247
TS_MEMBERSHIP_PORT=6943 # frontend; history 6944, matching 6945, worker 6946
TS_METRICS_PORT=9479
TS_SHARDS=4
TS_NAMESPACE=default
TS_DIR="$RUN/temporal-server"      # config and dynamic config of this run
TS_LOG="$RUN/logs/temporal-server.log"
TS_PIDFILE="$RUN/pids/temporal-server.pid"

for db in "$TS_DB" "$TS_VIS_DB"; do
  [[ "$db" != "$PG_DATABASE" ]] || fail "temporal-server: refusing to use $PG_DATABASE"
done

cli() {
  local bin="$VENV/bin/temporal"
  [ -x "$bin" ] || bin="$(command -v temporal)" || fail "temporal-server: no temporal CLI ($VENV/bin/temporal or PATH)"
  "$bin" "$@"
}

ts_check() { cli operator cluster health --address "$TS_HOST:$TS_PORT" 2>/dev/null | grep -q SERVING; }

ts_running() { [ -f "$TS_PIDFILE" ] && kill -0 "$(cat "$TS_PIDFILE")" 2>/dev/null; }

if [[ "${1:-start}" == stop ]]; then stop_pid temporal-server; say "temporal-server: stopped"; exit 0; fi

[[ -x "$TS_BIN/temporal-server" && -x "$TS_BIN/temporal-sql-tool" && -d "$TS_SCHEMA" ]] || "$here/build.sh"

if ts_running && ts_check; then
  say "temporal-server: already serving on $TS_HOST:$TS_PORT (pid $(cat "$TS_PIDFILE"))"
  exit 0
fi

# (a) Role and databases, as the cluster's superuser over its unix socket (peer auth), like stack/services/postgres.sh.
TEMPORAL_BENCH_PG_PASSWORD="$(cat "$(stack_secret temporal-bench-postgres)")"
export TEMPORAL_BENCH_PG_PASSWORD
runuser -u postgres -- psql -q -X -p "$PG_PORT" -v ON_ERROR_STOP=1 -v role="$TS_ROLE" \
  -v db="$TS_DB" -v visdb="$TS_VIS_DB" -f - >/dev/null <<'SQL' || fail "temporal-server: provisioning $TS_ROLE failed"
\getenv password TEMPORAL_BENCH_PG_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'visdb', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'visdb') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'visdb') \gexec
SELECT format('GRANT ALL ON DATABASE %I TO %I', :'db', :'role') \gexec
SELECT format('GRANT ALL ON DATABASE %I TO %I', :'visdb', :'role') \gexec
\connect :db
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
\connect :visdb
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
SQL

# (b) Schemas: setup once (version 0.0), then update to the newest versioned directory (a no-op when current).
sqltool() {
  SQL_PASSWORD="$TEMPORAL_BENCH_PG_PASSWORD" "$TS_BIN/temporal-sql-tool" --plugin postgres12 --endpoint "$TS_HOST" \
    --port "$PG_PORT" --user "$TS_ROLE" --database "$1" "${@:2}"
}
for pair in "$TS_DB:temporal" "$TS_VIS_DB:visibility"; do
  db=${pair%%:*} dir=${pair#*:}
  has_version=$(runuser -u postgres -- psql -X -At -p "$PG_PORT" -d "$db" -c "SELECT to_regclass('public.schema_version') IS NOT NULL")
  if [[ "$has_version" != t ]]; then
    sqltool "$db" setup-schema -v 0.0 || fail "temporal-server: setup-schema of $db failed"
  fi
  sqltool "$db" update-schema -d "$TS_SCHEMA/$dir/versioned" || fail "temporal-server: update-schema of $db failed"
done

# (c) Config: the password is not in it; the server renders it from its environment (# enable-template, sprig env).
mkdir -p "$TS_DIR"
cat >"$TS_DIR/dynamicconfig.yaml" <<YAML
# New search attributes usable at once (as with the dev server).
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
    constraints: {}
YAML
sql_store() {
  cat <<YAML
      sql:
        pluginName: "postgres12"
        databaseName: "$1"
        connectAddr: "127.0.0.1:$PG_PORT"
        connectProtocol: "tcp"
        user: "$TS_ROLE"
        password: '{{ env "TEMPORAL_BENCH_PG_PASSWORD" }}'
        maxConns: $2
        maxIdleConns: $2
        maxConnLifetime: "1h"
YAML
}
service() { # name grpc-port membership-port [http-port]
  printf '  %s:\n    rpc:\n      grpcPort: %s\n      membershipPort: %s\n      bindOnIP: "%s"\n' "$1" "$2" "$3" "$TS_HOST"
  if [ -n "${4:-}" ]; then printf '      httpPort: %s\n' "$4"; fi
}
{
  cat <<YAML
# enable-template
# Written by stack/temporal-server/run.sh (go.temporal.io/server $TEMPORAL_SERVER_VERSION on PostgreSQL).
log:
  stdout: true
  level: warn

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: $TS_SHARDS
  datastores:
    postgres-default:
$(sql_store "$TS_DB" 20)
    postgres-visibility:
$(sql_store "$TS_VIS_DB" 10)

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "$TS_HOST"
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: "$TS_HOST:$TS_METRICS_PORT"

services:
$(service frontend "$TS_PORT" "$TS_MEMBERSHIP_PORT" $((TS_PORT + 4)))
$(service history $((TS_PORT + 1)) $((TS_MEMBERSHIP_PORT + 1)))
$(service matching $((TS_PORT + 2)) $((TS_MEMBERSHIP_PORT + 2)))
$(service worker $((TS_PORT + 3)) $((TS_MEMBERSHIP_PORT + 3)))

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "$TS_HOST:$TS_PORT"
      httpAddress: "$TS_HOST:$((TS_PORT + 4))"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: "$TS_DIR/dynamicconfig.yaml"
  pollInterval: "10s"
YAML
} >"$TS_DIR/config.yaml"

# (d) Start, detached (own session), its log and pid where the stack keeps them.
for port in "$TS_PORT" $((TS_PORT + 1)) $((TS_PORT + 2)) $((TS_PORT + 3)) $((TS_PORT + 4)) "$TS_MEMBERSHIP_PORT" \
  $((TS_MEMBERSHIP_PORT + 1)) $((TS_MEMBERSHIP_PORT + 2)) $((TS_MEMBERSHIP_PORT + 3)) "$TS_METRICS_PORT"; do
  ! port_open "$port" || fail "temporal-server: port $port is taken (a server left running? $TS_PIDFILE)"
done
spawn temporal-server "$TS_BIN/temporal-server" --config-file "$TS_DIR/config.yaml" --allow-no-auth start
unset TEMPORAL_BENCH_PG_PASSWORD

# (e) Serving, then the namespace and the search attributes MetaSync's workflows set.
wait_until temporal-server 90 "$TS_LOG" ts_check
if ! cli operator namespace describe --address "$TS_HOST:$TS_PORT" -n "$TS_NAMESPACE" >/dev/null 2>&1; then
  cli operator namespace create --address "$TS_HOST:$TS_PORT" -n "$TS_NAMESPACE" --retention 72h >/dev/null \
    || fail "temporal-server: could not create namespace $TS_NAMESPACE"
fi
# A new namespace takes a moment to reach every service's cache.
wait_until "temporal-server namespace $TS_NAMESPACE" 30 "$TS_LOG" \
  cli operator search-attribute list --address "$TS_HOST:$TS_PORT" -n "$TS_NAMESPACE"
while read -r name type; do
  cli operator search-attribute list --address "$TS_HOST:$TS_PORT" -n "$TS_NAMESPACE" | grep -qw "$name" \
    || cli operator search-attribute create --address "$TS_HOST:$TS_PORT" -n "$TS_NAMESPACE" --name "$name" --type "$type" >/dev/null \
    || fail "temporal-server: could not register search attribute $name"
done < <(grep -v '^#' "$STACK_DIR/temporal/search-attributes.txt")
say "temporal-server: serving on grpc $TS_HOST:$TS_PORT (pid $(cat "$TS_PIDFILE")), metrics http://$TS_HOST:$TS_METRICS_PORT/metrics, log $TS_LOG"
