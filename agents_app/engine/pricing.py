"""What a model call cost in US dollars: prices from `genai-prices`, overridable per model.

`Pricing.cost(model_config, usage)` answers for one call: the override's price when the model is
listed in `overrides` (self-hosted or discounted models), 0 for the offline scripted model, else
the `genai-prices` price of the provider's model, and None when nobody knows the price
(an OpenAI-compatible server of one's own). Cached prompt tokens are part of `prompt_tokens`, as
OpenAI reports them, and are charged at the cached rate where the model has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from agents_app.config import AzureOpenAIModel, OpenAIModel, ScriptedModel
from agents_app.engine.events import RequestUsage

ModelConfig = ScriptedModel | OpenAIModel | AzureOpenAIModel
_MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """US dollars per million tokens; cached prompt tokens at `cached_input` (default: `input`)."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None

    def cost(self, usage: RequestUsage) -> Decimal:
        cached = min(usage.cached_tokens, usage.prompt_tokens)
        cached_rate = self.input if self.cached_input is None else self.cached_input
        prompt = (usage.prompt_tokens - cached) * self.input + cached * cached_rate
        return (prompt + usage.completion_tokens * self.output) / _MILLION


def parse_prices(raw: Mapping[str, Any]) -> dict[str, ModelPrice]:
    """`{"model": {"input": 0.15, "output": 0.6, "cached_input": 0.075}}` -> ModelPrice per model;
    raises ValueError naming the model and field that is wrong."""
    prices = {}
    for model, entry in raw.items():
        if not isinstance(entry, Mapping):
            raise ValueError(f"price of {model!r} must be an object with input and output")
        unknown = set(entry) - {"input", "output", "cached_input"}
        if unknown:
            raise ValueError(f"price of {model!r} has unknown field(s) {', '.join(sorted(unknown))}")
        values: dict[str, Decimal] = {}
        for name in ("input", "output", "cached_input"):
            if name not in entry:
                if name == "cached_input":
                    continue
                raise ValueError(f"price of {model!r} needs {name!r} (US dollars per million tokens)")
            try:
                value = Decimal(str(entry[name]))
            except ArithmeticError:
                raise ValueError(f"price of {model!r}: {name}={entry[name]!r} is not a number") from None
            if not value.is_finite() or value < 0:
                raise ValueError(f"price of {model!r}: {name}={entry[name]!r} must be a number >= 0")
            values[name] = value
        prices[str(model)] = ModelPrice(values["input"], values["output"], values.get("cached_input"))
    return prices


class Pricing:
    """Prices model calls; `overrides` are keyed by model name, or `provider:model` for one provider."""

    def __init__(self, overrides: Mapping[str, ModelPrice] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def cost(self, model: ModelConfig, usage: RequestUsage) -> float | None:
        override = self.overrides.get(f"{model.provider}:{model.model}") or self.overrides.get(model.model)
        if override is not None:
            return float(override.cost(usage))
        if isinstance(model, ScriptedModel):
            return 0.0
        return _library_cost(model, usage)


# Models the price table does not know, by (model, where): a lookup that fails raises and costs
# about 0.1 ms, and a self-hosted model would pay it on every call.
_UNPRICED: set[tuple[str, str, str]] = set()


def _library_cost(model: OpenAIModel | AzureOpenAIModel, usage: RequestUsage) -> float | None:
    from genai_prices import Usage, calc_price

    where: dict[str, str] = {"provider_id": "azure"} if isinstance(model, AzureOpenAIModel) else {}
    if isinstance(model, OpenAIModel):
        # A base_url of one's own (Ollama, vLLM) has no public price; a known vendor's URL does.
        where = {"provider_api_url": model.base_url} if model.base_url else {"provider_id": "openai"}
    ((how, value),) = where.items()
    key = (model.model, how, value)
    if key in _UNPRICED:
        return None
    counts = Usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        cache_read_tokens=min(usage.cached_tokens, usage.prompt_tokens) or None,
    )
    try:
        return float(calc_price(counts, model.model, **where).total_price)  # type: ignore[call-overload]
    except LookupError:
        _UNPRICED.add(key)
        return None


def warm_up() -> None:
    """Load the bundled price table (about 20 ms the first time), so no run pays for it."""
    _library_cost(OpenAIModel(provider="openai", model="gpt-4o-mini"), RequestUsage(1, 1))
