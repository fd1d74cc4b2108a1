"""A model naming a stored provider: the engine calls the provider's endpoint with the provider's key only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agents_app.config import OpenAIModel
from agents_app.engine import ModelCallError, ProviderEndpoint
from agents_app.engine.models import model_client
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = pytest.mark.usefixtures("openai_clients")
KEY = "sk-provider-key-0042"
MESSAGES = [{"role": "user", "content": "hello"}]


@pytest.fixture
def keyed_server() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread(api_key=KEY) as server:
        yield server


async def drain(config: OpenAIModel, providers: dict[str, ProviderEndpoint], env: dict[str, str]) -> None:
    async for _ in model_client(config, env, providers).stream(MESSAGES):
        pass


async def test_an_openai_compatible_provider_gets_its_own_key_not_the_servers(keyed_server: FakeOpenAIThread) -> None:
    config = OpenAIModel(provider_ref="local", model="fake")
    endpoint = ProviderEndpoint(kind="openai_compatible", url=keyed_server.base_url, api_key=KEY)
    env = {"OPENAI_API_KEY": "sk-server-key", "MODEL_KEY_HOSTS": "*"}
    await drain(config, {"local": endpoint}, env)
    [request] = keyed_server.chat_requests()
    assert request.path == "/v1/chat/completions" and request.headers["authorization"] == f"Bearer {KEY}"
    assert KEY not in repr(endpoint) and KEY not in repr(model_client(config, env, {"local": endpoint}))


async def test_an_azure_provider_calls_the_deployment_with_its_api_version_and_key(
    keyed_server: FakeOpenAIThread,
) -> None:
    config = OpenAIModel(provider_ref="azure", model="gpt-4o-deploy", temperature=0.5)
    base = keyed_server.base_url.removesuffix("/v1")
    endpoint = ProviderEndpoint(kind="azure_openai", url=base, api_version="2024-10-21", api_key=KEY)
    await drain(config, {"azure": endpoint}, {})
    [request] = keyed_server.chat_requests()
    assert request.path == "/openai/deployments/gpt-4o-deploy/chat/completions?api-version=2024-10-21"
    assert request.headers["api-key"] == KEY and request.body["temperature"] == 0.5


async def test_a_keyless_provider_gets_a_placeholder(keyed_server: FakeOpenAIThread) -> None:
    keyed_server.server.api_key = None
    endpoint = ProviderEndpoint(kind="openai_compatible", url=keyed_server.base_url)
    await drain(OpenAIModel(provider_ref="ollama", model="fake"), {"ollama": endpoint}, {"OPENAI_API_KEY": "sk-server"})
    assert keyed_server.chat_requests()[0].headers["authorization"] == "Bearer not-needed"


async def test_a_provider_the_run_was_not_given_fails_permanently(keyed_server: FakeOpenAIThread) -> None:
    with pytest.raises(ModelCallError, match="'elsewhere'") as info:
        await drain(OpenAIModel(provider_ref="elsewhere", model="fake"), {}, {"OPENAI_API_KEY": "sk-server"})
    assert info.value.permanent and keyed_server.requests == []
