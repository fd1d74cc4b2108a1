"""OpenAI-compatible model client on the `openai` SDK (AsyncOpenAI / AsyncAzureOpenAI).

One SDK client per (event loop, settings): an SDK client's connection pool belongs to the
loop it was first used on, and a Celery thread runs one loop per run. `aclose_model_clients()`
closes the running loop's clients at the end of its life. API keys are read from the
environment at call time, kept out of reprs and cache keys (hashed), and never logged.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import weakref
from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai

from agents_app.config import AzureOpenAIModel, OpenAIModel
from agents_app.engine.errors import ModelCallError
from agents_app.engine.events import FunctionCall, RequestUsage
from agents_app.engine.model_http import http_client
from agents_app.engine.models import ChatMessages, CreateResult
from agents_app.engine.sse import ServerSentEvent, SSEDecoder

# Servers such as Ollama or vLLM accept any key; the SDK insists on one being set.
_DUMMY_KEY = "not-needed"
# A team config names its own base_url or azure_endpoint, and configs come from users: a key
# from the server's environment goes only to the provider's own endpoint, to Azure OpenAI
# resources, or to the hosts an operator lists in MODEL_KEY_HOSTS (comma-separated host or
# host:port, "*.example.com" for subdomains). Any other endpoint gets the dummy key (OpenAI
# compatible) or a clear error (Azure), never the deployment's key.
KEY_HOSTS_ENV = "MODEL_KEY_HOSTS"
_PROVIDER_KEY_HOSTS = ("api.openai.com", "*.openai.azure.com")
_PERMANENT_STATUSES = {400, 401, 403, 404, 405, 413, 415, 422}
# A base_url may name a service on the server's own network (by design: a local Ollama), so what an
# endpoint answers is shown to the user only from endpoints trusted to receive keys (above), from a
# stored provider's endpoint (its owner chose it, and providers check their URLs), or from the hosts
# an operator lists in MODEL_ERROR_HOSTS (same syntax). Others' error bodies are logged, not shown.
ERROR_HOSTS_ENV = "MODEL_ERROR_HOSTS"

log = logging.getLogger(__name__)

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], openai.AsyncOpenAI]] = (
    weakref.WeakKeyDictionary()
)


class OpenAIClient:
    def __init__(
        self, config: OpenAIModel | AzureOpenAIModel, env: Mapping[str, str], *, api_key: str | None = None
    ) -> None:
        """`api_key`: a stored provider's own key, for the endpoint `config` was given from that same
        provider (ProviderEndpoint.model_config); the server's environment keys are then never consulted."""
        self.config = config
        self._env = env
        self._provider_key = api_key
        endpoint = config.base_url if isinstance(config, OpenAIModel) else config.azure_endpoint
        self._endpoint = endpoint
        self._reflect = api_key is not None or endpoint is None or errors_shown_for(endpoint, env)

    def __repr__(self) -> str:
        return f"OpenAIClient(provider={self.config.provider!r}, model={self.config.model!r})"

    def _api_key(self) -> str:
        config = self.config
        if self._provider_key is not None:
            return self._provider_key or _DUMMY_KEY
        key = self._env.get(config.api_key_env) or ""
        endpoint = self._endpoint
        if key and (endpoint is None or key_allowed_for(endpoint, self._env)):
            return key
        if isinstance(config, OpenAIModel) and config.base_url:
            return _DUMMY_KEY
        if key:  # an Azure endpoint the operator did not list
            raise ModelCallError(
                f"the server's {config.api_key_env} is not sent to {urlsplit(endpoint or '').netloc!r}: "
                f"an operator can add that host to {KEY_HOSTS_ENV}",
                permanent=True,
            )
        raise ModelCallError(f"{config.api_key_env} is not set", permanent=True)

    def _client(self) -> openai.AsyncOpenAI:
        config = self.config
        key = self._api_key()
        cache_key = (
            config.model_dump_json(exclude={"temperature", "max_tokens", "model_info", "model"}),
            hashlib.sha256(key.encode()).hexdigest(),
        )
        per_loop = _clients.setdefault(asyncio.get_running_loop(), {})
        client = per_loop.get(cache_key)
        if client is None:
            client = _build(config, key)
            per_loop[cache_key] = client
        return client

    def _request(self, messages: ChatMessages, tools: list[dict[str, Any]] | None) -> dict[str, Any]:
        request: dict[str, Any] = {"model": self.config.model, "messages": messages}
        if tools:
            request["tools"] = tools
        if self.config.temperature is not None:
            request["temperature"] = self.config.temperature
        if self.config.max_tokens is not None:
            request["max_tokens"] = self.config.max_tokens
        return request

    async def stream(
        self,
        messages: ChatMessages,
        tools: list[dict[str, Any]] | None = None,
        *,
        streaming: bool = True,
        call_index: int | None = None,
    ) -> AsyncGenerator[str | CreateResult, None]:
        request = self._request(messages, tools)
        try:
            if streaming:
                async for item in self._stream(request):
                    yield item
            else:
                yield await self._complete(request)
        except openai.OpenAIError as exc:
            raise _map_error(exc, self._shown) from None
        except json.JSONDecodeError as exc:
            raise ModelCallError(f"malformed data in the model server's stream: {exc}", permanent=False) from None

    def _shown(self, text: str) -> str:
        """What the user may read of `text`, which the endpoint sent (see ERROR_HOSTS_ENV)."""
        if self._reflect:
            return text
        host = _host(self._endpoint or "")
        log.warning("model endpoint %s answered: %s", host, _without_key(text, self._keys()))
        return f"(the answer of {host} is not shown: an operator can list that host in {ERROR_HOSTS_ENV})"

    def _keys(self) -> list[str]:
        keys = [self._provider_key or "", self._env.get(self.config.api_key_env) or ""]
        return [k for k in keys if len(k) >= 4]

    async def _complete(self, request: dict[str, Any]) -> CreateResult:
        response = await self._client().chat.completions.create(**request)
        if not response.choices:
            raise ModelCallError("the model server returned no choices", permanent=False)
        choice = response.choices[0]
        calls = [
            FunctionCall(c.id, c.function.name, c.function.arguments or "{}")
            for c in choice.message.tool_calls or []
            if c.type == "function"
        ]
        return CreateResult(choice.message.content or "", calls, _usage(response.usage), choice.finish_reason or "stop")

    async def _stream(self, request: dict[str, Any]) -> AsyncGenerator[str | CreateResult, None]:
        # The SDK sends the request (auth, retries, timeouts, Azure routing, status errors); the
        # body is decoded here a network read at a time (agents_app.engine.sse): the SDK's own
        # decoder builds objects per event and line, and this path runs once per token.
        # `post` with the body as it is: `chat.completions.create` first walks every message through
        # the SDK's typed-dict transform, about 2.7 ms per request at 200 runs starting together.
        stream = await self._client().post(
            "/chat/completions",
            body={**request, "stream": True, "stream_options": {"include_usage": True}},
            cast_to=object,
            stream=True,
            stream_cls=openai.AsyncStream[object],
        )
        state = _StreamState(self._shown)
        async with stream:  # on cancel, closing the response drops the connection: the server sees it
            decoder = SSEDecoder()
            try:
                async for data in stream.response.aiter_bytes():
                    if state.done:
                        continue  # the rest of the body, read so the connection can be reused
                    text = state.take(*decoder.feed_json(data))
                    if text:
                        yield text
                    if state.error is not None:  # after the text that came before it, which the run keeps
                        raise state.error
            except httpx2.TimeoutException:
                raise ModelCallError("the model server timed out mid-stream", permanent=False) from None
            except httpx2.TransportError as exc:
                raise ModelCallError(f"the connection to the model server broke: {exc}", permanent=False) from None
        tool_calls = [FunctionCall(c[0], c[1], c[2] or "{}") for _, c in sorted(state.calls.items())]
        yield CreateResult("".join(state.text), tool_calls, state.usage, state.finish_reason)


class _StreamState:
    """What a chat-completions stream has said so far."""

    def __init__(self, shown: Callable[[str], str] = str) -> None:
        self.shown = shown  # what the user may read of a text the endpoint sent
        self.text: list[str] = []
        self.calls: dict[int, list[str]] = {}  # index -> [id, name, arguments so far]
        self.usage = RequestUsage()
        self.finish_reason = "stop"
        self.done = False
        self.error: ModelCallError | None = None  # raised once the text before it is out

    def take(self, chunks: list[Any], stop: ServerSentEvent | None, bad: ValueError | None) -> str:
        """Apply a read's decoded chunks and what ended them (SSEDecoder.feed_json); the text they carry, joined."""
        if bad is not None:
            message = self.shown(str(bad))
            self.error = ModelCallError(f"malformed data in the model server's stream: {message}", permanent=False)
        elif stop is not None:
            if stop.event == "error":
                message = self.shown(_stream_error(stop.data))
                self.error = ModelCallError(f"model server error: {message}", permanent=False)
            else:
                self.done = True
        pieces: list[str] = []
        for chunk in chunks:
            if not isinstance(chunk, dict):
                message = self.shown(f"{chunk!r:.200}")
                self.error = ModelCallError(f"unexpected chunk from the model server: {message}", permanent=False)
                break
            if chunk.get("error"):  # OpenAI reports a failure mid-stream as a data event
                message = self.shown(_error_message(chunk["error"]))
                self.error = ModelCallError(f"model server error: {message}", permanent=False)
                break
            if chunk.get("usage"):
                self.usage = _usage(chunk["usage"])
            choices = chunk.get("choices")
            if not choices:
                continue
            choice = choices[0]
            delta = choice.get("delta") or {}
            content = delta.get("content")
            if content:
                pieces.append(content)
            if delta.get("tool_calls"):
                _merge_tool_calls(self.calls, delta["tool_calls"])
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]
        text = "".join(pieces)
        if text:
            self.text.append(text)
        return text


def _error_message(error: Any) -> str:
    message = error.get("message") if isinstance(error, dict) else None
    return (message if isinstance(message, str) and message else "an error occurred during streaming")[:500]


def _stream_error(data: bytes) -> str:
    try:
        body = json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")[:500]
    return _error_message(body.get("error") if isinstance(body, dict) else None)


def _merge_tool_calls(calls: dict[int, list[str]], deltas: list[dict[str, Any]]) -> None:
    for d in deltas:
        entry = calls.setdefault(int(d.get("index") or 0), ["", "", ""])
        if d.get("id"):
            entry[0] = d["id"]
        function = d.get("function") or {}
        if function.get("name"):
            entry[1] += function["name"]
        if function.get("arguments"):
            entry[2] += function["arguments"]


def _usage(usage: Any) -> RequestUsage:
    if usage is None:
        return RequestUsage()
    if not isinstance(usage, dict):
        usage = usage.model_dump()
    details = usage.get("prompt_tokens_details")
    cached = details.get("cached_tokens") if isinstance(details, dict) else None
    return RequestUsage(
        int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0), int(cached or 0)
    )


def key_allowed_for(url: str, env: Mapping[str, str]) -> bool:
    """Whether a key from the server's environment may be sent to `url` (see KEY_HOSTS_ENV)."""
    return _host_listed(url, (*_PROVIDER_KEY_HOSTS, *_listed(env, KEY_HOSTS_ENV)))


def errors_shown_for(url: str, env: Mapping[str, str]) -> bool:
    """Whether what `url` answers may be shown to the user (see ERROR_HOSTS_ENV)."""
    return key_allowed_for(url, env) or _host_listed(url, _listed(env, ERROR_HOSTS_ENV))


def _listed(env: Mapping[str, str], name: str) -> list[str]:
    return [h.strip().lower() for h in env.get(name, "").split(",") if h.strip()]


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc.rpartition("@")[2] or "the model server"


def _without_key(text: str, keys: list[str]) -> str:
    for key in keys:
        text = text.replace(key, "[key]")
    return text[:2000]


def _host_listed(url: str, patterns: tuple[str, ...] | list[str]) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host or "@" in parts.netloc:  # userinfo: HTTP clients disagree on which host it names
        return False
    try:
        netloc = f"{host}:{parts.port}" if parts.port else host
    except ValueError:
        return False
    for pattern in patterns:
        name = netloc if ":" in pattern else host
        if pattern.startswith("*.") and name.endswith(pattern[1:]) or name == pattern:
            return True
    return False


def warm_up() -> None:
    """Load what the SDK loads lazily on its first client and request: the HTTP transport, the
    TLS trust store, the chat-completions resources and the executor that resolves host names.
    Sends nothing."""
    import concurrent.futures.thread  # noqa: F401

    client = openai.AsyncOpenAI(
        api_key=_DUMMY_KEY, base_url="http://127.0.0.1:9/v1", max_retries=0, http_client=http_client(5.0)
    )
    client.chat.completions  # noqa: B018  (imports the resources on first access)


def _build(config: OpenAIModel | AzureOpenAIModel, key: str) -> openai.AsyncOpenAI:
    headers = dict(config.default_headers) or None
    if isinstance(config, AzureOpenAIModel):
        return openai.AsyncAzureOpenAI(
            azure_endpoint=config.azure_endpoint,
            azure_deployment=config.azure_deployment,
            api_version=config.api_version,
            api_key=key,
            timeout=config.timeout,
            max_retries=config.max_retries,
            default_headers=headers,
            http_client=http_client(config.timeout),
        )
    return openai.AsyncOpenAI(
        api_key=key,
        base_url=config.base_url,
        organization=config.organization,
        timeout=config.timeout,
        max_retries=config.max_retries,
        default_headers=headers,
        http_client=http_client(config.timeout),
    )


def _map_error(exc: openai.OpenAIError, shown: Callable[[str], str] = str) -> ModelCallError:
    # The SDK has already retried 429/5xx/timeouts/connection errors max_retries times.
    if isinstance(exc, openai.APITimeoutError):
        return ModelCallError("the model server timed out", permanent=False)
    if isinstance(exc, openai.APIConnectionError):
        return ModelCallError(f"could not reach the model server: {exc}", permanent=False)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        return ModelCallError(
            f"model server error {status}: {shown(_error_text(exc))}", permanent=status in _PERMANENT_STATUSES
        )
    return ModelCallError(f"model call failed: {exc}", permanent=False)


def _error_text(exc: openai.APIStatusError) -> str:
    body = exc.body
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message")
        if not isinstance(message, str) and isinstance(body.get("error"), dict):
            message = body["error"].get("message")
    return (message if isinstance(message, str) and message else str(exc.message))[:500]


async def aclose_clients_for_running_loop() -> None:
    per_loop = _clients.pop(asyncio.get_running_loop(), {})
    for client in per_loop.values():
        await client.close()
