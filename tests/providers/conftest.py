from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from providers import services
from providers.models import Provider
from tests.support.fake_openai import FakeOpenAIThread

KEY = "sk-alice-provider-key-7f3a9c"


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread(api_key=KEY) as server:
        yield server


@pytest.fixture(autouse=True)
def _private_allowed(settings: Any) -> None:
    # The test server listens on loopback; the SSRF tests turn this off again.
    settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES = True
    cache.clear()


@pytest.fixture
def alice_provider(alice: Any, fake_openai: FakeOpenAIThread) -> Provider:
    return services.provider_create(
        owner=alice, name="local", kind="openai_compatible", base_url=fake_openai.base_url, api_key=KEY
    )


from tests.api.conftest import alice_api, bob_api  # noqa: E402, F401  (the API clients, shared)
