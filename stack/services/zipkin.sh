# Zipkin 3.6: the trace backend. One jar from Maven Central (stack/maven/zipkin.pom.xml) carries the server, its
# JSON API (POST /api/v2/spans takes what the apps export; GET /api/v2/traces answers the trace test) and the UI,
# run on Java 17 with in-memory storage: traces are for finding slow points now, not for keeping (a restart empties
# it). Why Zipkin rather than Jaeger or a collector: docs/observability.md. Sourced after stack/lib.sh.

ZIPKIN_PORT="${ZIPKIN_PORT:-9411}"
ZIPKIN_JARS="$CACHE/jars/zipkin"
# The newest spans kept in memory; older ones are dropped first. About 1 KB each, so the heap below holds them.
ZIPKIN_MAX_SPANS="${ZIPKIN_MAX_SPANS:-200000}"

zipkin_install() {
  maven_fetch zipkin -DexcludeTransitive=true
}

zipkin_check() {
  curl -fsS --max-time 3 "http://127.0.0.1:$ZIPKIN_PORT/health" 2>/dev/null | grep -q '"UP"'
}

zipkin_start() {
  if zipkin_check; then return 0; fi
  port_open "$ZIPKIN_PORT" && fail "zipkin: port $ZIPKIN_PORT is taken by something this checkout did not start"
  # Loopback only: the API takes spans from anyone who can reach it.
  spawn zipkin env STORAGE_TYPE=mem MEM_MAX_SPANS="$ZIPKIN_MAX_SPANS" \
    "$JAVA17" -Xms64m -Xmx512m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
    -jar "$(ls "$ZIPKIN_JARS"/zipkin-server-*-exec.jar)" --armeria.ports[0].port="$ZIPKIN_PORT" --armeria.ports[0].ip=127.0.0.1 --armeria.ports[0].protocols[0]=http
  wait_until zipkin 90 "$RUN/logs/zipkin.log" zipkin_check
}

zipkin_stop() { stop_pid zipkin; }

zipkin_where() { echo "ui http://127.0.0.1:$ZIPKIN_PORT/zipkin/, spans POST /api/v2/spans, log .stack/logs/zipkin.log"; }
