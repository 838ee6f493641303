# The subscribers: deliver each tenant's outbound changes to its subscriptions' sinks, from this checkout's code.
subscribers_install() { :; }
subscribers_check() { app_running subscribers 'subscribers running'; }
subscribers_start() { app_start subscribers workers/subscribers.ts 'subscribers running' metasync-subscribers; }
subscribers_stop() { stop_pid subscribers; }
subscribers_where() { echo "consumer groups metasync-subscription-<tenant>-<id>, metrics http://127.0.0.1:${METASYNC_METRICS_PORT:-9468}/metrics; log .stack/logs/subscribers.log"; }
