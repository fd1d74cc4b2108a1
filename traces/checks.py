"""System checks: price overrides that parse, and a /metrics that is not open by accident."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Warning, register

from agents_app.engine.pricing import parse_prices


@register()
def check_prices_and_metrics(app_configs: Any = None, **kwargs: Any) -> list[Error | Warning]:
    problems: list[Error | Warning] = []
    try:
        parse_prices(settings.MODEL_PRICES)
    except ValueError as exc:
        problems.append(Error(f"MODEL_PRICES: {exc}", id="traces.E001"))
    if settings.METRICS_PUBLIC and not settings.DEBUG:
        problems.append(Warning("METRICS_PUBLIC is on: anyone who reaches /metrics reads it.", id="traces.W001"))
    return problems
