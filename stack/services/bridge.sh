# The Kafka bridge: consumes commands and starts or signals workflows, from this checkout's code.
bridge_install() { :; }
bridge_check() { app_running bridge 'bridge consuming'; }
bridge_start() { app_start bridge workers/bridge.ts 'bridge consuming' metasync-bridge; }
bridge_stop() { stop_pid bridge; }
bridge_where() { echo "consumer groups metasync-{command,incident,lineage}-bridge on metasync.inbound.<tenant>.*, metrics http://127.0.0.1:${METASYNC_METRICS_PORT:-9467}/metrics; log .stack/logs/bridge.log"; }
