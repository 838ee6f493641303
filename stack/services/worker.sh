# The MetaSync worker process (workflows and activities), from this checkout's code.
worker_install() { :; }
worker_check() { app_running worker 'worker running'; }
worker_start() { app_start worker workers/worker.ts 'worker running' metasync-worker; }
worker_stop() { stop_pid worker; }
worker_where() { echo "task queues metasync, metasync-spark; log .stack/logs/worker.log"; }
