"""Talk to a provider from the web process: its connection test and its model list.

Sync on purpose: the REST views that call it run in Django's thread pool, and a test is one short
request with a timeout (PROVIDER_TEST_TIMEOUT_SECONDS). The URL is checked again before each call:
the host may resolve elsewhere since the provider was saved. Errors are sorted into what a user can
act on (wrong key, unreachable, TLS, timeout, an HTTP error) and carry the server's own message.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from typing import Literal

import httpx
import openai
from django.conf import settings
from django.core.cache import cache

from providers import crypto
from providers.models import Provider, ProviderKind
from providers.services import check_endpoint
from webhooks.urlsafety import UnsafeURL

ErrorKind = Literal["wrong_key", "unreachable", "tls", "timeout", "http_error", "unsafe_url", "key_unreadable"]
# Servers such as Ollama accept any key; the SDK insists on one being set.
_NO_KEY = "not-needed"


class ProbeError(Exception):
    def __init__(self, kind: ErrorKind, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status_code = status_code


@dataclass
class CheckResult:
    ok: bool
    detail: str
    method: Literal["models", "completion", ""] = ""
    error_kind: ErrorKind | None = None
    status_code: int | None = None
    models: list[str] = field(default_factory=list)


def _client(provider: Provider) -> openai.OpenAI:
    try:
        check_endpoint(provider.endpoint)
        key = provider.api_key() or _NO_KEY
    except UnsafeURL as exc:
        raise ProbeError("unsafe_url", str(exc)) from None
    except crypto.KeyUnreadable as exc:
        raise ProbeError("key_unreadable", str(exc)) from None
    timeout = settings.PROVIDER_TEST_TIMEOUT_SECONDS
    if provider.kind == ProviderKind.AZURE_OPENAI:
        return openai.AzureOpenAI(
            azure_endpoint=provider.endpoint,
            api_version=provider.api_version,
            api_key=key,
            max_retries=0,
            timeout=timeout,
        )
    return openai.OpenAI(api_key=key, base_url=provider.endpoint, max_retries=0, timeout=timeout)


def _error(exc: openai.OpenAIError) -> ProbeError:
    if isinstance(exc, openai.APITimeoutError):
        return ProbeError("timeout", f"no answer within {settings.PROVIDER_TEST_TIMEOUT_SECONDS:g} s")
    if isinstance(exc, openai.APIConnectionError):
        tls = _tls_cause(exc)
        if tls is not None:
            return ProbeError("tls", f"TLS failed: {tls}")
        return ProbeError("unreachable", f"cannot connect: {exc.__cause__ or exc}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        message = _server_message(exc)
        if status in (401, 403):
            return ProbeError("wrong_key", f"the server refused the key ({status}): {message}", status)
        return ProbeError("http_error", f"HTTP {status}: {message}", status)
    return ProbeError("http_error", str(exc))


def _tls_cause(exc: BaseException) -> BaseException | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def _server_message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        message = inner.get("message") if isinstance(inner, dict) else None
        if isinstance(message, str) and message:
            return message[:300]
    return str(exc.message)[:300]


def fetch_models(provider: Provider) -> list[str]:
    """The model ids the provider lists (ProbeError when it cannot be asked or refuses)."""
    with _client(provider) as client:
        try:
            return sorted(m.id for m in client.models.list())
        except openai.OpenAIError as exc:
            raise _error(exc) from None


def _cache_key(provider: Provider) -> str:
    # The edit time is part of the key: a changed URL or key is never answered from the old list.
    return f"providers:models:{provider.id}:{provider.updated_at.timestamp()}"


def cached_models(provider: Provider) -> tuple[list[str], bool]:
    """The model list, from the cache when it is fresh: (models, came from the cache)."""
    key = _cache_key(provider)
    models = cache.get(key)
    if models is not None:
        return models, True
    models = fetch_models(provider)
    cache.set(key, models, settings.PROVIDER_MODELS_CACHE_SECONDS)
    return models, False


def check_connection(provider: Provider, model: str | None = None) -> CheckResult:
    """GET /models; where there is none (404/405) and a model is named, a one-token completion instead."""
    try:
        models = fetch_models(provider)
        cache.set(_cache_key(provider), models, settings.PROVIDER_MODELS_CACHE_SECONDS)
        return CheckResult(True, f"connected: {len(models)} models listed", "models", models=models)
    except ProbeError as exc:
        if exc.status_code not in (404, 405) or not model:
            return CheckResult(False, exc.message, "models", exc.kind, exc.status_code)
    try:
        _one_token(provider, model)
    except ProbeError as exc:
        return CheckResult(False, exc.message, "completion", exc.kind, exc.status_code)
    return CheckResult(True, f"connected: {model} answered a one-token completion", "completion")


def _one_token(provider: Provider, model: str) -> None:
    with _client(provider) as client:
        try:
            client.chat.completions.create(model=model, messages=[{"role": "user", "content": "ping"}], max_tokens=1)
        except openai.OpenAIError as exc:
            raise _error(exc) from None


def local_ollama() -> str | None:
    """The local Ollama URL when something OpenAI-compatible answers there (the first-run banner's hint).
    Only where private addresses are allowed: otherwise the server's localhost is not the user's machine."""
    url = settings.PROVIDER_OLLAMA_URL
    if not settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES or not url:
        return None
    try:
        response = httpx.get(f"{url.rstrip('/')}/models", timeout=1.0, trust_env=False)
    except httpx.HTTPError:
        return None
    return url if response.status_code == 200 else None
