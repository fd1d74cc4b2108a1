"""PostgreSQL housekeeping for tests that start server processes against the test database."""

from __future__ import annotations

from asgiref.sync import SyncToAsync
from django.db import connection, connections


def drop_other_connections() -> None:
    """End every other session on the test database so it can be flushed and dropped.

    That includes this process's own sync_to_async thread, whose Django connection would then be dead
    for the next test that uses it ("terminating connection due to administrator command"): close it
    there, so that thread opens a fresh one.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
