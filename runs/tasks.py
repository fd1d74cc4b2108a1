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


@shared_task(name="runs.execute_run", acks_late=True, ignore_result=True)
def execute_run(run_id: int) -> None:
    if settings.RUN_WORKER_LOOP == "per_task":
        asyncio.run(_drive_in_own_loop(run_id))
    else:
        loops.run_in_worker_loop(execution.drive(run_id))


@shared_task(name="runs.sweep_stale_runs", ignore_result=True)
def sweep_stale_runs() -> dict[str, int]:
    return recovery.sweep()
