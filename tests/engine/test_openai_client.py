"""The real `openai` SDK against the fake server: streaming, usage, tools, retries and error mapping."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest

from agents_app.config import AzureOpenAIModel, OpenAIModel
from agents_app.engine import ModelCallError, aclose_model_clients
from agents_app.engine.models import CreateResult, model_client
from agents_app.engine.openai_client import OpenAIClient, key_allowed_for
from tests.engine.helpers import run, task, team
from tests.support.fake_openai import FakeOpenAI, FakeOpenAIThread

pytestmark = pytest.mark.usefixtures("openai_clients")

MESSAGES = [{"role": "user", "content": "hello there"}]


def openai_model(server: FakeOpenAIThread, model: str = "fake", key: str = "", **extra: Any) -> dict[str, Any]:
    headers = {"X-Fake-Key": key or model, **extra.pop("headers", {})}
    return {
        "provider": "openai",
        "model": model,
        "base_url": server.base_url,
        "default_headers": headers,
        "max_retries": 1,
        **extra,
    }


def errors_shown(server: FakeOpenAIThread) -> dict[str, str]:
    """The environment of an operator who lets users read what the fake server answers."""
    return {"MODEL_ERROR_HOSTS": urlsplit(server.base_url).netloc}


async def complete(
    server: FakeOpenAIThread, model: str, key: str = "", env: dict[str, str] | None = None, **extra: Any
) -> tuple[list[str], CreateResult]:
    config = OpenAIModel.model_validate(openai_model(server, model, key, **extra))
    client = model_client(config, errors_shown(server) if env is None else env)
    pieces: list[str] = []
    result: CreateResult | None = None
    async for item in client.stream(MESSAGES, None):
        if isinstance(item, str):
            pieces.append(item)
        else:
            result = item
    assert result is not None
    return pieces, result


def requests_for(server: FakeOpenAIThread, key: str) -> list[Any]:
    return [r for r in server.chat_requests() if r.headers.get("x-fake-key") == key]


async def test_streams_text_and_reads_the_usage_chunk(fake_server: FakeOpenAIThread) -> None:
    pieces, result = await complete(fake_server, "fake", "stream-usage", headers={"X-Fake-Tokens": "5"})
    # Text arrives a network read at a time: pieces may join several tokens, never split or drop one.
    assert "".join(pieces) == result.content == "t0 t1 t2 t3 t4 " and all(pieces)
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (2, 5)
    (request,) = requests_for(fake_server, "stream-usage")
    assert request.body["stream"] is True and request.body["stream_options"] == {"include_usage": True}


async def test_an_agent_streams_chunks_through_the_sdk(fake_server: FakeOpenAIThread) -> None:
    config = team(
        "round_robin",
        [
            {
                "kind": "assistant",
                "name": "a",
                "system_message": "Be brief.",
                "model": openai_model(fake_server, "fake-echo", temperature=0.5),
            }
        ],
        max_turns=1,
    )
    result = await run(config, [task("say these words")])
    assert "".join(c.content for c in result.chunks) == "say these words" and all(c.content for c in result.chunks)
    assert result.contents() == [("a", "TextMessage", "say these words")]
    assert result.messages[0].models_usage is not None
    body = requests_for(fake_server, "fake-echo")[-1].body
    assert body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert body["messages"][1] == {"role": "user", "content": "say these words", "name": "user"}
    assert body["temperature"] == 0.5


async def test_non_streaming_agent(fake_server: FakeOpenAIThread) -> None:
    config = team(
        "round_robin",
        [
            {
                "kind": "assistant",
                "name": "a",
                "model_client_stream": False,
                "model": openai_model(fake_server, "fake", "nostream"),
            }
        ],
        max_turns=1,
    )
    result = await run(config)
    assert result.chunks == [] and result.messages[0].content.startswith("t0 t1")
    assert "stream" not in requests_for(fake_server, "nostream")[0].body


async def test_parallel_tool_calls_run_and_reflect(fake_server: FakeOpenAIThread) -> None:
    calls = [
        {"name": "calculator", "arguments": {"expression": "1+1"}},
        {"name": "calculator", "arguments": {"expression": "2*2"}},
    ]
    model = openai_model(fake_server, "fake-tools", "tools", headers={"X-Fake-Tool-Calls": json.dumps(calls)})
    config = team(
        "round_robin",
        [{"kind": "assistant", "name": "a", "model": model, "tools": ["calculator"], "reflect_on_tool_use": True}],
        max_turns=1,
    )
    result = await run(config)
    request, execution, reflection = result.messages
    assert [(c.name, json.loads(c.arguments)) for c in request.content] == [(c["name"], c["arguments"]) for c in calls]
    assert [r.content for r in execution.content] == ["2", "4"]
    assert [r.call_id for r in execution.content] == [c.id for c in request.content]
    assert reflection.content == "Tool results: 2, 4"
    first, second = requests_for(fake_server, "tools")
    assert first.body["tools"][0]["function"]["name"] == "calculator"
    assert "tools" not in second.body  # the reflection call has no tools
    assert second.body["messages"][-1]["role"] == "tool"


async def test_a_429_is_retried_by_the_sdk(fake_server: FakeOpenAIThread) -> None:
    pieces, result = await complete(fake_server, "fake-429-once", "rate-limited")
    assert result.content.startswith("t0")
    assert len(requests_for(fake_server, "rate-limited")) == 2


async def test_a_500_after_retries_is_a_temporary_error(fake_server: FakeOpenAIThread) -> None:
    with pytest.raises(ModelCallError) as info:
        await complete(fake_server, "fake-500", "always-500", max_retries=2)
    assert info.value.permanent is False and "500" in info.value.message
    assert len(requests_for(fake_server, "always-500")) == 3


async def test_a_401_is_permanent(fake_server: FakeOpenAIThread) -> None:
    with pytest.raises(ModelCallError) as info:
        await complete(fake_server, "fake-401", "bad-key")
    assert info.value.permanent is True and "401" in info.value.message
    assert len(requests_for(fake_server, "bad-key")) == 1  # not retried


@pytest.mark.parametrize("status, permanent", [(400, True), (403, True), (404, True), (503, False)])
async def test_status_mapping(fake_server: FakeOpenAIThread, status: int, permanent: bool) -> None:
    with pytest.raises(ModelCallError) as info:
        await complete(fake_server, "fake", f"status-{status}", max_retries=0, headers={"X-Fake-Status": str(status)})
    assert info.value.permanent is permanent


@pytest.mark.parametrize("model", ["fake-hang", "fake-hang-stream"])
async def test_a_hang_past_the_timeout_is_a_temporary_error(fake_server: FakeOpenAIThread, model: str) -> None:
    with pytest.raises(ModelCallError) as info:
        await complete(fake_server, model, f"hang-{model}", timeout=0.2, max_retries=0)
    assert info.value.permanent is False and "timed out" in info.value.message


async def test_malformed_json_in_the_stream_is_an_error(fake_server: FakeOpenAIThread) -> None:
    with pytest.raises(ModelCallError) as info:
        await complete(fake_server, "fake-malformed", "malformed")
    assert "malformed" in info.value.message and info.value.permanent is False


def key_hosts(server: FakeOpenAIThread) -> dict[str, str]:
    return {"MODEL_KEY_HOSTS": f"api.example.com, {urlsplit(server.base_url).netloc}"}


async def test_the_key_comes_from_the_named_env_var_and_is_never_shown(fake_server: FakeOpenAIThread) -> None:
    config = OpenAIModel.model_validate(openai_model(fake_server, "fake", "keyed", api_key_env="MY_API_KEY"))
    client = model_client(config, {"MY_API_KEY": "sk-secret-123", **key_hosts(fake_server)})
    async for _ in client.stream(MESSAGES):
        pass
    assert requests_for(fake_server, "keyed")[0].headers["authorization"] == "Bearer sk-secret-123"
    assert "sk-secret" not in repr(client)


async def test_a_server_key_never_goes_to_a_base_url_the_operator_did_not_list(fake_server: FakeOpenAIThread) -> None:
    """A user's team config names the base_url: pointing it at their own server must not hand them our key."""
    config = OpenAIModel.model_validate(openai_model(fake_server, "fake", "untrusted"))
    client = model_client(config, {"OPENAI_API_KEY": "sk-server-key", "MODEL_KEY_HOSTS": "api.example.com"})
    async for _ in client.stream(MESSAGES):
        pass
    assert requests_for(fake_server, "untrusted")[0].headers["authorization"] == "Bearer not-needed"


async def test_a_server_key_never_goes_to_an_unlisted_azure_endpoint(fake_server: FakeOpenAIThread) -> None:
    config = AzureOpenAIModel(
        provider="azure_openai",
        model="fake",
        azure_endpoint=fake_server.base_url,
        api_version="2024-06-01",
        default_headers={"X-Fake-Key": "azure-untrusted"},
    )
    with pytest.raises(ModelCallError, match="MODEL_KEY_HOSTS") as info:
        async for _ in model_client(config, {"AZURE_OPENAI_API_KEY": "az-server-key"}).stream(MESSAGES):
            pass
    assert info.value.permanent is True and "az-server-key" not in info.value.message
    assert requests_for(fake_server, "azure-untrusted") == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.openai.com/v1", True),
        ("https://myresource.openai.azure.com", True),
        ("https://api.openai.com.attacker.example/v1", False),
        ("https://openai.azure.com.attacker.example", False),
        ("https://user@attacker.example@api.openai.com/v1", False),
        ("https://attacker.example/v1", False),
        ("http://10.0.0.5:8000/v1", True),
        ("http://10.0.0.5:8001/v1", False),
        ("https://llm.corp.example/v1", True),
        ("https://corp.example/v1", False),
    ],
)
def test_which_endpoints_may_receive_a_server_key(url: str, allowed: bool) -> None:
    env = {"MODEL_KEY_HOSTS": "10.0.0.5:8000, *.corp.example"}
    assert key_allowed_for(url, env) is allowed


async def test_a_missing_key_is_permanent_unless_a_base_url_is_set(fake_server: FakeOpenAIThread) -> None:
    client = model_client(OpenAIModel(provider="openai", model="gpt-4o"), {})
    with pytest.raises(ModelCallError, match="OPENAI_API_KEY is not set") as info:
        async for _ in client.stream(MESSAGES):
            pass
    assert info.value.permanent is True
    await complete(fake_server, "fake", "dummy-key")
    assert requests_for(fake_server, "dummy-key")[0].headers["authorization"] == "Bearer not-needed"


async def test_one_sdk_client_per_loop_and_settings() -> None:
    config = OpenAIModel(provider="openai", model="m", base_url="http://127.0.0.1:9/v1")
    a, b = OpenAIClient(config, {}), OpenAIClient(config.model_copy(update={"temperature": 1.0}), {})
    assert a._client() is b._client()  # temperature is per request, not per connection pool
    other = OpenAIClient(config.model_copy(update={"timeout": 5.0}), {})
    assert other._client() is not a._client()


async def test_azure_openai_client(fake_server: FakeOpenAIThread) -> None:
    config = AzureOpenAIModel(
        provider="azure_openai",
        model="fake",
        azure_endpoint=fake_server.base_url.removesuffix("/v1"),
        azure_deployment="dep",
        api_version="2024-06-01",
        default_headers={"X-Fake-Key": "azure"},
    )
    client = model_client(config, {"AZURE_OPENAI_API_KEY": "az-key", **key_hosts(fake_server)})
    text = [item async for item in client.stream(MESSAGES) if isinstance(item, str)]
    assert "".join(text).startswith("t0 ")
    (request,) = requests_for(fake_server, "azure")
    assert request.path.startswith("/openai/deployments/dep/chat/completions?api-version=2024-06-01")
    assert request.headers["api-key"] == "az-key"


async def test_an_error_event_mid_stream_is_a_temporary_error(fake_server: FakeOpenAIThread) -> None:
    with pytest.raises(ModelCallError, match="overloaded") as info:
        await complete(fake_server, "fake-stream-error", "stream-error")
    assert info.value.permanent is False


async def test_fake_server_timestamps_each_token_when_asked(fake_server: FakeOpenAIThread) -> None:
    pieces, _ = await complete(fake_server, "fake", "stamps", headers={"X-Fake-Timestamps": "1", "X-Fake-Tokens": "4"})
    stamps = [int(s) for s in "".join(pieces).split()]
    assert len(stamps) == 4 and stamps == sorted(stamps) and "".join(pieces).endswith(" ")


async def test_non_streaming_tool_calls(fake_server: FakeOpenAIThread) -> None:
    calls = [{"name": "calculator", "arguments": {"expression": "3*3"}}]
    model = openai_model(fake_server, "fake-tools", "nostream-tools", headers={"X-Fake-Tool-Calls": json.dumps(calls)})
    config = team(
        "round_robin",
        [{"kind": "assistant", "name": "a", "model": model, "tools": ["calculator"], "model_client_stream": False}],
        max_turns=1,
    )
    result = await run(config)
    assert [m.type for m in result.messages] == [
        "ToolCallRequestEvent",
        "ToolCallExecutionEvent",
        "ToolCallSummaryMessage",
    ]
    assert result.messages[-1].content == "9"


async def test_fake_server_on_the_callers_own_loop() -> None:
    server = FakeOpenAI()
    base_url = await server.start()
    try:
        config = OpenAIModel(provider="openai", model="fake-echo", base_url=base_url, max_retries=0)
        pieces = [p async for p in model_client(config, {}).stream(MESSAGES) if isinstance(p, str)]
        assert "".join(pieces) == "hello there"
    finally:
        await aclose_model_clients()
        await server.close()
    assert [r.model for r in server.chat_requests()] == ["fake-echo"]


async def test_a_model_error_escapes_the_run_as_model_call_error(fake_server: FakeOpenAIThread) -> None:
    config = team("round_robin", [{"kind": "assistant", "name": "a", "model": openai_model(fake_server, "fake-401")}])
    with pytest.raises(ModelCallError) as info:
        await run(config)
    assert info.value.permanent is True


WARM_UP_PROBE = """
import asyncio, sys
from agents_app.config import OpenAIModel
from agents_app.engine.openai_client import OpenAIClient, warm_up
if sys.argv[2] == "warm":
    warm_up()
before = set(sys.modules)
async def first_stream():
    client = OpenAIClient(OpenAIModel(provider="openai", model="fake", base_url=sys.argv[1], max_retries=0), {})
    async for _ in client.stream([{"role": "user", "content": "hi"}]):
        pass
asyncio.run(first_stream())
print(sorted(set(sys.modules) - before))
"""


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_warm_up_leaves_nothing_for_the_first_stream_to_import(fake_server: FakeOpenAIThread, mode: str) -> None:
    """A worker's first run must not import the HTTP stack on the event loop other runs share."""
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", WARM_UP_PROBE, fake_server.base_url, mode],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    imported = json.loads(out.strip().splitlines()[-1].replace("'", '"'))
    if mode == "cold":
        assert "truststore" in imported  # the probe does see lazy imports
    else:
        assert imported == []


SECRET_BODY = "upstream 10.0.0.7 says: password=internal-s3cret"


@pytest.mark.parametrize("model", ["fake", "fake-stream-error"])
async def test_an_endpoint_not_trusted_with_keys_has_its_answer_logged_not_shown(
    fake_server: FakeOpenAIThread, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {"X-Fake-Status": "400", "X-Fake-Error-Message": SECRET_BODY} if model == "fake" else {}
    env = {"TEAM_API_KEY": "sk-team-key-1234"}
    with pytest.raises(ModelCallError) as info:
        await complete(fake_server, model, f"hidden-{model}", env=env, headers=headers, api_key_env="TEAM_API_KEY")
    host = urlsplit(fake_server.base_url).netloc
    assert host in str(info.value) and "MODEL_ERROR_HOSTS" in str(info.value)
    assert "s3cret" not in str(info.value) and "overloaded" not in str(info.value)
    assert model != "fake" or ("400" in str(info.value) and info.value.permanent)
    logged = " ".join(r.getMessage() for r in caplog.records if r.name == "agents_app.engine.openai_client")
    assert ("s3cret" if model == "fake" else "overloaded") in logged and "sk-team-key-1234" not in logged


@pytest.mark.parametrize("trusted_by", ["MODEL_KEY_HOSTS", "MODEL_ERROR_HOSTS", "provider"])
async def test_a_trusted_endpoints_error_answer_is_shown(fake_server: FakeOpenAIThread, trusted_by: str) -> None:
    headers = {"X-Fake-Key": trusted_by, "X-Fake-Status": "400", "X-Fake-Error-Message": SECRET_BODY}
    config = OpenAIModel.model_validate(openai_model(fake_server, "fake", headers=headers, max_retries=0))
    if trusted_by == "provider":  # a stored provider's endpoint, which its owner chose
        client = OpenAIClient(config, {}, api_key="")
    else:
        client = model_client(config, {trusted_by: urlsplit(fake_server.base_url).netloc})
    with pytest.raises(ModelCallError, match="internal-s3cret"):
        async for _ in client.stream(MESSAGES):
            pass
