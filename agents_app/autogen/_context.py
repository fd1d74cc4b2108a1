"""Shared plumbing for reading a component document: paths, errors, warnings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from agents_app.autogen._providers import CANONICAL, CATEGORY, Category, resolve
from agents_app.config import REDACTED_KEY, ConfigErrorItem, errors_from_validation

# Our own settings that AutoGen has no field for ride along in a component under this
# key; AutoGen's loader ignores unknown envelope keys, so the document stays loadable.
NAMESPACE = "agent_playground"


@dataclass
class Ctx:
    """Collects every problem in one pass so the user sees them all, not one per upload."""

    errors: list[ConfigErrorItem] = field(default_factory=list)
    warnings: list[ConfigErrorItem] = field(default_factory=list)

    def error(self, path: str, message: str) -> None:
        self.errors.append(ConfigErrorItem(path=path, message=message))

    def warn(self, path: str, message: str) -> None:
        self.warnings.append(ConfigErrorItem(path=path, message=message))

    def validate(self, model: type[BaseModel] | TypeAdapter[Any], data: dict[str, Any], path: str) -> Any:
        """Validate one of our models; errors are reported under `path` (field names match AutoGen's)."""
        try:
            if isinstance(model, TypeAdapter):
                return model.validate_python(data)
            return model.model_validate(data)
        except ValidationError as exc:
            self.errors.extend(errors_from_validation(exc, prefix=path))
            return None


@dataclass(frozen=True)
class Component:
    name: str  # our class name for the provider, e.g. "AssistantAgent"
    config: dict[str, Any]
    path: str  # JSON path of the component object itself
    envelope: dict[str, Any]

    @property
    def config_path(self) -> str:
        return join(self.path, "config")

    @property
    def extras(self) -> dict[str, Any]:
        value = self.envelope.get(NAMESPACE)
        return value if isinstance(value, dict) else {}


def join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def read_component(ctx: Ctx, value: Any, path: str, category: Category) -> Component | None:
    """Check the envelope of a component expected to be of `category`; report and return None if unusable."""
    if not isinstance(value, dict):
        ctx.error(path, f"expected an AutoGen {category} component (an object with 'provider' and 'config')")
        return None
    provider = value.get("provider")
    if not isinstance(provider, str) or not provider:
        ctx.error(join(path, "provider"), "missing 'provider'")
        return None
    name = resolve(provider)
    if name is None:
        ctx.error(
            join(path, "provider"), f"unsupported {category} provider {provider!r}; supported: {_supported(category)}"
        )
        return None
    if CATEGORY[name] != category:
        found = f"got {CATEGORY[name]!r} component {provider!r}"
        ctx.error(join(path, "provider"), f"expected a component of type {category!r} here, {found}")
        return None
    config = value.get("config", {})
    if not isinstance(config, dict):
        ctx.error(join(path, "config"), "'config' must be an object")
        return None
    return Component(name=name, config=config, path=path, envelope=value)


def _supported(category: Category) -> str:
    return ", ".join(CANONICAL[name] for name, cat in CATEGORY.items() if cat == category)


def is_secret(value: Any) -> bool:
    """True for a real credential; absent, empty and AutoGen's redaction marker are not."""
    return isinstance(value, str) and value.strip() not in ("", REDACTED_KEY)
