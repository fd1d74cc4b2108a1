"""Celery worker lifecycle: heartbeats for /api/health, and a graceful shutdown that hands runs back.

On SIGTERM (warm shutdown) Celery waits for running tasks, and a run can last minutes. So
`worker_shutting_down` releases the lease of every run this process drives (running ->
queued) and tells its execution to stop without publishing an outcome; its task then ends at
once. The runs are dispatched again from `worker_shutdown`, once this worker has stopped
consuming (dispatching earlier hands them straight back to this same worker), and another
worker resumes each from its stored transcript. Nothing already stored is lost; if the
process dies before `worker_shutdown`, the sweep re-dispatches the queued runs later.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from celery.signals import worker_ready, worker_shutdown, worker_shutting_down
from django.conf import settings
from django.db import connections

from playground.celery import app

logger = logging.getLogger(__name__)
shutting_down = threading.Event()
released: list[int] = []

app.add_periodic_task(
    settings.WORKER_HEARTBEAT_INTERVAL_SECONDS, app.signature("ops.worker_heartbeat"), name="ops.worker_heartbeat"
)


@worker_ready.connect
def _first_heartbeat(sender: Any = None, **kwargs: Any) -> None:
    from ops.heartbeat import beat

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
    shutting_down.set()
    try:
        released.extend(release_active_runs())
        if released:
            logger.warning("shutting down: released runs %s; they are re-dispatched once this worker stops", released)
    finally:
        connections.close_all()


@worker_shutdown.connect
def _redispatch_released(sender: Any = None, **kwargs: Any) -> None:
    from runs import dispatch

    for run_id in released:
        try:
            dispatch.dispatch(run_id)
        except Exception:
            logger.exception("run %s: could not re-dispatch; the sweep will", run_id)
    released.clear()
    _close_model_clients()


def _close_model_clients() -> None:
    """Close the shared loop's HTTP sessions to model servers (aiohttp complains about any left open)."""
    import asyncio

    from agents_app.engine import aclose_model_clients
    from runs import worker_loop

    loop = worker_loop.running_loop()
    if loop is None:
        return
    try:
        asyncio.run_coroutine_threadsafe(aclose_model_clients(), loop).result(timeout=5)
    except Exception:
        logger.warning("could not close the model clients at shutdown", exc_info=True)


def release_active_runs() -> list[int]:
    from asgiref.sync import async_to_sync

    from runs import execution, services
    from runs.models import Run

    handed_back = []
    for run_id, (active, _loop) in list(execution.ACTIVE.items()):
        holder = Run.objects.filter(id=run_id).values_list("lease_owner", flat=True).first()
        if holder != active.worker:
            continue
        active.lost_lease = True  # its _finish must not publish an outcome for a run handed back
        if not services.run_release_lease(run_id=run_id, worker=active.worker):
            active.lost_lease = False  # it finished or moved meanwhile: let it end normally
            continue
        active.cancel.cancel("worker shutting down")  # thread-safe: the run's loop is in another thread
        async_to_sync(execution.publish_status)(run_id)
        handed_back.append(run_id)
    return handed_back
