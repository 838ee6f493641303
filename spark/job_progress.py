"""Tells the worker where a running job stands, every few seconds, on stdout:

    METASYNC_PROGRESS {"step": "write changes", "rowsWritten": 120000, "rowsToWrite": 450000, "tasksDone": 3,
                       "tasks": 9}

and, on stderr, how long each step took (`load_columns: write changes took 41.2 s`: the worker logs them and puts them
on the job's span, lib/ingest/sparkSteps.ts).

The worker passes the last progress on in its activity's heartbeat, where the run's progress (CLI, API, Web UI) reads
it. The figures are Spark's own, from the SparkContext's status store (through py4j, on the driver): the tasks of the
step's stages that have finished, and the rows written as the step's writes go, one Spark stage a write. The Cassandra
connector's writer reports no output metrics, so a write's rows are counted from its finished tasks (a task writes
its share of the write's rows); the more tasks a write has, the more often the figure moves.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, Sequence

from pyspark.sql import SparkSession

MARKER = "METASYNC_PROGRESS "


class JobProgress:
    def __init__(self, spark: SparkSession, job: str, interval_seconds: float = 2.0) -> None:
        self._job = job
        self._started = time.monotonic()
        self._ended = False
        self._store = spark.sparkContext._jsc.sc().statusStore()
        self._interval = interval_seconds
        self._lock = threading.Lock()
        self._step = "starting"
        self._writes: list[int] = []
        self._seen: set[int] = set()  # every stage seen active so far
        self._step_stages: dict[int, tuple[int, int, int]] = {}  # this step's: (rows written, tasks done, tasks)
        self._last = ""
        threading.Thread(target=self._report_forever, name="job-progress", daemon=True).start()

    def step(self, name: str, writes: Sequence[int] = ()) -> None:
        """A new step begins: the stages from now on are its own (the last step's action has returned). `writes` are
        the rows of each of its writes, in the order it makes them, each one stage."""
        self._time_step()
        with self._lock:
            self._step, self._writes = name, list(writes)
            self._seen.update(self._step_stages)
            self._step_stages = {}
        self._report()

    def end(self) -> None:
        """The last step is over (the SparkContext may be stopped: nothing is read from it any more)."""
        with self._lock:
            self._ended = True
        self._time_step()

    def _time_step(self) -> None:
        now = time.monotonic()
        if self._step != "starting":
            print(f"{self._job}: {self._step} took {now - self._started:.1f} s", file=sys.stderr, flush=True)
        self._started = now

    def _report_forever(self) -> None:
        while not self._ended:
            time.sleep(self._interval)
            try:
                self._report()
            except Exception:  # noqa: BLE001 — progress is best effort; the job's own outcome is what counts
                pass

    def _report(self) -> None:
        with self._lock:
            if self._ended:
                return
            found = self._store.activeStages()
            active: dict[int, Any] = {}  # each stage read once: every call goes through py4j
            for index in range(found.size()):
                stage = found.apply(index)
                active[int(stage.stageId())] = stage
            # A stage of the step no longer active has ended (a failed one fails the job): all its tasks are done.
            for stage_id, (written, _, tasks) in self._step_stages.items():
                if stage_id not in active:
                    self._step_stages[stage_id] = (written, tasks, tasks)
            for stage_id, stage in active.items():
                if stage_id in self._seen:
                    continue
                written, done = int(stage.outputRecords()), int(stage.numCompleteTasks())
                before = self._step_stages.get(stage_id, (0, 0, 0))
                # A stage's figures only grow (Spark's may lag a moment behind what was seen before).
                self._step_stages[stage_id] = (max(written, before[0]), max(done, before[1]), int(stage.numTasks()))
            # Stage ids grow, so the step's stages in id order are its writes in order.
            stages = [self._step_stages[stage_id] for stage_id in sorted(self._step_stages)]
            written = sum(
                max(output, rows * done // tasks if tasks else 0)
                for (output, done, tasks), rows in zip(stages, self._writes)
            )
            report = {
                "step": self._step,
                "rowsWritten": written,
                "rowsToWrite": sum(self._writes),
                "tasksDone": sum(done for _, done, _ in stages),
                "tasks": sum(tasks for _, _, tasks in stages),
            }
            line = MARKER + json.dumps(report)
            if line == self._last:
                return
            self._last = line
        print(line, flush=True)
