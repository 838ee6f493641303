# Cassandra 5.0: one dev node on 127.0.0.1:9042, run straight from the Maven Central jars
# (no tarball, so no bin/cassandra: the JVM flags its scripts would add are spelled out below).
# Sourced by stack/services.sh; lib.sh provides the helpers.

CASSANDRA_JARS="$CACHE/jars/cassandra"
CASSANDRA_DATA="$RUN/data/cassandra"
CASSANDRA_LOG="$RUN/logs/cassandra.log"

cassandra_install() {
  maven_fetch cassandra
}

# A real CQL handshake (protocol v4 OPTIONS -> SUPPORTED), not just an open port: Cassandra opens
# 9042 as the very last step of start-up, and only the native transport itself answers this.
cassandra_check() {
  timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/9042 && printf "\x04\x00\x00\x00\x05\x00\x00\x00\x00" >&3 && head -c 5 <&3' 2>/dev/null \
    | od -An -tx1 | grep -q '84 00 00 00 06'
}

_cassandra_running() {
  [ -f "$RUN/pids/cassandra.pid" ] && kill -0 "$(cat "$RUN/pids/cassandra.pid")" 2>/dev/null
}

# Lets wait_until stop early when the JVM has died, instead of sitting out the whole time-out.
_cassandra_up_or_dead() {
  cassandra_check || ! _cassandra_running
}

cassandra_start() {
  if cassandra_check; then return 0; fi
  # Already starting (e.g. a second up.sh): wait for that one rather than start a rival on the same dirs.
  if ! _cassandra_running; then
    if port_open 9042 || port_open 7000; then
      fail "cassandra: port 9042 or 7000 is taken by something this checkout did not start"
    fi
    mkdir -p "$CASSANDRA_DATA/triggers"
    sed "s|@DATA@|$CASSANDRA_DATA|g" "$STACK_DIR/cassandra/cassandra.yaml" >"$RUN/cassandra.yaml"

    local jvm=(
      # Heap: Cassandra would take 1/4 of RAM (6 GiB) by default, too much on a box shared with Kafka,
      # Temporal, Spark, Postgres, MinIO and Node; dev data sets are tiny. Cassandra mlockall()s the JVM at
      # start-up (it succeeds as root), which pins the whole initial heap in RAM: a 1 GiB -Xms meant 1.5 GiB
      # RSS at idle. So start small and let G1 grow the heap to 2 GiB only under a test burst.
      # Direct memory (Netty, chunk cache) is capped as well; by default it may grow as large as -Xmx.
      -Xms512M -Xmx2G -XX:MaxDirectMemorySize=1G
      -XX:+ExitOnOutOfMemoryError   # die rather than limp on; Cassandra warns at start-up without one
      # From conf/jvm-server.options (minus AlwaysPreTouch, which would make the whole 2 GiB resident at once).
      -ea -da:net.openhft... -Xss256k -XX:+UseThreadPriorities -XX:+UseTLAB -XX:+ResizeTLAB
      -XX:+PerfDisableSharedMem -Djava.net.preferIPv4Stack=true
      # From conf/jvm17-server.options: G1, and the JPMS openings Cassandra, Chronicle and Netty need.
      -XX:+UseG1GC -XX:+ParallelRefProcEnabled -XX:MaxTenuringThreshold=1 -XX:G1HeapRegionSize=16m
      -XX:G1RSetUpdatingPauseTimePercent=5 -XX:MaxGCPauseMillis=300 -XX:InitiatingHeapOccupancyPercent=70
      -Djdk.attach.allowAttachSelf=true
      --add-exports java.base/jdk.internal.misc=ALL-UNNAMED
      --add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
      --add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
      --add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
      --add-exports java.sql/java.sql=ALL-UNNAMED
      --add-exports java.base/java.lang.ref=ALL-UNNAMED
      --add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
      --add-exports jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED
      --add-exports jdk.attach/sun.tools.attach=ALL-UNNAMED
      --add-opens java.base/java.lang.module=ALL-UNNAMED
      --add-opens java.base/jdk.internal.loader=ALL-UNNAMED
      --add-opens java.base/jdk.internal.ref=ALL-UNNAMED
      --add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
      --add-opens java.base/jdk.internal.math=ALL-UNNAMED
      --add-opens java.base/jdk.internal.module=ALL-UNNAMED
      --add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
      --add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
      --add-opens java.base/sun.nio.ch=ALL-UNNAMED
      --add-opens java.base/java.io=ALL-UNNAMED
      --add-opens java.base/java.lang.reflect=ALL-UNNAMED
      --add-opens jdk.compiler/com.sun.tools.javac=ALL-UNNAMED
      --add-opens java.base/java.lang=ALL-UNNAMED
      --add-opens java.base/java.util=ALL-UNNAMED
      -Dio.netty.tryReflectionSetAccessible=true
      -Dio.netty.allocator.useCacheForAllThreads=true -Dio.netty.allocator.maxOrder=11
      # What bin/cassandra and cassandra-env.sh add: jamm measures object sizes for memtable accounting.
      -javaagent:"$(echo "$CASSANDRA_JARS"/jamm-*.jar)"
      # JMX on localhost only, for nodetool (org.apache.cassandra.tools.NodeTool -h 127.0.0.1 -p 7199 status,
      # same classpath, plus --add-exports java.base/X=ALL-UNNAMED for X in sun.nio.ch, jdk.internal.misc and
      # jdk.internal.ref, --add-opens java.base/java.lang=ALL-UNNAMED, and -Dcassandra.logdir).
      -Dcassandra.jmx.local.port=7199
      -Dlogback.configurationFile="$STACK_DIR/cassandra/logback.xml"
      -Dcassandra.logdir="$RUN/logs"
      -Dcassandra.storagedir="$CASSANDRA_DATA"
      -Dcassandra.triggers_dir="$CASSANDRA_DATA/triggers"
      -Dcassandra.config="file://$RUN/cassandra.yaml"
      -Dcassandra-foreground=yes
      # A lone seed has no one to gossip with: skip the waits meant for real clusters.
      -Dcassandra.skip_wait_for_gossip_to_settle=0
      -Dcassandra.ring_delay_ms=1000
      -Dcassandra.superuser_setup_delay_ms=0
    )
    spawn cassandra "$JAVA17" "${jvm[@]}" -cp "$CASSANDRA_JARS/*" org.apache.cassandra.service.CassandraDaemon
  fi
  wait_until cassandra 180 "$CASSANDRA_LOG" _cassandra_up_or_dead
  cassandra_check || { tail -n 40 "$CASSANDRA_LOG" >&2; fail "cassandra exited during start-up; its log is $CASSANDRA_LOG"; }
}

cassandra_stop() {
  stop_pid cassandra
}

cassandra_where() {
  echo "cql 127.0.0.1:9042, log ${CASSANDRA_LOG#"$ROOT"/}"
}
