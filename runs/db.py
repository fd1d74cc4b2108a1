"""Database calls from async code.

`database_sync_to_async` defaults to thread_sensitive=True, which runs every call of
the process in ONE thread: runs starting at once then wait for each other's queries,
and their streams with them. Our service calls are each
self-contained (one transaction, no thread-bound state), so they may run in the
loop's thread pool, each thread with its own connection.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from channels.db import database_sync_to_async


def db_call(fn: Callable[..., Any]) -> Any:
    return database_sync_to_async(fn, thread_sensitive=False)
