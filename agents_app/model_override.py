"""A run's model override: run a team on another model without editing the team.

`{"model": "...", "base_url"?: "...", "provider_ref"?: "..."}` applies to every assistant (and a selector team's speaker
selection); `{"<agent name>": {...}, ...}` to the agents named. The result is a plain team config,
so the override becomes part of the run's snapshot and the engine needs to know nothing about it.
No Django here: the REST API and the start frame both call it through runs.services.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from pydantic import Field, TypeAdapter, ValidationError, field_validator, model_validator

from agents_app.config import (
    PROVIDER_REF_PATTERN,
    Strict,
    TeamConfigError,
    check_endpoint,
    errors_from_validation,
    validate_team_config,
)

# Settings that mean the same whatever serves the model; kept when the override changes the provider.
_PORTABLE = ("temperature", "max_tokens", "timeout", "max_retries")


class ModelOverride(Strict):
    model: str = Field(min_length=1, max_length=200, description="the model name to call instead")
    base_url: str | None = Field(
        default=None, min_length=1, max_length=2_000, description="an OpenAI-compatible endpoint to call it at"
    )
    provider_ref: str | None = Field(
        default=None, pattern=PROVIDER_REF_PATTERN, description="a stored provider (yours or shared) to call it on"
    )

    @model_validator(mode="after")
    def _one_endpoint(self) -> ModelOverride:
        if self.base_url and self.provider_ref:
            raise ValueError("give base_url or provider_ref, not both")
        return self

    _endpoint = field_validator("base_url")(check_endpoint)


ModelOverrideSpec: TypeAlias = ModelOverride | dict[str, ModelOverride]
_per_agent: TypeAdapter[dict[str, ModelOverride]] = TypeAdapter(dict[str, ModelOverride])


def parse_model_override(data: Any, path: str = "model_override") -> ModelOverrideSpec:
    """Either form; TeamConfigError naming `path...` for anything else."""
    if isinstance(data, dict) and isinstance(data.get("model"), str):
        try:
            return ModelOverride.model_validate(data)
        except ValidationError as exc:
            raise TeamConfigError(errors_from_validation(exc, path)) from None
    if not isinstance(data, dict) or not data:
        message = 'give {"model": ...} for every agent, or {"<agent name>": {"model": ...}} per agent'
        raise TeamConfigError([{"path": path, "message": message}])
    try:
        return _per_agent.validate_python(data)
    except ValidationError as exc:
        raise TeamConfigError(errors_from_validation(exc, path)) from None


def override_dump(spec: ModelOverrideSpec) -> dict[str, Any]:
    if isinstance(spec, ModelOverride):
        return spec.model_dump(mode="json", exclude_none=True)
    return {name: o.model_dump(mode="json", exclude_none=True) for name, o in spec.items()}


def apply_model_override(config: dict[str, Any], spec: ModelOverrideSpec) -> dict[str, Any]:
    """The config with the override applied, validated; TeamConfigError for an agent it does not have."""
    new = {**config, "participants": [dict(p) for p in config["participants"]]}
    assistants = {p["name"]: p for p in new["participants"] if p.get("kind") == "assistant"}
    if isinstance(spec, ModelOverride):
        targets = [(agent, spec) for agent in assistants.values()]
        if new.get("selector"):
            new["selector"] = dict(new["selector"])
            targets.append((new["selector"], spec))
    else:
        unknown = [name for name in spec if name not in assistants]
        if unknown:
            known = ", ".join(assistants) or "none"
            message = f"no assistant of that name in the team (its assistants: {known})"
            raise TeamConfigError([{"path": f"model_override.{name}", "message": message} for name in unknown])
        targets = [(assistants[name], o) for name, o in spec.items()]
    for holder, override in targets:
        holder["model"] = _overridden(holder["model"], override)
    return validate_team_config(new).model_dump(mode="json")


def _overridden(model: dict[str, Any], override: ModelOverride) -> dict[str, Any]:
    provider = model.get("provider")
    kept = {key: model[key] for key in _PORTABLE if key in model}
    if override.provider_ref:
        return {"provider": "openai", "provider_ref": override.provider_ref, "model": override.model, **kept}
    if provider == "openai" and not (override.base_url and model.get("provider_ref")):
        changed = {**model, "model": override.model}
        if override.base_url:
            changed["base_url"] = override.base_url
        return changed
    if provider == "azure_openai" and not override.base_url:
        changed = {**model, "model": override.model}
        if model.get("azure_deployment"):
            changed["azure_deployment"] = override.model  # Azure calls the deployment, not the model name
        return changed
    # A scripted model (or an Azure one, or a stored provider's, pointed elsewhere) becomes an OpenAI-compatible one.
    new = {"provider": "openai", "model": override.model, **kept}
    if override.base_url:
        new["base_url"] = override.base_url
    return new
