# The MetaSync worker process (workflows and activities), from this checkout's code.
worker_install() { :; }
worker_check() { app_running worker 'worker running'; }
worker_start() { app_start worker workers/worker.ts 'worker running' metasync-worker; }
worker_stop() { stop_pid worker; }
worker_where() { echo "task queues metasync, metasync-spark, metrics http://127.0.0.1:${METASYNC_METRICS_PORT:-9465}/metrics (Temporal SDK http://127.0.0.1:${METASYNC_TEMPORAL_METRICS_PORT:-9466}/metrics); log .stack/logs/worker.log"; }
