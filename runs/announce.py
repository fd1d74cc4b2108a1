"""Telling a run's watchers what happened to it, from async code or after a sync transaction commits.

The worker streams its own run through its pipe (runs.pipe); everything else a watcher hears
goes out here: a status change, a message stored outside the worker (the task, a human's
answer), a stop, and the final frames. Each is read from the database, which is the truth:
stored first, announced second.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction

from runs import events, loops
from runs.db import db_call
from runs.models import TERMINAL_STATUSES, Message, Run, RunStatus
from webhooks.services import has_after_work, run_finished

logger = logging.getLogger(__name__)


@dataclass
class Ending:
    """How a run ended, as its watchers are told: the run, its transcript, and whether hooks are due."""

    run: Run
    messages: list[Message]
    after_work: bool


def read_ending(run_id: int, run: Run | None = None, messages: list[Message] | None = None) -> Ending:
    """The ending of a run (sync); the run and its transcript are read unless the caller has them."""
    if run is None:
        run = Run.objects.get(id=run_id)
    if messages is None:
        messages = list(run.messages.order_by("seq"))
    return Ending(run=run, messages=messages, after_work=run.is_terminal and has_after_work(run))


# ------------------------------------------------------------------ from async code


async def announce_status(run_id: int, reason: str = "") -> None:
    """The run's status, and its input request when it is waiting for one."""
    run = await db_call(Run.objects.get)(id=run_id)
    await events.publish(run_id, events.status_frame(run, reason))
    if run.status == RunStatus.AWAITING_INPUT:
        await events.publish(run_id, events.input_request_frame(run))


async def announce_final(run_id: int, ending: Ending | None = None) -> None:
    """A run ended: its status, then `result` or `completion`; then its hooks, if it has any."""
    ending = ending or await db_call(read_ending)(run_id)
    try:
        await events.publish(run_id, events.status_frame(ending.run))
        await events.publish(run_id, events.final_frame(ending.run, ending.messages))
    except Exception as exc:  # the end is stored: watchers read it once their layer is back (runs.consumers)
        logger.warning("run %s: could not tell its watchers it ended: %s", run_id, exc)
    if ending.after_work:
        run_finished(run_id)  # hooks and webhooks: scheduled on a background thread, never awaited


async def announce_message(run_id: int, frame: dict[str, Any], *, with_status: bool) -> None:
    """A message stored outside a worker (the task, a human's answer): watchers get it live, so none
    of them has a gap to fill from the database when the worker's first frame arrives. After an
    answer (`with_status`) they also see the run queued again."""
    await events.publish(run_id, frame)
    if with_status:
        await announce_status(run_id)


async def announce_stop(run_id: int, status: str) -> None:
    """After a stop request moved the run to `status`: wake its worker (two-phase) or tell watchers it stopped."""
    if status == RunStatus.STOPPING:
        await events.signal_stop(run_id)
        await announce_status(run_id)
    else:
        await announce_final(run_id)


# ------------------------------------------------------------------ from sync code, once the transaction commits


def announce_status_after_commit(run_id: int, reason: str = "") -> None:
    _after_commit(lambda: announce_status(run_id, reason))


def announce_outcome_after_commit(run_id: int, status: str, reason: str = "") -> None:
    """The final frames if `status` ends the run, else the status (and why, when the server moved it)."""
    if status in TERMINAL_STATUSES:
        _after_commit(lambda: announce_final(run_id))
    else:
        _after_commit(lambda: announce_status(run_id, reason))


def announce_message_after_commit(run_id: int, message: Message, *, with_status: bool) -> None:
    frame = events.message_frame(message)
    _after_commit(lambda: announce_message(run_id, frame, with_status=with_status))


def announce_stop_after_commit(run_id: int, status: str) -> None:
    _after_commit(lambda: announce_stop(run_id, status))


def _after_commit(announcement: Callable[[], Coroutine[Any, Any, None]]) -> None:
    # Outside a transaction on_commit runs at once. The coroutine is made only then: a rolled-back
    # transaction leaves nothing un-awaited behind.
    transaction.on_commit(lambda: _run_from_sync(announcement()))


def _run_from_sync(coro: Coroutine[Any, Any, None]) -> None:
    """Run an announcement from sync code on the loop that owns the channel layer's queues.

    The in-memory layer belongs to the inline executor's loop: a send from any other loop would
    touch its queues from the wrong thread. Redis layers work from any loop; in the web server the
    serving loop takes it without the caller waiting, elsewhere the caller waits.
    """
    in_memory = "InMemoryChannelLayer" in str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    if in_memory and not loops.runs_in_celery():
        loops.spawn_inline(coro)
        return
    loop = loops.serving_loop()
    if loop is not None:
        # In the web server: the serving loop publishes it and the request's thread goes on; waiting
        # for the publish would cost every run start a round trip between threads.
        loops.spawn(loop, coro)
        return

    async def run() -> None:
        await coro

    async_to_sync(run)()
