from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings

from tests.support.receiver import Receiver, serve_receiver


def production_mode() -> bool:
    return bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


def pytest_configure(config: Any) -> None:
    if not settings.configured and "DJANGO_SETTINGS_MODULE" not in os.environ:
        return  # run without pytest-django (-p no:django): the engine suites need no Django
    test_db = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if test_db and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        os.makedirs(os.path.dirname(str(test_db)), exist_ok=True)


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    # Tests in folders that never touch the database run once, in the embedded pass.
    for item in items:
        path = str(item.fspath)
        if any(f"{os.sep}tests{os.sep}{folder}{os.sep}" in path for folder in ("engine", "autogen", "ui")):
            item.add_marker(pytest.mark.nodb)


def _retry_flush_on_deadlock() -> None:
    """Transactional tests end with TRUNCATE; on PostgreSQL it can deadlock with the integration
    stack's background writers (the sweep, worker heartbeats). PostgreSQL aborts one side; retry ours."""
    import time

    from django.db import OperationalError
    from django.test import TransactionTestCase

    original = TransactionTestCase._fixture_teardown

    def teardown(self: Any) -> None:
        for attempt in range(5):
            try:
                return original(self)
            except Exception as exc:  # flush wraps the OperationalError in a CommandError
                cause = exc.__cause__ or exc
                if attempt == 4 or not isinstance(cause, OperationalError) or "deadlock" not in str(cause):
                    raise
                time.sleep(0.2 * (attempt + 1))

    TransactionTestCase._fixture_teardown = teardown  # type: ignore[method-assign]


_retry_flush_on_deadlock()


@pytest.fixture
def alice(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="alice-password-1")


@pytest.fixture
def bob(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("bob", password="bob-password-1")


@pytest.fixture
def requires_postgres() -> None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        pytest.fail("this test needs PostgreSQL: run it in the services pass (scripts/test.sh services)")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings: Any) -> None:
    # PBKDF2's deliberate slowness dominates test time; the hasher is not under test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice_token(alice: Any) -> str:
    from accounts.services import token_create

    return token_create(user=alice, name="test")[1]


@pytest.fixture
def bob_token(bob: Any) -> str:
    from accounts.services import token_create

    return token_create(user=bob, name="test")[1]


@pytest.fixture
def inline_runtime(settings: Any) -> Iterator[Any]:
    """In-memory layer + inline executor whatever the pass: hooks and webhooks run in-process."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    settings.RUN_EXECUTOR = "inline"
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = True
    settings.WEBHOOK_BACKOFF_SECONDS = 0.01
    settings.WEBHOOK_BACKOFF_MAX_SECONDS = 0.05
    settings.PLAYGROUND_RUN_HOOKS = []
    channel_layers.backends = {}
    yield settings
    from webhooks import background

    background.wait_idle(30)
    channel_layers.backends = {}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with serve_receiver() as state:
        yield state


@pytest.fixture
def own_redis(tmp_path: Any) -> Any:
    """A redis-server of this test's own, which it may restart (never the machine's shared one)."""
    from tests.integration.stack import OwnRedis

    redis = OwnRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
