from __future__ import annotations

from django.conf import settings
from django.db import models


class Team(models.Model):
    """A saved team config (our canonical format, see agents_app.config)."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    config = models.JSONField(default=dict)
    shared = models.BooleanField(default=False, help_text="Visible read-only to every user (organisation gallery).")
    gallery_name = models.CharField(max_length=100, blank=True, default="", help_text="Gallery entry it came from.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.name
