"""Database calls from async code.

`database_sync_to_async` defaults to thread_sensitive=True, which runs every call of
the process in ONE thread: runs starting at once then wait for each other's queries,
and their streams with them. Our service calls are each
self-contained (one transaction, no thread-bound state), so they may run in the
loop's thread pool, each thread with its own connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from asgiref.sync import SyncToAsync
from channels.db import database_sync_to_async
from django.db import connections


def db_call(fn: Callable[..., Any]) -> Any:
    return database_sync_to_async(fn, thread_sensitive=False)


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
