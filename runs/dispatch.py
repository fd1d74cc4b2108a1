"""Hands queued runs to the configured executor and tells watchers and workers about stops.

`inline` (embedded): the run is an asyncio task on the web server's own event
loop, because InMemoryChannelLayer queues belong to one loop. Every task is
kept in `_tasks` so it is neither garbage-collected mid-run nor forgotten at
shutdown. Without a server loop (a management command, a sync test client) a
background loop thread stands in. `celery`: `execute_run.delay(run_id)`; this
module is only ever called after the transaction that queued the run commits.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from asgiref.sync import async_to_sync
from django.conf import settings

from runs import events

logger = logging.getLogger(__name__)

_tasks: set[asyncio.Task[Any]] = set()
_server_loop: asyncio.AbstractEventLoop | None = None
_fallback_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Called from the ASGI app on each connection: inline runs go onto the serving loop."""
    global _server_loop
    if _server_loop is loop:
        return
    with _lock:
        first = _server_loop is None or _server_loop.is_closed()
        _server_loop = loop
    if first and settings.RUN_EXECUTOR == "inline":
        from runs import recovery

        _spawn(loop, recovery.sweep_forever())


_local_driver: Callable[[int], None] | None = None


@contextmanager
def driven_here(note: Callable[[int], None]) -> Iterator[None]:
    """A process that drives its runs itself (`run_team`): dispatches are handed to `note` instead."""
    global _local_driver
    previous, _local_driver = _local_driver, note
    try:
        yield
    finally:
        _local_driver = previous


def dispatch(run_id: int) -> None:
    if _local_driver is not None:
        _local_driver(run_id)
        return
    if settings.RUN_EXECUTOR == "celery":
        from runs.tasks import execute_run

        execute_run.delay(run_id)
        return
    from runs import execution

    _spawn(_inline_loop(), execution.drive(run_id))


def _inline_loop() -> asyncio.AbstractEventLoop:
    global _fallback_loop
    if _server_loop is not None and not _server_loop.is_closed() and _server_loop.is_running():
        return _server_loop
    with _lock:
        if _fallback_loop is None or _fallback_loop.is_closed():
            _fallback_loop = asyncio.new_event_loop()
            threading.Thread(target=_fallback_loop.run_forever, name="inline-runs", daemon=True).start()
        return _fallback_loop


def _spawn(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> None:
    # A fresh context: the caller may be asgiref's sync thread, whose context vars would
    # make the run's own database_sync_to_async calls think they are nested in it.
    def start() -> None:
        task = loop.create_task(coro, context=contextvars.Context())
        _tasks.add(task)
        task.add_done_callback(_done)

    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        start()
    else:
        loop.call_soon_threadsafe(start, context=contextvars.Context())


def _done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("a background run task or announcement failed", exc_info=task.exception())


async def cancel_inline_runs() -> None:
    """Shutdown: cancel every inline task; their runs keep their lease and the sweep resumes them."""
    tasks = [t for t in _tasks if not t.done()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def announce_stop(run_id: int, status: str) -> None:
    """After run_request_stop: wake the worker (two-phase) or tell watchers the run has stopped."""
    from runs import execution

    if status == "stopping":
        await events.signal_stop(run_id)
        await execution.publish_status(run_id)
    else:
        await execution.publish_final(run_id)


def announce_from_sync(coro: Coroutine[Any, Any, None]) -> None:
    """Run an announcement from sync code on the loop that owns the channel layer's queues.

    The in-memory layer belongs to the inline executor's loop: a send from any other
    loop would touch its queues from the wrong thread. Redis layers work from any loop; in the web
    server the serving loop takes it without the caller waiting, elsewhere the caller waits.
    """
    in_memory = "InMemoryChannelLayer" in str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    if settings.RUN_EXECUTOR == "inline" and in_memory:
        _spawn(_inline_loop(), coro)
        return
    loop = _server_loop
    if loop is not None and loop.is_running():
        # In the web server: the serving loop publishes it and the request's thread goes on. Waiting
        # for that publish cost every run start a round trip between threads (measured: ~1 ms of CPU).
        _spawn(loop, coro)
        return

    async def run() -> None:
        await coro

    async_to_sync(run)()


def notify_stop(run_id: int, status: str) -> None:
    announce_from_sync(announce_stop(run_id, status))


async def announce_message(run_id: int, frame: dict[str, Any], with_status: bool) -> None:
    """A message stored outside a worker (the task, a human's answer): watchers get it live, so none
    of them has a gap to fill from the database when the worker's first frame arrives. After an
    answer (`with_status`) they also see the run queued again."""
    from runs import execution

    await events.publish(run_id, frame)
    if with_status:
        await execution.publish_status(run_id)


def notify_message(run_id: int, frame: dict[str, Any], with_status: bool) -> None:
    announce_from_sync(announce_message(run_id, frame, with_status))
