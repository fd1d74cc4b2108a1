"""db_call: service calls in the loop's thread pool, each thread with its own connection."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.db.utils import Error

from runs.db import db_call
from runs.models import Run

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def terminate(pid: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])


async def test_calls_in_one_thread_share_its_connection_and_replace_it_once_it_died(requires_postgres: None) -> None:
    loop = asyncio.get_running_loop()
    pool, other = ThreadPoolExecutor(1), ThreadPoolExecutor(1)
    loop.set_default_executor(pool)  # every call in the same thread, as a busy worker's calls mostly are
    try:
        first = await db_call(backend_pid)()
        assert await db_call(backend_pid)() == first
        await loop.run_in_executor(other, terminate, first)  # the server ends that thread's connection
        try:
            await db_call(backend_pid)()
        except Error:
            pass  # a call may find the dead connection; the one after it must not
        assert await db_call(backend_pid)() != first
    finally:
        for executor in (pool, other):
            await loop.run_in_executor(executor, connections.close_all)
            executor.shutdown(wait=True)


def test_a_statement_a_connection_runs_again_is_prepared(requires_postgres: None) -> None:
    """DB_PREPARED_STATEMENTS (on by default): parameters are bound by the server, so psycopg prepares a
    statement a connection has run 5 times and PostgreSQL parses and plans it once for that connection."""
    for run_id in range(1, 8):
        assert Run.objects.filter(id=run_id).values_list("status", flat=True).first() is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "runs_run" WHERE "runs_run"."id" = $1' in statement for statement in prepared), prepared
