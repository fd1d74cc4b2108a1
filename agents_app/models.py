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
    version = models.PositiveIntegerField(
        default=0, help_text="Number of the TeamVersion equal to `config` (0: none recorded yet)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class VersionOrigin(models.TextChoices):
    CREATE = "create"
    EDIT = "edit"
    UPLOAD = "upload"
    ADMIN = "admin"
    RESTORE = "restore"


class TeamVersion(models.Model):
    """One state of a team's config, never changed once written (agents_app.services writes them)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    origin = models.CharField(max_length=20, choices=VersionOrigin.choices, default=VersionOrigin.EDIT)
    note = models.CharField(max_length=500, blank=True, default="")
    restored_from = models.PositiveIntegerField(null=True, blank=True, help_text="The version a restore copied.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["team_id", "-number"]
        constraints = [models.UniqueConstraint(fields=["team", "number"], name="unique_version_per_team")]

    def __str__(self) -> str:
        return f"{self.team_id} v{self.number}"
