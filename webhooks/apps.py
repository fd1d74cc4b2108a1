from __future__ import annotations

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks and run hooks"
    default_auto_field = "django.db.models.BigAutoField"
