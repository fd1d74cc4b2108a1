"""What an arriving run costs the database: a constant number of queries to create, start, claim and end
it whatever the owner's history; runs arriving together each start once."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs import execution, services
from runs.models import Run, RunStatus
from tests.runs.conftest import gallery_config, in_threads

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_dispatch(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Queued runs are noted, not handed to an executor: the test drives the worker's steps itself."""
    from runs import dispatch

    queued: list[int] = []
    monkeypatch.setattr(dispatch, "dispatch", lambda run_id, traceparent="": queued.append(run_id))
    return queued


def lifecycle_queries(owner: Any, config: dict[str, Any]) -> dict[str, int]:
    """Queries of each step of one run, create to end, as the web server and the worker make them."""
    counts: dict[str, int] = {}
    with CaptureQueriesContext(connection) as create:
        run = services.run_create(owner=owner, team_config=config)
    counts["create"] = len(create)
    with CaptureQueriesContext(connection) as start:
        services.run_start(run_id=run.id, task="hello")
    counts["start"] = len(start)
    with CaptureQueriesContext(connection) as claim:
        loaded = execution._claim_and_load(run.id, "w1", 30.0, "")
    assert loaded is not None and loaded.run.status == RunStatus.RUNNING
    counts["claim"] = len(claim)
    with CaptureQueriesContext(connection) as end:
        ended = execution._end(
            run.id, services.run_complete, loaded.messages, loaded.telemetry, stop_reason="done", usage={}
        )
    assert ended is not None and Run.objects.get(id=run.id).status == RunStatus.COMPLETE
    counts["end"] = len(end)
    return counts


@pytest.mark.usefixtures("no_dispatch")
def test_a_run_costs_the_same_queries_however_many_runs_its_owner_has(alice: Any) -> None:
    config = gallery_config("long_story")
    first = lifecycle_queries(alice, config)
    for _ in range(20):
        services.run_create(owner=alice, team_config=config)  # history that must not be read
    later = lifecycle_queries(alice, config)
    assert later == first
    # Written down so that a query added to the path of every run is a decision, not an accident.
    # PostgreSQL's start takes the owner's start lock (services._count_owners_active_runs) and
    # stores the task in one statement where SQLite takes two (services.message_append).
    assert first == {"create": 1, "start": 8, "claim": 4, "end": 2}


@pytest.mark.usefixtures("no_dispatch")
def test_runs_created_and_started_at_once_each_start_once(alice: Any) -> None:
    config = gallery_config("long_story")

    def arrive(i: int) -> int:
        run = services.run_create(owner=alice, team_config=config)
        services.run_start(run_id=run.id, task=f"task {i}")
        return run.id

    ids = in_threads(8, arrive)  # under the per-user cap of active runs (10)
    assert all(isinstance(i, int) for i in ids), ids
    runs = Run.objects.filter(id__in=ids)
    assert sorted(r.status for r in runs) == [RunStatus.QUEUED] * 8
    assert all(r.last_seq == 1 for r in runs)


def test_celery_reads_its_configuration_from_a_plain_copy_of_the_celery_settings() -> None:
    """Every CELERY_* setting reaches Celery under its own name (a publish looks several up)."""
    from django.conf import settings

    from playground.celery import CelerySettings, app

    copied = CelerySettings()
    names = [name for name in dir(settings) if name.startswith("CELERY_")]
    assert sorted(copied) == sorted(names) and len(names) > 5
    for name in names:
        assert copied[name] == getattr(settings, name)
        assert app.conf[name.removeprefix("CELERY_").lower()] == getattr(settings, name), name


@pytest.mark.usefixtures("no_dispatch")
def test_starts_racing_past_the_cap_of_active_runs_are_refused(alice: Any, settings: Any) -> None:
    settings.RUN_MAX_ACTIVE_PER_USER = 4
    config = gallery_config("long_story")
    ids = [services.run_create(owner=alice, team_config=config).id for _ in range(7)]
    results = in_threads(7, lambda i: services.run_start(run_id=ids[i], task=f"task {i}"))
    refused = [r for r in results if isinstance(r, services.TooManyActiveRuns)]
    assert len(refused) == 3, results  # each start counted after the ones before it committed
    assert Run.objects.filter(id__in=ids, status=RunStatus.QUEUED).count() == 4


@pytest.mark.services
def test_a_web_server_connects_its_publisher_before_the_first_start(settings: Any) -> None:
    import threading

    from runs import dispatch
    from runs.tasks import execute_run

    settings.RUN_EXECUTOR = "celery"
    before = set(threading.enumerate())
    dispatch.warm_up_publisher()
    for thread in set(threading.enumerate()) - before:  # its own thread: start-up does not wait on the broker
        assert thread.name == "publisher-warm-up"
        thread.join(30)
    with execute_run.app.producer_or_acquire() as producer:  # the pool's connection, as the first start takes it
        assert producer.connection.connected
        assert producer.connection.declared_entities  # the run queue, declared once per connection


@pytest.mark.services
def test_publishes_on_a_broker_channel_share_one_redis_client(settings: Any) -> None:
    from runs.tasks import execute_run

    settings.RUN_EXECUTOR = "celery"
    with execute_run.app.producer_or_acquire() as producer:
        channel = producer.channel
        with channel.conn_or_acquire() as first, channel.conn_or_acquire() as second:
            assert first is second  # not a client made for each task published
            assert first.ping()
        channel._disconnect_pools()  # what kombu does on a lost connection: the next client is the new pool's
        with channel.conn_or_acquire() as after:
            assert after is not first and after.connection_pool is channel.pool
            assert after.ping()


def test_a_process_whose_runs_stay_in_it_warms_no_publisher(settings: Any) -> None:
    import threading

    from runs import dispatch

    settings.RUN_EXECUTOR = "inline"
    before = set(threading.enumerate())
    dispatch.warm_up_publisher()
    assert set(threading.enumerate()) - before == set()


async def _get(app: Any, path: str, token: str) -> int:
    from asgiref.testing import ApplicationCommunicator

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "query_string": b"",
        "headers": [(b"authorization", f"Bearer {token}".encode()), (b"host", b"127.0.0.1")],
        "http_version": "1.1",
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1),
    }
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(10)
    await communicator.receive_output(10)  # the body
    await communicator.wait(10)
    return int(start["status"])


def _bursts(token: str, bursts: int, size: int) -> tuple[list[list[int]], list[tuple[str, int]]]:
    """`bursts` bursts of `size` concurrent GET /api/runs through the server's ASGI handler, one after the other:
    their statuses, and for each connection opened meanwhile its thread's name and how many were open then
    (for each request_started signal, its thread's name and -1)."""
    import asyncio
    import threading

    from django.core.signals import request_started
    from django.db.backends.signals import connection_created

    from playground.middleware import RequestHandler

    opened: dict[int, Any] = {}  # each thread's wrapper once, however often it reconnects
    notes: list[tuple[str, int]] = []

    def note(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened[id(connection)] = connection
        notes.append((threading.current_thread().name, sum(1 for w in opened.values() if w.connection is not None)))

    def started(sender: Any, **kwargs: Any) -> None:
        notes.append((threading.current_thread().name, -1))

    async def burst() -> list[int]:
        app = RequestHandler()  # what playground.asgi serves
        return await asyncio.gather(*(_get(app, "/api/runs", token) for _ in range(size)))

    connection_created.connect(note)
    request_started.connect(started)
    try:
        return [asyncio.run(burst()) for _ in range(bursts)], notes
    finally:
        connection_created.disconnect(note)
        request_started.disconnect(started)
        if connection.vendor == "postgresql":  # the pool's threads keep theirs; the test database must go
            from tests.support.pg import drop_other_connections

            drop_other_connections()


def test_a_burst_of_requests_holds_at_most_the_limit_of_connections(alice_token: str, settings: Any) -> None:
    """Requests past WEB_MAX_CONCURRENT_REQUESTS wait for one of the pool's threads, before taking a connection;
    the threads keep theirs for the next requests when connections persist (PostgreSQL here, CONN_MAX_AGE 60)."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEB_MAX_CONCURRENT_REQUESTS = 3
    Run.objects.exists()  # this thread's connection, which must stay open
    statuses, notes = _bursts(alice_token, bursts=2, size=12)
    assert statuses == [[200] * 12] * 2
    opened = [(name, open_now) for name, open_now in notes if open_now >= 0]
    assert opened, "the requests reached the database"
    assert all(name.startswith("web-request") for name, _ in opened), opened  # not a thread made per request
    assert max(open_now for _, open_now in opened) <= 3, opened
    if connection.settings_dict["CONN_MAX_AGE"]:
        assert len(opened) <= 3, opened  # 24 requests, each thread's connection opened once
    signalled = {name for name, open_now in notes if open_now < 0}
    assert len(signalled) == 1, signalled  # the signals' receivers: one thread for all, none made per request
    assert connection.connection is not None


def test_without_a_limit_each_request_closes_its_own_connection(alice_token: str, settings: Any) -> None:
    """WEB_MAX_CONCURRENT_REQUESTS 0: Django's own thread per request, whose connection closes as it finishes
    (runs.db.close_request_thread_connections); the caller's stays."""
    settings.ALLOWED_HOSTS = ["127.0.0.1"]
    settings.WEB_MAX_CONCURRENT_REQUESTS = 0
    Run.objects.exists()
    opened: list[Any] = []
    from django.db.backends.signals import connection_created

    def note(sender: Any, connection: Any, **kwargs: Any) -> None:
        opened.append(connection)

    connection_created.connect(note)
    try:
        statuses, _ = _bursts(alice_token, bursts=1, size=10)
    finally:
        connection_created.disconnect(note)
    assert statuses == [[200] * 10]
    assert opened, "the requests reached the database"
    assert all(wrapper.connection is None for wrapper in opened)
    assert connection.connection is not None


def test_a_created_run_answers_as_it_is_stored(alice_token: str) -> None:
    """POST /api/runs without a task answers the run as saved, without reading it back: the same as GET."""
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {alice_token}")
    config = gallery_config("long_story")
    created = client.post("/api/runs", {"team_config": config}, content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body.pop("ws_url") == f"/runs/{body['id']}"
    assert body == client.get(f"/api/runs/{body['id']}").json()
    assert body["status"] == "created" and body["started_at"] is None
