"""Every write to a provider: fields checked (the URL like a webhook's, against SSRF), the key encrypted."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from playground.errors import ApiError
from providers import crypto
from providers.models import Provider, ProviderKind
from webhooks.urlsafety import UnsafeURL, check_url

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_UNSET: Any = object()


def check_endpoint(url: str) -> None:
    """UnsafeURL for a URL a provider must not call (private addresses unless the setting allows)."""
    check_url(url, allow_private=settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES, setting="PROVIDER_ALLOW_PRIVATE_ADDRESSES")


def _validate(provider: Provider) -> None:
    errors = []
    if not re.match(NAME_PATTERN, provider.name):
        message = "1-64 letters, digits, '_', '-' or '.', starting with a letter or digit"
        errors.append({"path": "name", "message": message})
    if provider.kind not in ProviderKind.values:
        errors.append({"path": "kind", "message": f"one of {', '.join(ProviderKind.values)}"})
    if provider.kind in (ProviderKind.OPENAI_COMPATIBLE, ProviderKind.AZURE_OPENAI) and not provider.base_url:
        what = "the Azure OpenAI endpoint" if provider.kind == ProviderKind.AZURE_OPENAI else "the server's base URL"
        errors.append({"path": "base_url", "message": f"required: {what}"})
    if provider.kind == ProviderKind.AZURE_OPENAI and not provider.api_version:
        errors.append({"path": "api_version", "message": "required for Azure OpenAI (e.g. 2024-10-21)"})
    if provider.kind != ProviderKind.AZURE_OPENAI and provider.api_version:
        errors.append({"path": "api_version", "message": "only Azure OpenAI takes an API version"})
    if provider.base_url:
        try:
            check_endpoint(provider.base_url)
        except UnsafeURL as exc:
            errors.append({"path": "base_url", "message": str(exc)})
    if errors:
        raise ApiError(400, "Invalid provider.", errors)


def _save(provider: Provider) -> Provider:
    _validate(provider)
    try:
        with transaction.atomic():
            provider.save()
    except IntegrityError:
        message = f"you already have a provider named {provider.name!r}"
        raise ApiError(409, "Provider name taken.", [{"path": "name", "message": message}]) from None
    return provider


def _check_shared(user: Any, shared: bool) -> None:
    if shared and not user.is_staff:
        raise ApiError(
            403, "Only staff can share a provider with everyone.", [{"path": "shared", "message": "staff only"}]
        )


def provider_create(
    *,
    owner: Any,
    name: str,
    kind: str,
    base_url: str = "",
    api_version: str = "",
    api_key: str = "",
    shared: bool = False,
) -> Provider:
    _check_shared(owner, shared)
    provider = Provider(owner=owner, name=name, kind=kind, base_url=base_url.strip(), api_version=api_version)
    provider.shared = shared
    provider.set_api_key(api_key)
    return _save(provider)


def provider_update(*, provider: Provider, user: Any, api_key: str | None = None, **fields: Any) -> Provider:
    """Change the given fields; `api_key` None keeps the stored key, "" removes it."""
    if fields.get("shared"):
        _check_shared(user, True)
    for name, value in fields.items():
        if value is not None:
            setattr(provider, name, value.strip() if name == "base_url" else value)
    if provider.kind != ProviderKind.AZURE_OPENAI and "api_version" not in fields:
        provider.api_version = ""  # changed away from Azure: the version means nothing any more
    if api_key is not None:
        provider.set_api_key(api_key)
    return _save(provider)


def provider_delete(*, provider: Provider) -> None:
    provider.delete()


def rotate_keys() -> tuple[int, list[int]]:
    """Re-encrypt every stored key under the first secret: (how many re-encrypted, ids no secret could read)."""
    done, unreadable = 0, []
    for provider in Provider.objects.exclude(api_key_encrypted="").only("id", "api_key_encrypted").iterator():
        try:
            token = crypto.rotate(provider.api_key_encrypted)
        except crypto.KeyUnreadable:
            unreadable.append(provider.id)
            continue
        Provider.objects.filter(id=provider.id, api_key_encrypted=provider.api_key_encrypted).update(
            api_key_encrypted=token
        )
        done += 1
    return done, unreadable
