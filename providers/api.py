"""/api/providers: a user's model providers (and the shared ones), their connection test and model list.

Another user's private provider answers 404 like a missing one. The API key is write-only: responses
carry `has_key` and `key_last4`, never the key. Shared providers are usable by everyone (test, models,
team configs) and writable only by their owner.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.responses import Status

from playground.errors import ApiError
from playground.schemas import InputSchema
from providers import probe, selectors, services
from providers.models import Provider

router = Router(tags=["providers"])

# A plain string checked by the service (a 400 naming `kind`), so a NUL in it is refused like in any text field.
KINDS: dict[str, Any] = {"enum": ["openai", "azure_openai", "openai_compatible"]}


class ProviderIn(InputSchema):
    name: str = Field(max_length=64, description="what team configs call it: model.provider_ref")
    kind: str = Field(..., max_length=40, json_schema_extra=KINDS)
    base_url: str = Field("", max_length=2000, description="OpenAI-compatible base URL (…/v1) or Azure endpoint")
    api_version: str = Field("", max_length=40, description="Azure OpenAI only")
    api_key: str = Field("", max_length=1000, description="write-only; stored encrypted, shown by its last 4")
    shared: bool = Field(False, description="usable by every user (staff only)")


class ProviderPatchIn(InputSchema):
    name: str | None = Field(None, max_length=64)
    kind: str | None = Field(None, max_length=40, json_schema_extra=KINDS)
    base_url: str | None = Field(None, max_length=2000)
    api_version: str | None = Field(None, max_length=40)
    api_key: str | None = Field(None, max_length=1000, description='omit to keep the key, "" to remove it')
    shared: bool | None = None


class ProviderOut(Schema):
    id: int
    name: str
    kind: str
    base_url: str
    endpoint: str = Field(description="where requests (and the key) go")
    api_version: str
    has_key: bool
    key_last4: str
    shared: bool
    mine: bool = Field(description="false for a shared provider of someone else's (read-only)")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_mine(provider: Provider, context: Any) -> bool:
        return bool(provider.owner_id == context["request"].user.pk)


class TestIn(InputSchema):
    model: str | None = Field(
        None, max_length=200, description="tried with a one-token completion if the server lists no models"
    )


class TestOut(Schema):
    ok: bool
    detail: str
    method: str = Field(description="models (GET /models) or completion (a one-token completion)")
    error_kind: str | None = Field(
        description="wrong_key, unreachable, tls, timeout, http_error, unsafe_url or key_unreadable"
    )
    status_code: int | None
    models: list[str]


class ModelsOut(Schema):
    models: list[str]
    cached: bool


@router.get("", response=list[ProviderOut])
def provider_list(request: HttpRequest) -> QuerySet[Provider]:
    return selectors.usable_providers(request.user)


@router.post("", response={201: ProviderOut})
def provider_create(request: HttpRequest, payload: ProviderIn) -> Status:
    return Status(201, services.provider_create(owner=request.user, **payload.model_dump()))


class OllamaOut(Schema):
    base_url: str | None = Field(description="the local Ollama's URL when it answers, else null")


@router.get("/ollama", response=OllamaOut)
def provider_ollama(request: HttpRequest) -> dict[str, Any]:
    """Whether a local Ollama answers (the first-run banner prefills "Add a provider" with it)."""
    return {"base_url": probe.local_ollama()}


@router.get("/{provider_id}", response=ProviderOut)
def provider_detail(request: HttpRequest, provider_id: int) -> Provider:
    return selectors.usable_provider(request.user, provider_id)


def _writable(request: HttpRequest, provider_id: int) -> Provider:
    provider = selectors.usable_provider(request.user, provider_id)
    if provider.owner_id != request.user.pk:
        raise ApiError(403, "A shared provider can be changed only by its owner.")
    return provider


@router.patch("/{provider_id}", response=ProviderOut)
def provider_update(request: HttpRequest, provider_id: int, payload: ProviderPatchIn) -> Provider:
    provider = _writable(request, provider_id)
    return services.provider_update(provider=provider, user=request.user, **payload.model_dump(exclude_unset=True))


@router.delete("/{provider_id}", response={204: None})
def provider_delete(request: HttpRequest, provider_id: int) -> Status:
    services.provider_delete(provider=_writable(request, provider_id))
    return Status(204, None)


@router.post("/{provider_id}/test", response=TestOut)
def provider_test(request: HttpRequest, provider_id: int, payload: TestIn) -> probe.CheckResult:
    provider = selectors.usable_provider(request.user, provider_id)
    return probe.check_connection(provider, payload.model)


@router.get("/{provider_id}/models", response=ModelsOut)
def provider_models(request: HttpRequest, provider_id: int) -> dict[str, Any]:
    provider = selectors.usable_provider(request.user, provider_id)
    try:
        models, cached = probe.cached_models(provider)
    except probe.ProbeError as exc:
        raise ApiError(502, f"The provider did not list its models ({exc.kind}): {exc.message}") from None
    return {"models": models, "cached": cached}
