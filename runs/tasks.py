"""Celery entry points only: load by id, call the async entry point the inline executor uses too."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from celery import Task, shared_task
from celery.result import AsyncResult
from django.conf import settings
from kombu.exceptions import OperationalError

from runs import execution, loops, recovery, services

logger = logging.getLogger(__name__)


async def _drive_in_own_loop(run_id: int, traceparent: str) -> None:
    try:
        await execution.drive(run_id, traceparent=traceparent)
    finally:
        await loops.aclose_loop_resources()


class _RunDispatch(Task):  # type: ignore[misc]
    """execute_run's publish. A broker that cannot take the run (Redis down) leaves it stored as
    queued and never handed out; the next sweep dispatches it. The caller runs after the commit that
    queued the run (an on_commit callback of a request), so an error here would answer a 500 for a
    run that exists: a client retrying it would start it twice."""

    def apply_async(self, args: Any = None, kwargs: Any = None, **options: Any) -> AsyncResult | None:
        try:
            return super().apply_async(args, kwargs, **options)
        except OperationalError as exc:
            run_id = args[0] if args else (kwargs or {})["run_id"]
            logger.warning("run %s: the broker did not take it (%s); it stays queued for the sweep", run_id, exc)
            services.run_dispatch_failed(run_id=run_id)
            return None


# Acknowledged when it starts, not when it ends: a worker that dies mid-run is covered by the run's
# lease and the sweep (seconds), while a late-acked message would come back only after the broker's
# visibility timeout (an hour), to find the run resumed or done. Held unacknowledged for a whole run,
# it also could not be acknowledged at all after a broker reconnect (playground/broker.py).
@shared_task(name="runs.execute_run", base=_RunDispatch, acks_late=False, ignore_result=True)
def execute_run(run_id: int, traceparent: str = "") -> None:
    """`traceparent` (W3C): the run's trace, so its spans from the web server and this worker are one trace."""
    if settings.RUN_WORKER_LOOP == "per_task":
        asyncio.run(_drive_in_own_loop(run_id, traceparent))
    else:
        loops.run_in_worker_loop(execution.drive(run_id, traceparent=traceparent))


@shared_task(name="runs.sweep_stale_runs", ignore_result=True)
def sweep_stale_runs() -> dict[str, int]:
    return recovery.sweep()
