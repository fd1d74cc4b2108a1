"""Celery entry points only: load by id, call the async entry point the inline executor uses too."""

from __future__ import annotations

import asyncio

from celery import shared_task
from django.conf import settings

from agents_app.engine import aclose_model_clients
from runs import execution, loops, recovery


async def _drive_in_own_loop(run_id: int) -> None:
    try:
        await execution.drive(run_id)
    finally:
        await aclose_model_clients()


# Acknowledged when it starts, not when it ends: a worker that dies mid-run is covered by the run's
# lease and the sweep (seconds), while a late-acked message would come back only after the broker's
# visibility timeout (an hour), to find the run resumed or done. Held unacknowledged for a whole run,
# it also could not be acknowledged at all after a broker reconnect (playground/broker.py).
@shared_task(name="runs.execute_run", acks_late=False, ignore_result=True)
def execute_run(run_id: int) -> None:
    if settings.RUN_WORKER_LOOP == "per_task":
        asyncio.run(_drive_in_own_loop(run_id))
    else:
        loops.run_in_worker_loop(execution.drive(run_id))


@shared_task(name="runs.sweep_stale_runs", ignore_result=True)
def sweep_stale_runs() -> dict[str, int]:
    return recovery.sweep()
