from __future__ import annotations

from django.apps import AppConfig


class ProvidersConfig(AppConfig):
    name = "providers"
    verbose_name = "Model providers"
    default_auto_field = "django.db.models.BigAutoField"
