# Kafka 4.1 in KRaft mode: one JVM that is both broker and controller, run from the Maven Central
# jars (stack/maven/kafka.pom.xml) so no Kafka tarball or Docker is needed. Sourced after stack/lib.sh.
#
# Every client authenticates with SASL/SCRAM-SHA-512 and ACLs decide what it may do (stack/kafka/server.properties,
# lib/kafka/access.ts). The admin's credential is written into the storage when it is formatted (KIP-900); the
# services' credentials, their ACLs and the shared topics come after each start from `npm run kafka:provision`.
# Passwords live in this machine's secrets folder (stack_secret), never on a command line.
#
# KAFKA_PORT and KAFKA_CONTROLLER_PORT (9092, 9093) let a second broker run beside the shared one, e.g.
#   KAFKA_PORT=19092 KAFKA_CONTROLLER_PORT=19093 bash stack/up.sh kafka   (clients: METASYNC_KAFKA_BROKERS=127.0.0.1:19092)

KAFKA_JARS="$CACHE/jars/kafka"
KAFKA_CONF="$STACK_DIR/kafka"
KAFKA_DATA="$RUN/data/kafka"
KAFKA_LOG="$RUN/logs/kafka.log"
KAFKA_PROPS="$RUN/kafka.properties"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_BOOTSTRAP="127.0.0.1:$KAFKA_PORT"
# Fixed, so every format of a fresh data dir gives the same cluster (base64 of "MetaSyncDevKafka").
KAFKA_CLUSTER_ID=TWV0YVN5bmNEZXZLYWZrYQ
# Written beside the data once it is formatted with this machine's admin credential: a SHA-256 of the password.
KAFKA_ADMIN_MARK="$KAFKA_DATA/metasync-admin.sha256"

kafka_install() {
  maven_fetch kafka
}

# The broker's pid, if the pid file points at a live Kafka (not a recycled pid).
_kafka_pid() {
  local pid
  pid=$(cat "$RUN/pids/kafka.pid" 2>/dev/null) || return 1
  grep -qa kafka.Kafka "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

# Runs a Kafka command-line tool. Small heap and C1 only: these JVMs live for seconds.
_kafka_tool() {
  "$JAVA17" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KAFKA_CONF/log4j2.xml" -Dmetasync.kafka.log.level=WARN \
    -cp "$KAFKA_JARS/*" "$@"
}

# A SaslHandshake request (v1, mechanism SCRAM-SHA-512) over bash's /dev/tcp, so a check costs no JVM: the broker
# answers it before any login, with error 0 only if its listener takes SCRAM (a broker started without SASL does not).
_kafka_sasl_ok() {
  local reply
  reply=$(timeout 5 bash -c '
    exec 3<>"/dev/tcp/127.0.0.1/$1"
    # size 25 | api_key 17 (SaslHandshake) | version 1 | correlation id 7 | client id null | "SCRAM-SHA-512"
    printf "\x00\x00\x00\x19\x00\x11\x00\x01\x00\x00\x00\x07\xff\xff\x00\x0dSCRAM-SHA-512" >&3
    od -An -v -tx1 -N 10 <&3' _ "$KAFKA_PORT" 2>/dev/null | tr -d ' \n') || return 1
  # size | correlation id 7 | error code 0
  [[ $reply =~ ^[0-9a-f]{8}000000070000$ ]]
}

kafka_check() {
  port_open "$KAFKA_PORT" && _kafka_sasl_ok
}

# Done waiting: either the broker is up, or it died (kafka_start then shows why).
# Right after spawn the pid is still a shell about to exec the JVM, so "alive" is kill -0, not _kafka_pid.
_kafka_settled() {
  local pid
  pid=$(cat "$RUN/pids/kafka.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null || return 0
  grep -q 'Kafka Server started' "$KAFKA_LOG" && kafka_check
}

# Renders stack/kafka/server.properties with this checkout's ports and data dir and this machine's passwords. The
# result holds passwords, so it is readable by its owner only.
_kafka_render() {
  local admin controller
  admin=$(cat "$(stack_secret kafka-metasync-admin)")
  controller=$(cat "$(stack_secret kafka-metasync-controller)")
  (umask 077 && sed -e "s|@DATA_DIR@|$KAFKA_DATA|" -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|@ADMIN_PASSWORD@|$admin|" -e "s|@CONTROLLER_PASSWORD@|$controller|g" \
    "$KAFKA_CONF/server.properties" >"$KAFKA_PROPS.tmp" && mv "$KAFKA_PROPS.tmp" "$KAFKA_PROPS")
}

# Formats the data dir with the admin's SCRAM credential. StorageTool takes it only as an argument, so the arguments
# go through a Java argument file (owner-only, removed at once): `ps` shows "@file", never the password.
_kafka_format() {
  local args="$RUN/kafka-format.args" admin
  admin=$(cat "$(stack_secret kafka-metasync-admin)")
  say "kafka: formatting $KAFKA_DATA"
  mkdir -p "$KAFKA_DATA"
  (umask 077 && printf '"%s"\n' kafka.tools.StorageTool format --config "$KAFKA_PROPS" --cluster-id "$KAFKA_CLUSTER_ID" \
    --ignore-formatted --add-scram "SCRAM-SHA-512=[name=metasync-admin,password=$admin]" >"$args")
  if ! _kafka_tool "@$args" >/dev/null; then rm -f "$args"; fail "kafka: could not format $KAFKA_DATA"; fi
  rm -f "$args"
  sha256sum <<<"$admin" | cut -d' ' -f1 >"$KAFKA_ADMIN_MARK"
}

kafka_start() {
  if kafka_check; then
    say "kafka: already up"
    return 0
  fi
  if _kafka_pid >/dev/null && ! grep -q SASL_PLAINTEXT "$KAFKA_PROPS" 2>/dev/null; then
    fail "kafka: the running broker was started without SASL and ACLs; restart it: bash stack/down.sh kafka && bash stack/up.sh kafka"
  fi
  if ! _kafka_pid >/dev/null; then
    # Something else (another checkout's broker?) holds the ports: starting would only crash.
    if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
      fail "kafka: port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT is taken by another process (another broker? KAFKA_PORT and KAFKA_CONTROLLER_PORT choose others)"
    fi
    _kafka_render
    # Data formatted before SASL (or with another admin password) has no credential this machine can log in with.
    # Dev data is disposable: it is formatted again, with the admin's credential.
    local mark
    mark=$(sha256sum <<<"$(cat "$(stack_secret kafka-metasync-admin)")" | cut -d' ' -f1)
    if [ -f "$KAFKA_DATA/meta.properties" ] && [ "$(cat "$KAFKA_ADMIN_MARK" 2>/dev/null)" != "$mark" ]; then
      say "kafka: $KAFKA_DATA was formatted without this machine's Kafka admin credential (before SASL/ACLs); its topics and messages are dropped and it is formatted again"
      rm -rf "$KAFKA_DATA"
    fi
    [ -f "$KAFKA_DATA/meta.properties" ] || _kafka_format
    # 1 GiB heap: Kafka needs little locally, and the box is shared with Cassandra, Temporal, Spark
    # and Postgres. G1 with short pauses, as Kafka's own start script uses.
    spawn kafka "$JAVA17" -Xms512m -Xmx1G -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
      -Dlog4j2.configurationFile="$KAFKA_CONF/log4j2.xml" \
      -cp "$KAFKA_JARS/*" kafka.Kafka "$KAFKA_PROPS"
  fi
  wait_until kafka 90 "$KAFKA_LOG" _kafka_settled
  if ! _kafka_pid >/dev/null; then
    tail -n 25 "$KAFKA_LOG" >&2
    fail "kafka exited during start-up; its log is $KAFKA_LOG"
  fi
}

# After every start (stack/up.sh): the shared topics, the services' credentials and ACLs (starters/kafkaProvision.ts).
kafka_provision() {
  local service
  for service in api bridge worker subscribers; do stack_secret "kafka-metasync-$service" >/dev/null; done
  bash "$STACK_DIR/node-deps.sh"
  (cd "$ROOT" && METASYNC_KAFKA_BROKERS="$KAFKA_BOOTSTRAP" METASYNC_SECRETS_DIR="$SECRETS_DIR" \
    "$ROOT/node_modules/.bin/tsx" starters/kafkaProvision.ts) || fail "kafka: could not provision topics, credentials and ACLs"
}

kafka_stop() {
  stop_pid kafka
}

kafka_where() {
  echo "broker $KAFKA_BOOTSTRAP (SASL/SCRAM; controller $KAFKA_CONTROLLER_PORT), log ${KAFKA_LOG#"$ROOT"/}"
}
