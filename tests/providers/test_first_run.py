"""The playground's first-run banner: shown only with no provider and no server key; the local Ollama hint."""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.test import Client

from providers import services
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_browser(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_banner_shows_until_a_provider_or_a_server_key_exists(
    alice: Any, alice_browser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in os.environ if n.endswith("_API_KEY")]:  # any server model key counts
        monkeypatch.delenv(name)
    assert b'id="first-run"' in alice_browser.get("/").content
    monkeypatch.setenv("OPENAI_API_KEY", "sk-server-key-123")
    assert b'id="first-run"' not in alice_browser.get("/").content
    monkeypatch.delenv("OPENAI_API_KEY")
    services.provider_create(owner=alice, name="oa", kind="openai", api_key="sk-alice-key-0000")
    page = alice_browser.get("/").content
    assert b'id="first-run"' not in page and b"sk-alice-key-0000" not in page


def test_the_ollama_hint_answers_only_when_something_answers_and_private_addresses_are_allowed(
    alice_api: Client, settings: Any
) -> None:
    with FakeOpenAIThread() as fake:
        settings.PROVIDER_OLLAMA_URL = fake.base_url
        assert alice_api.get("/api/providers/ollama").json() == {"base_url": fake.base_url}
        settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES = False  # a server not on the user's machine: no hint
        assert alice_api.get("/api/providers/ollama").json() == {"base_url": None}
    settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES = True
    assert alice_api.get("/api/providers/ollama").json() == {"base_url": None}  # nothing answers now
