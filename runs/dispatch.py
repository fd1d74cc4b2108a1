"""Hands a queued run to whoever executes it; only ever called after the transaction that queued it commits.

Celery: `execute_run.delay(run_id, traceparent)`, the run's trace context carried in the task. In-process
(the inline executor): a task on this process's inline loop (runs.loops).
A process that drives its runs itself (`run_team`) is only told.
"""

from __future__ import annotations

import logging
import threading

from runs import execution, loops
from runs.tasks import execute_run

logger = logging.getLogger(__name__)


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


def warm_up_publisher() -> None:
    """Pay the first publish's one-off costs at start-up: finalizing the Celery app, importing the
    broker transport, connecting to it and declaring the queue took about 0.1 s of a web server's
    CPU on the thread of its first `start`, in the middle of the burst of runs arriving with it.
    On a thread of its own, so a broker that is down (retried for seconds) does not hold up start-up."""
    if loops.runs_in_celery():
        threading.Thread(target=_declare_queue, name="publisher-warm-up", daemon=True).start()


def _declare_queue() -> None:
    app = execute_run.app
    try:
        with app.producer_or_acquire() as producer:
            producer.maybe_declare(app.amqp.queues[app.conf.task_default_queue])
    except Exception as exc:  # the first run's start connects instead
        logger.warning("could not reach the broker at start-up (%s); the first start connects", exc)
