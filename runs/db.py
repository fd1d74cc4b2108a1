"""Database calls from async code.

`database_sync_to_async` defaults to thread_sensitive=True, which runs every call of
the process in ONE thread: runs starting at once then wait for each other's queries,
and their streams with them. Our service calls are each
self-contained (one transaction, no thread-bound state), so they may run in the
loop's thread pool, each thread with its own connection.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.db import close_old_connections, connections
from django.db.utils import Error

# How long a thread's connections are trusted after their last check (age, errors, health check).
TIDY_SECONDS = 1.0
_tidied = threading.local()


class DatabaseCall(SyncToAsync):
    """channels' database_sync_to_async, tidying a thread's persistent connections at most once a second.

    channels runs close_old_connections() before and after every call, and with CONN_HEALTH_CHECKS
    each one marks the connection for a `SELECT 1` at its next use: one more round trip to PostgreSQL
    on every call (every stored message). A thread whose connections were checked within the last
    second uses them as they are; a call that failed on the database makes the next one check first.
    """

    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        persistent = _persistent()
        now = time.monotonic()
        if not persistent or now - getattr(_tidied, "at", float("-inf")) >= TIDY_SECONDS:
            close_old_connections()
            _tidied.at = now
        try:
            return super().thread_handler(loop, *args, **kwargs)
        except Error:
            _tidied.at = float("-inf")  # a connection that failed is checked before it is used again
            raise
        finally:
            if not persistent:
                close_old_connections()  # CONN_MAX_AGE = 0: the call's connection ends with it, as in channels


def _persistent() -> bool:
    return all(database.get("CONN_MAX_AGE", 0) != 0 for database in settings.DATABASES.values())


def db_call(fn: Callable[..., Any]) -> Any:
    return DatabaseCall(fn, thread_sensitive=False)


def close_request_thread_connections(**kwargs: Any) -> None:
    """request_finished: a request served by Django's ASGI handler ran its sync code on a thread made
    for that request alone (asgiref's ThreadSensitiveContext), which ends with it; its connection,
    persistent by CONN_MAX_AGE, stayed open until a garbage collection found it. A burst of 200
    arriving runs (200 REST creates) so held about 200 PostgreSQL connections and ran past
    max_connections. Closed here, a process holds one connection per request in flight."""
    context = SyncToAsync.thread_sensitive_context.get(None)
    if context is None:  # not under the ASGI handler (a WSGI server, the test client, a command)
        return
    executor = SyncToAsync.context_to_thread_executor.get(context)
    if executor is not None and threading.current_thread() in getattr(executor, "_threads", ()):
        connections.close_all()
