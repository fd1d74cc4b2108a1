"""In-process background jobs for the inline executor (and for scheduling in every mode).

Jobs run on a small thread pool so nothing waits for them: not the run's final frame, not
the web server's event loop. A delayed job (a webhook retry) waits on a daemon timer, so a
pending retry never keeps a process from exiting. Every job closes its thread's database
connections when it ends. `wait_idle` lets tests and `run_team` wait for the jobs they caused.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connections

logger = logging.getLogger(__name__)

_lock = threading.Condition()
_pending = 0
_pool: ThreadPoolExecutor | None = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="after-run")
        return _pool


def submit(fn: Callable[..., Any], *args: Any, delay: float = 0.0) -> None:
    global _pending
    with _lock:
        _pending += 1
    if delay > 0:
        timer = threading.Timer(delay, _start, (fn, args))
        timer.daemon = True
        timer.start()
    else:
        _start(fn, args)


def _start(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        _executor().submit(_run, fn, args)
    except RuntimeError:  # interpreter shutting down: the pool refuses new work
        _finished()


def _run(fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        fn(*args)
    except Exception:
        logger.exception("background job %s failed", getattr(fn, "__qualname__", fn))
    finally:
        connections.close_all()
        _finished()


def _finished() -> None:
    global _pending
    with _lock:
        _pending -= 1
        _lock.notify_all()


def wait_idle(timeout: float | None = None) -> bool:
    """Block until no job is running or scheduled; False if `timeout` passed first."""
    with _lock:
        return _lock.wait_for(lambda: _pending == 0, timeout)
