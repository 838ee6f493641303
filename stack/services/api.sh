# The HTTP API (Monte Carlo webhooks in, assets with their incidents out), from this checkout's code.
api_install() { :; }
api_check() { app_running api 'api listening'; }
api_start() { app_start api api/main.ts 'api listening' metasync-api; }
api_stop() { stop_pid api; }
api_where() { echo "http://${METASYNC_API_HOST:-127.0.0.1}:${METASYNC_API_PORT:-8090}, metrics http://127.0.0.1:${METASYNC_METRICS_PORT:-9464}/metrics; log .stack/logs/api.log"; }
