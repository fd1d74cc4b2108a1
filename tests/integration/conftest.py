from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from tests.integration.stack import OwnRedis, Stack
from tests.support.fake_openai import FakeOpenAIThread
from tests.support.otlp_receiver import OtlpReceiver
from tests.support.pg import drop_other_connections


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.services)


# The session stack, once a test has started it: it shares the test database with every other stack.
SESSION_STACKS: list[Stack] = []


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    """The session stack's OpenTelemetry collector: every process of it exports its spans here."""
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture(scope="session")
def stack(
    django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: pytest.TempPathFactory, otlp: OtlpReceiver
) -> Iterator[Stack]:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql" or not os.environ.get("REDIS_URL"):
        pytest.fail("integration tests need PostgreSQL and Redis: run them in the services pass")
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    logdir = Path(os.environ.get("TEST_ARTIFACTS", tmp_path_factory.mktemp("stack")))
    logdir.mkdir(parents=True, exist_ok=True)
    stack = Stack(url, os.environ["REDIS_URL"], logdir)
    SESSION_STACKS.append(stack)
    stack.env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp.endpoint
    try:
        stack.start_daphne()
        stack.start_daphne()
        stack.start_worker()
        stack.start_beat()
        yield stack
    finally:
        stack.stop()
        with django_db_blocker.unblock():
            drop_other_connections()


@pytest.fixture(scope="session")
def fake_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as server:
        yield server


@pytest.fixture
def live(stack: Stack, transactional_db: Any) -> Stack:
    return stack


@pytest.fixture
def outage_stack(transactional_db: Any, own_redis: OwnRedis, tmp_path: Path) -> Iterator[Stack]:
    """A stack of its own on its own Redis, for tests that take Redis down (no beat: the sweep stays out)."""
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("needs PostgreSQL: run it in the services pass")
    url = f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    stack = Stack(url, own_redis.url, tmp_path)
    # The session stack's sweep reads the same database: it would recover this stack's runs (an expired
    # lease, an old queued run) onto its own Redis, where this stack's sockets never hear of them.
    paused = [session for session in SESSION_STACKS if session.stop_beat()]
    try:
        yield stack
    finally:
        stack.stop()
        drop_other_connections()  # subprocesses are gone; drop what is left so the test DB can go
        for session in paused:
            session.start_beat()
