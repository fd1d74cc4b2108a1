"""`provider_ref` in team configs: checked when a run is created or started, resolved when it executes.

A run uses its owner's provider of that name, else a shared one. A team shared with other users that
names its owner's private provider is refused for them at start (TeamConfigError naming the field),
never run with its owner's key. At execution the provider's endpoint and decrypted key go to the engine
as a `ProviderEndpoint`; the run's stored snapshot keeps only the name. An AutoGen team imported by a user
is pointed at the user's providers whose endpoint its model clients name (`adopt_providers`).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from agents_app.config import ConfigErrorItem, TeamConfig, TeamConfigError, validate_team_config
from agents_app.engine import ProviderEndpoint
from providers import crypto
from providers.models import Provider
from providers.selectors import provider_named
from providers.services import check_endpoint
from webhooks.urlsafety import UnsafeURL


def provider_refs(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(JSON path, name) of every provider_ref in a config dict; a plain walk, no validation."""
    holders: list[tuple[str, Any]] = [
        (f"participants[{i}].model", p.get("model"))
        for i, p in enumerate(config.get("participants") or [])
        if isinstance(p, dict)
    ]
    selector = config.get("selector")
    if isinstance(selector, dict):
        holders.append(("selector.model", selector.get("model")))
    return [
        (f"{path}.provider_ref", model["provider_ref"])
        for path, model in holders
        if isinstance(model, dict) and isinstance(model.get("provider_ref"), str)
    ]


def _missing(name: str) -> str:
    return (
        f"no provider named {name!r} is yours or shared with everyone (a shared team may name its owner's "
        "private provider: add a provider of that name on the Providers page, or run it with a model override)"
    )


def check_usable(config: dict[str, Any], owner_id: int) -> None:
    """TeamConfigError naming each provider_ref the run's owner cannot use. One query, only when refs exist."""
    refs = provider_refs(config)
    if not refs:
        return
    names = {name for _, name in refs}
    usable = {p.name for p in _candidates(owner_id, names)}
    errors = [{"path": path, "message": _missing(name)} for path, name in refs if name not in usable]
    if errors:
        raise TeamConfigError(errors)


def unusable_warnings(config: dict[str, Any], owner_id: int) -> list[ConfigErrorItem]:
    """check_usable's findings as warnings: saving such a team is allowed (it may be shared with users who
    have a provider of that name), but its author is told at once rather than when a run is refused."""
    try:
        check_usable(config, owner_id)
    except TeamConfigError as exc:
        return exc.errors
    return []


def _candidates(owner_id: int, names: set[str]) -> list[Provider]:
    return list(Provider.objects.filter(Q(owner_id=owner_id) | Q(shared=True), name__in=names))


class ProviderUnavailable(Exception):
    """A provider a run names is gone, or its key cannot be read: the run fails with this message."""


def endpoints_for(config: dict[str, Any], owner_id: int) -> dict[str, ProviderEndpoint]:
    """The endpoints (with decrypted keys) of the providers a run's config names, for its owner."""
    endpoints: dict[str, ProviderEndpoint] = {}
    for path, name in provider_refs(config):
        if name in endpoints:
            continue
        provider = provider_named(owner_id, name)
        if provider is None:
            raise ProviderUnavailable(f"{path}: {_missing(name)}")
        try:
            check_endpoint(provider.endpoint)  # again: the host may resolve elsewhere since it was saved
            key = provider.api_key()
        except (crypto.KeyUnreadable, UnsafeURL) as exc:
            raise ProviderUnavailable(f"provider {name!r}: {exc}") from None
        endpoints[name] = ProviderEndpoint(
            kind=provider.kind, url=provider.endpoint, api_version=provider.api_version, api_key=key
        )
    return endpoints


def _same_endpoint(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def adopt_providers(config: TeamConfig, owner_id: int) -> tuple[TeamConfig, list[ConfigErrorItem]]:
    """An imported AutoGen team with each model client whose base_url (or Azure endpoint) is the endpoint
    of one of `owner_id`'s providers (or a shared one) pointed at that provider, and a warning for each."""
    data = config.model_dump(mode="json")
    providers = sorted(
        Provider.objects.filter(Q(owner_id=owner_id) | Q(shared=True)), key=lambda p: (p.owner_id != owner_id, p.id)
    )
    warnings: list[ConfigErrorItem] = []
    for path, holder in _model_holders(data):
        model = holder["model"]
        endpoint = model.get("base_url") if model.get("provider") == "openai" else model.get("azure_endpoint")
        if not isinstance(endpoint, str) or model.get("provider_ref"):
            continue
        match = next((p for p in providers if p.endpoint and _same_endpoint(p.endpoint, endpoint)), None)
        if match is None:
            continue
        name = (
            model.get("azure_deployment") or model["model"] if model["provider"] == "azure_openai" else model["model"]
        )
        kept = {
            k: model[k] for k in ("temperature", "max_tokens", "timeout", "max_retries", "model_info") if k in model
        }
        holder["model"] = {"provider_ref": match.name, "model": name, **kept}
        whose = "your" if match.owner_id == owner_id else "the shared"
        message = f"{endpoint} is {whose} provider {match.name!r}: the model uses it (provider_ref) and its key"
        warnings.append(ConfigErrorItem(path=path, message=message))
    if not warnings:
        return config, []
    return validate_team_config(data), warnings


def _model_holders(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(AutoGen document path of the model client, the native object holding `model`)."""
    holders = [
        (f"config.participants[{i}].config.model_client", p)
        for i, p in enumerate(data.get("participants") or [])
        if isinstance(p, dict) and isinstance(p.get("model"), dict)
    ]
    if isinstance(data.get("selector"), dict):
        holders.append(("config.model_client", data["selector"]))
    return holders
