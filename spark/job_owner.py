"""Ties a Spark job's life to the worker process that submitted it.

spark-submit runs the driver in client mode as a child of the worker. A worker that dies by SIGKILL (or OOM) takes
no children with it, and its activity is retried elsewhere after the heartbeat timeout: the orphaned job would run
on beside the retry, holding executor cores. The driver therefore watches its owner and exits when it is gone; the
JVM's shutdown hook then stops the SparkContext and the master frees the application's executors.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Optional


def exit_when_owner_dies(owner_pid: Optional[int], interval_seconds: float = 2.0) -> None:
    if not owner_pid:
        return

    def watch() -> None:
        while True:
            time.sleep(interval_seconds)
            try:
                os.kill(owner_pid, 0)
            except ProcessLookupError:
                print(f"owner process {owner_pid} is gone; ending this job", file=sys.stderr, flush=True)
                os._exit(3)
            except PermissionError:
                pass  # alive, but another user's

    threading.Thread(target=watch, name="owner-watch", daemon=True).start()
