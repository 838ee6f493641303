# Spark 3.5 standalone: one master (spark://127.0.0.1:7077, UI :8080) and one worker (2 cores, 4g),
# run from PyPI's pyspark (it ships the whole Spark runtime) on Java 17. Extra jars (s3a, Cassandra
# connector) come from stack/maven/spark.pom.xml into $SPARK_JARS_DIR; jobs put that folder on the driver's and
# the executors' class path (the worker runs on this machine), so no job copies them into the work folder.
# Sourced by stack/services.sh; lib.sh provides the helpers.

PYSPARK_VERSION=3.5.7
SPARK_MASTER_URL=spark://127.0.0.1:7077
SPARK_UI_PORT=8080
SPARK_WORKER_UI_PORT=8081
SPARK_JARS_DIR="$CACHE/jars/spark"
SPARK_DATA="$RUN/data/spark"

# Everything spark-class / spark-submit read from the environment; exported so that the daemons,
# the executors they fork and any spark-submit run after sourcing this file agree.
_spark_env() {
  export JAVA_HOME="${JAVA17%/bin/java}"
  SPARK_HOME=$(echo "$VENV"/lib/python3*/site-packages/pyspark); export SPARK_HOME
  export SPARK_CONF_DIR="$STACK_DIR/spark"
  export SPARK_LOCAL_IP=127.0.0.1
  export SPARK_LOCAL_DIRS="$SPARK_DATA/tmp"
  export SPARK_WORKER_DIR="$SPARK_DATA/work"
  export PYSPARK_PYTHON="$VENV/bin/python"
  # Master and worker only schedule; the default 1g heap each is more than they need.
  export SPARK_DAEMON_MEMORY=512m
  # Executors leave their stdout/stderr and the job's --py-files (tens of KB per application) under the work
  # dir; the worker removes the folders of finished applications a day after their last write.
  export SPARK_WORKER_OPTS="-Dspark.worker.cleanup.enabled=true -Dspark.worker.cleanup.appDataTtl=86400"
}

spark_install() {
  # The dist-info directory answers "is pyspark $PYSPARK_VERSION installed" without starting pip.
  if ! ls -d "$VENV"/lib/python3*/site-packages/pyspark-"$PYSPARK_VERSION".dist-info >/dev/null 2>&1; then
    say "spark: installing pyspark==$PYSPARK_VERSION into $VENV (first run only)"
    [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q "pyspark==$PYSPARK_VERSION" >"$CACHE/pip-spark.log" 2>&1 \
      || { tail -n 20 "$CACHE/pip-spark.log" >&2; fail "spark: pip install pyspark failed (log: $CACHE/pip-spark.log)"; }
  fi
  # The pom lists every jar itself (minus what pyspark already ships), so no transitive resolution.
  maven_fetch spark -DexcludeTransitive=true
}

# Up means: the master answers and at least one worker has registered with it (a master alone
# accepts jobs that then wait forever for executors).
spark_check() {
  curl -fsS --max-time 5 "http://127.0.0.1:$SPARK_UI_PORT/json/" 2>/dev/null \
    | grep -Eq '"aliveworkers"[[:space:]]*:[[:space:]]*[1-9]'
}

_spark_running() {
  [ -f "$RUN/pids/spark-$1.pid" ] && kill -0 "$(cat "$RUN/pids/spark-$1.pid")" 2>/dev/null
}

spark_start() {
  if spark_check; then return 0; fi
  _spark_env
  mkdir -p "$SPARK_LOCAL_DIRS" "$SPARK_WORKER_DIR"
  if ! _spark_running master; then
    if port_open 7077 || port_open "$SPARK_UI_PORT"; then
      fail "spark: port 7077 or $SPARK_UI_PORT is taken by something this checkout did not start"
    fi
    spawn spark-master "$VENV/bin/spark-class" org.apache.spark.deploy.master.Master \
      --host 127.0.0.1 --port 7077 --webui-port "$SPARK_UI_PORT"
  fi
  wait_until spark-master 60 "$RUN/logs/spark-master.log" \
    curl -fsS --max-time 2 "http://127.0.0.1:$SPARK_UI_PORT/json/"
  if ! _spark_running worker; then
    spawn spark-worker "$VENV/bin/spark-class" org.apache.spark.deploy.worker.Worker "$SPARK_MASTER_URL" \
      --host 127.0.0.1 --cores 2 --memory 4g --webui-port "$SPARK_WORKER_UI_PORT" --work-dir "$SPARK_WORKER_DIR"
  fi
  wait_until spark-worker 60 "$RUN/logs/spark-worker.log" spark_check
}

spark_stop() {
  stop_pid spark-worker
  stop_pid spark-master
}

spark_where() {
  echo "master $SPARK_MASTER_URL, ui http://127.0.0.1:$SPARK_UI_PORT, logs .stack/logs/spark-*.log"
}

# spark_submit ARGS...: spark-submit against the stack's cluster with the stack's jars and config,
# e.g. spark_submit spark/load_assets.py --input s3a://metasync/x.ndjson.gz --tenant t --run-id r
# The jobs take the S3 credentials from the environment (this machine's secret), never from arguments.
spark_submit() {
  _spark_env
  AWS_ACCESS_KEY_ID=metasync AWS_SECRET_ACCESS_KEY="$(cat "$(stack_secret s3-secret-key)")" \
    "$VENV/bin/spark-submit" --master "$SPARK_MASTER_URL" \
    --conf "spark.driver.extraClassPath=$SPARK_JARS_DIR/*" --conf "spark.executor.extraClassPath=$SPARK_JARS_DIR/*" "$@"
}
