"""Model endpoints a team config names (`base_url`, `azure_endpoint`), refused on loopback, private and
link-local addresses unless MODEL_ALLOW_PRIVATE_ADDRESSES is true (its default with DEBUG on: a local
Ollama): a multi-user server would otherwise let any user make it call its own network. Checked when a
team is saved, a run's snapshot is chosen, and again when a run executes (the host may resolve elsewhere
by then). Hosts an operator lists in MODEL_KEY_HOSTS or MODEL_ERROR_HOSTS are trusted as they are; a
stored provider's URL is checked by providers (PROVIDER_ALLOW_PRIVATE_ADDRESSES).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from django.conf import settings

from agents_app.config import ConfigErrorItem, TeamConfigError
from agents_app.engine.openai_client import errors_shown_for
from webhooks.urlsafety import url_problem

SETTING = "MODEL_ALLOW_PRIVATE_ADDRESSES"


def model_endpoints(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(JSON path, URL) of every model endpoint a config dict names; a plain walk, no validation."""
    holders: list[tuple[str, Any]] = [
        (f"participants[{i}].model", p.get("model")) for i, p in enumerate(config.get("participants") or [])
        if isinstance(p, dict)
    ]  # fmt: skip
    selector = config.get("selector")
    if isinstance(selector, dict):
        holders.append(("selector.model", selector.get("model")))
    found = []
    for path, model in holders:
        if not isinstance(model, dict):
            continue
        for field in ("base_url", "azure_endpoint"):
            if isinstance(model.get(field), str):
                found.append((f"{path}.{field}", model[field]))
    return found


def endpoint_problem(url: str) -> str | None:
    """Why a model may not call `url` on this server, or None."""
    if settings.MODEL_ALLOW_PRIVATE_ADDRESSES or errors_shown_for(url, os.environ):
        return None
    return url_problem(url, allow_private=False, setting=SETTING)


def check_model_endpoints(config: Mapping[str, Any], prefix: str = "") -> None:
    """TeamConfigError naming (under `prefix`) each model endpoint this server refuses."""
    if settings.MODEL_ALLOW_PRIVATE_ADDRESSES:
        return
    errors = [
        ConfigErrorItem(path=f"{prefix}{path}", message=problem)
        for path, url in model_endpoints(config)
        if (problem := endpoint_problem(url)) is not None
    ]
    if errors:
        raise TeamConfigError(errors)


def check_override(model_override: Any) -> None:
    """TeamConfigError naming `model_override[.agent].base_url` when it points at a refused endpoint."""
    if settings.MODEL_ALLOW_PRIVATE_ADDRESSES or not isinstance(model_override, dict):
        return
    overrides = [("", model_override)] if "model" in model_override else [
        (f".{name}", o) for name, o in model_override.items() if isinstance(o, dict)
    ]  # fmt: skip
    errors = [
        ConfigErrorItem(path=f"model_override{where}.base_url", message=problem)
        for where, o in overrides
        if isinstance(o.get("base_url"), str) and (problem := endpoint_problem(o["base_url"])) is not None
    ]
    if errors:
        raise TeamConfigError(errors)
