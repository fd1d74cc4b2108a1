"""Where this process runs things: its event loops, their threads, and whether runs go to Celery.

- The serving loop: Daphne's, bound when the server starts (playground.asgi). Inline runs and
  announcements live on it, because the in-memory channel layer's queues belong to one loop.
- A stand-in loop thread ("inline-runs") when there is no serving loop (a management command, a
  sync test client).
- The worker loop ("runs-loop"): one per Celery worker process, shared by every run it drives, so
  runs share one HTTP client and one Redis connection instead of contending for the GIL from a loop
  each. The task's pool thread waits for its run, so the pool still bounds how many runs a worker
  drives (RUN_WORKER_LOOP=per_task gives each task its own `asyncio.run`).

Every task started here is kept until it ends, so none is garbage-collected mid-run or forgotten
at shutdown.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

from agents_app.engine import aclose_mcp_sessions, aclose_model_clients

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_tasks: set[asyncio.Task[Any]] = set()
_serving_loop: asyncio.AbstractEventLoop | None = None
_stand_in_loop: asyncio.AbstractEventLoop | None = None
_worker_loop: asyncio.AbstractEventLoop | None = None
_local_driver: Callable[[int], None] | None = None

# ------------------------------------------------------------------ Celery or in-process


def runs_in_celery() -> bool:
    """The one answer to "Celery or in-process": runs and after-run work go to Celery workers, or stay here."""
    return _local_driver is None and settings.RUN_EXECUTOR == "celery"


@contextmanager
def driven_here(note: Callable[[int], None]) -> Iterator[None]:
    """A process that drives its runs itself (`run_team`): dispatches are handed to `note`, and
    everything else a run causes (announcements, after-run hooks) stays in this process."""
    global _local_driver
    previous, _local_driver = _local_driver, note
    try:
        yield
    finally:
        _local_driver = previous


def local_driver() -> Callable[[int], None] | None:
    return _local_driver


# ------------------------------------------------------------------ the serving loop (inline executor)


def bind_server_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Inline runs and announcements go onto the serving loop (the server binds it when it starts)."""
    global _serving_loop
    if _serving_loop is loop:
        return
    with _lock:
        _serving_loop = loop


def serving_loop() -> asyncio.AbstractEventLoop | None:
    """The serving loop while it runs; None outside a web server."""
    loop = _serving_loop
    return loop if loop is not None and not loop.is_closed() and loop.is_running() else None


def inline_loop() -> asyncio.AbstractEventLoop:
    """The loop inline runs go to: the serving loop, or a stand-in loop thread without one."""
    global _stand_in_loop
    loop = serving_loop()
    if loop is not None:
        return loop
    with _lock:
        if _stand_in_loop is None or _stand_in_loop.is_closed():
            _stand_in_loop = asyncio.new_event_loop()
            threading.Thread(target=_stand_in_loop.run_forever, name="inline-runs", daemon=True).start()
        return _stand_in_loop


def spawn(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]) -> None:
    """Start `coro` as a task on `loop`, from that loop or from any thread, and keep it until it ends."""

    # A fresh context: the caller may be asgiref's sync thread, whose context vars would
    # make the task's own database_sync_to_async calls think they are nested in it.
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


def spawn_inline(coro: Coroutine[Any, Any, None]) -> None:
    spawn(inline_loop(), coro)


def _done(task: asyncio.Task[Any]) -> None:
    _tasks.discard(task)
    if not task.cancelled() and task.exception() is not None:
        logger.error("a background run task or announcement failed", exc_info=task.exception())


def inline_status() -> dict[str, Any]:
    """What /api/health reports about the inline executor."""
    loop = _serving_loop
    return {
        "active_runs": sum(1 for task in _tasks if not task.done()),
        "server_loop_bound": loop is not None and not loop.is_closed(),
    }


# ------------------------------------------------------------------ the worker loop (Celery)


def worker_loop() -> asyncio.AbstractEventLoop:
    global _worker_loop
    with _lock:
        if _worker_loop is None or _worker_loop.is_closed():
            _worker_loop = asyncio.new_event_loop()
            threading.Thread(target=_worker_loop.run_forever, name="runs-loop", daemon=True).start()
        return _worker_loop


def worker_loop_running() -> bool:
    """Whether this process started the worker loop and it still runs."""
    loop = _worker_loop
    return loop is not None and loop.is_running()


def run_in_worker_loop(coro: Coroutine[Any, Any, None], timeout: float | None = None) -> None:
    """Block the calling (Celery pool) thread until `coro` finishes on the worker loop."""
    asyncio.run_coroutine_threadsafe(coro, worker_loop()).result(timeout)


# ------------------------------------------------------------------ what runs leave open on a loop


async def aclose_loop_resources() -> None:
    """Close what the runs of the running loop share: model HTTP clients and MCP sessions (whose stdio
    servers are child processes of this one). Call when the loop's work ends."""
    results = await asyncio.gather(aclose_model_clients(), aclose_mcp_sessions(), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            logger.warning("closing a loop's clients failed", exc_info=result)


def close_worker_loop_resources(timeout: float = 15.0) -> None:
    """A Celery worker shutting down: close the worker loop's clients and stop its MCP servers."""
    if worker_loop_running():
        run_in_worker_loop(aclose_loop_resources(), timeout=timeout)
