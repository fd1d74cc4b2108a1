"""Hands a queued run to whoever executes it; only ever called after the transaction that queued it commits.

Celery: `execute_run.delay(run_id, traceparent)`, the run's trace context carried in the task. In-process
(the inline executor): a task on this process's inline loop (runs.loops).
A process that drives its runs itself (`run_team`) is only told.
"""

from __future__ import annotations

from runs import execution, loops
from runs.tasks import execute_run


def dispatch(run_id: int, traceparent: str = "") -> None:
    """`traceparent`: the trace the web server opened as it queued the run (none for a resume: the
    worker finds the run's trace in its stored spans)."""
    driver = loops.local_driver()
    if driver is not None:
        driver(run_id)
    elif loops.runs_in_celery():
        execute_run.delay(run_id, traceparent)
    else:
        loops.spawn_inline(execution.drive(run_id, traceparent=traceparent))
