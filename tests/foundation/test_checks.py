from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from playground.checks import production_settings_check

SAFE = {
    "DEBUG": False,
    "SECRET_KEY": "a-real-secret-key-for-production-0123456789",
    "RUN_EXECUTOR": "celery",
    "CHANNEL_LAYERS": {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer", "CONFIG": {}}},
}


def ids(**overrides: Any) -> list[str]:
    with override_settings(**{**SAFE, **overrides}):
        return [e.id for e in production_settings_check()]


def test_check_silent_in_embedded_default() -> None:
    # The test runner forces DEBUG off; the embedded default serves with it on.
    with override_settings(DEBUG=True):
        assert production_settings_check() == []


def test_check_silent_for_safe_production_settings() -> None:
    assert ids() == []


def test_check_fires_for_in_memory_layer() -> None:
    assert ids(CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}) == ["playground.E001"]


def test_check_fires_for_inline_executor() -> None:
    assert ids(RUN_EXECUTOR="inline") == ["playground.E002"]


def test_check_fires_for_dev_secret_key() -> None:
    from django.conf import settings

    assert ids(SECRET_KEY=settings.DEV_SECRET_KEY) == ["playground.E003"]


def test_manage_check_refuses_unsafe_production() -> None:
    with override_settings(**{**SAFE, "RUN_EXECUTOR": "inline"}), pytest.raises(SystemCheckError):
        call_command("check")
