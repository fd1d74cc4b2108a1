"""System checks that refuse an unsafe production configuration."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register


@register("playground")
def production_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    if settings.DEBUG:
        return []
    errors = []
    backend = str(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    if backend.endswith("InMemoryChannelLayer"):
        errors.append(
            Error(
                "The in-memory channel layer is for one process only; set REDIS_URL when DEBUG is off.",
                id="playground.E001",
            )
        )
    if settings.RUN_EXECUTOR == "inline":
        errors.append(
            Error(
                "RUN_EXECUTOR='inline' runs agents inside the web process; use 'celery' when DEBUG is off.",
                id="playground.E002",
            )
        )
    if settings.SECRET_KEY == settings.DEV_SECRET_KEY:
        errors.append(Error("SECRET_KEY is the development key; set SECRET_KEY.", id="playground.E003"))
    return errors
