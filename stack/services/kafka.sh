# Kafka 4.1 in KRaft mode: one JVM that is both broker and controller, run from the Maven Central
# jars (stack/maven/kafka.pom.xml) so no Kafka tarball or Docker is needed. Sourced after stack/lib.sh.

KAFKA_JARS="$CACHE/jars/kafka"
KAFKA_CONF="$STACK_DIR/kafka"
KAFKA_DATA="$RUN/data/kafka"
KAFKA_LOG="$RUN/logs/kafka.log"
KAFKA_PROPS="$RUN/kafka.properties"
KAFKA_BOOTSTRAP=127.0.0.1:9092
KAFKA_HOST_HEX=3132372e302e302e31   # "127.0.0.1", as it appears in a Metadata reply
# Fixed, so every format of a fresh data dir gives the same cluster (base64 of "MetaSyncDevKafka").
KAFKA_CLUSTER_ID=TWV0YVN5bmNEZXZLYWZrYQ

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

# A real Metadata request (v4, the oldest Kafka 4 accepts) over bash's /dev/tcp, so a check costs
# no JVM: the broker only lists itself (node 1 at 127.0.0.1:9092) once it is registered and unfenced.
_kafka_metadata_ok() {
  local reply
  reply=$(timeout 5 bash -c '
    exec 3<>/dev/tcp/127.0.0.1/9092
    # size 15 | api_key 3 (Metadata) | version 4 | correlation id 7 | client id null | all topics | no auto-create
    printf "\x00\x00\x00\x0f\x00\x03\x00\x04\x00\x00\x00\x07\xff\xff\xff\xff\xff\xff\x00" >&3
    od -An -v -tx1 -N 35 <&3' 2>/dev/null | tr -d ' \n') || return 1
  # size | correlation id 7 | throttle time | 1 broker | node 1 | host "127.0.0.1" | port 9092
  [[ $reply =~ ^[0-9a-f]{8}00000007[0-9a-f]{8}00000001000000010009${KAFKA_HOST_HEX}00002384$ ]]
}

kafka_check() {
  port_open 9092 && _kafka_metadata_ok
}

# Done waiting: either the broker is up, or it died (kafka_start then shows why).
_kafka_settled() {
  if ! _kafka_pid >/dev/null; then return 0; fi
  grep -q 'Kafka Server started' "$KAFKA_LOG" && kafka_check
}

kafka_start() {
  if kafka_check; then
    say "kafka: already up"
  else
    if ! _kafka_pid >/dev/null; then
      # Something else (another checkout's broker?) holds the ports: starting would only crash.
      if port_open 9092 || port_open 9093; then fail "kafka: port 9092 or 9093 is taken by another process"; fi
      mkdir -p "$KAFKA_DATA"
      sed "s|@DATA_DIR@|$KAFKA_DATA|" "$KAFKA_CONF/server.properties" >"$KAFKA_PROPS"
      # Formatting is needed once per data dir; --ignore-formatted keeps it harmless on existing data.
      if [ ! -f "$KAFKA_DATA/meta.properties" ]; then
        say "kafka: formatting $KAFKA_DATA"
        _kafka_tool kafka.tools.StorageTool format --config "$KAFKA_PROPS" \
          --cluster-id "$KAFKA_CLUSTER_ID" --ignore-formatted >/dev/null || fail "kafka: could not format $KAFKA_DATA"
      fi
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
  fi
  kafka_topics
}

# Creates the topics of stack/kafka/topics.txt that do not exist yet (one JVM to list, one per new topic).
kafka_topics() {
  local existing name partitions
  existing=$(_kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --list) ||
    fail "kafka: could not list topics"
  while read -r name partitions _; do
    [ -n "$name" ] || continue
    grep -qxF "$name" <<<"$existing" && continue
    say "kafka: creating topic $name ($partitions partitions)"
    _kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$KAFKA_BOOTSTRAP" --create --if-not-exists \
      --topic "$name" --partitions "$partitions" --replication-factor 1 >/dev/null ||
      fail "kafka: could not create topic $name"
  done < <(sed 's/#.*//' "$KAFKA_CONF/topics.txt")
}

kafka_stop() {
  stop_pid kafka
}

kafka_where() {
  echo "broker $KAFKA_BOOTSTRAP, log ${KAFKA_LOG#"$ROOT"/}"
}
