"""Celery worker lifecycle: heartbeats for /api/health, and a graceful shutdown that hands runs back.

On SIGTERM (warm shutdown) Celery waits for running tasks, and a run can last minutes. So
`worker_shutting_down` hands back every run this process drives (running -> queued, its
execution cancelled without an outcome); its task then ends at once. The runs are dispatched
again from `worker_shutdown`, once this worker has stopped consuming (dispatching earlier hands
them straight back to this same worker), and another worker resumes each from its stored
transcript. Nothing already stored is lost; if the process dies before `worker_shutdown`, the
sweep re-dispatches the queued runs later.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.signals import worker_ready, worker_shutdown, worker_shutting_down
from django.db import connections

from ops.heartbeat import beat
from runs import loops

# The run executor (and the model SDKs under it) is imported in the handlers: this module loads in
# every process with the ops app (manage.py commands, the web server), not only in workers.

logger = logging.getLogger(__name__)
released: list[int] = []


@worker_ready.connect
def _first_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    try:
        beat(str(getattr(sender, "hostname", None) or "worker"))
    except Exception:
        logger.exception("could not write the worker's first heartbeat")
    finally:
        connections.close_all()


@worker_ready.connect
def _warm_up(sender: Any = None, **kwargs: Any) -> None:
    from runs.warmup import warm_up

    warm_up()


@worker_shutting_down.connect
def _release_runs(sig: Any = None, how: Any = None, exitcode: Any = None, **kwargs: Any) -> None:
    from runs.execution import hand_back_active_runs

    try:
        released.extend(hand_back_active_runs("worker shutting down"))
        if released:
            logger.warning("shutting down: released runs %s; they are re-dispatched once this worker stops", released)
    finally:
        connections.close_all()


@worker_shutdown.connect
def _redispatch_released(sender: Any = None, **kwargs: Any) -> None:
    from runs.dispatch import dispatch

    for run_id in released:
        try:
            dispatch(run_id)
        except Exception:
            logger.exception("run %s: could not re-dispatch; the sweep will", run_id)
    released.clear()
    _close_loop_resources()


def _close_loop_resources() -> None:
    """Close the worker loop's HTTP sessions to model servers (aiohttp complains about any left open)
    and its MCP sessions, whose stdio servers must not outlive the worker."""
    try:
        loops.close_worker_loop_resources()
    except Exception:
        logger.warning("could not close the worker loop's clients at shutdown", exc_info=True)
