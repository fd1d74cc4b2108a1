"""The deployment's model prices: genai-prices, overridden per model by the MODEL_PRICES setting."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from agents_app.engine import Pricing
from agents_app.engine.pricing import parse_prices

_cache: tuple[Any, Pricing] | None = None


def pricing() -> Pricing:
    """One Pricing per value of MODEL_PRICES (tests change it); raises ValueError naming a bad entry."""
    global _cache
    raw = settings.MODEL_PRICES
    if _cache is None or _cache[0] is not raw:
        _cache = (raw, Pricing(parse_prices(raw)))
    return _cache[1]
