"""One event loop per worker process, shared by every run the process drives.

Celery's thread pool gives each task a thread; `asyncio.run` in each would give
every run its own loop, its own HTTP client (TLS context, connection pool) and
its own Redis connection, and 50 loops in 50 threads contend for the GIL on
every token (measured: p99 token latency above 1 s at 50 runs of 200 tokens/s).
Here the task thread submits the run to this loop and waits for it, so the
pool still bounds how many runs a worker drives and acks stay late.
RUN_WORKER_LOOP=per_task restores `asyncio.run` per task.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any

_loop: asyncio.AbstractEventLoop | None = None
_lock = threading.Lock()


def shared_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="runs-loop", daemon=True).start()
        return _loop


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The shared loop if this process started one and it still runs."""
    loop = _loop
    return loop if loop is not None and loop.is_running() else None


def run_in_shared_loop(coro: Coroutine[Any, Any, None]) -> None:
    """Block the calling (Celery pool) thread until `coro` finishes on the shared loop."""
    asyncio.run_coroutine_threadsafe(coro, shared_loop()).result()
