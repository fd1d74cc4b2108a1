"""After-run records: background hook calls, team webhooks and their deliveries.

These models lived in `ops` until the split; `db_table` keeps their original tables so an existing
database keeps its rows (the move was a state-only migration, webhooks/migrations/0001).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class RunNotice(models.Model):
    """One row per finished run whose hooks and webhooks were scheduled: makes `run_finished` idempotent
    (a final frame can be published more than once, e.g. by the sweep and a late worker)."""

    run = models.OneToOneField("runs.Run", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ops_runnotice"

    def __str__(self) -> str:
        return f"run {self.run_id} finished"


class HookCall(models.Model):
    class Status(models.TextChoices):
        OK = "ok"
        FAILED = "failed"

    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="hook_calls")
    hook = models.CharField(max_length=300, help_text="Dotted path of the hook function.")
    status = models.CharField(max_length=10, choices=Status.choices)
    error = models.TextField(blank=True, default="")
    traceback = models.TextField(blank=True, default="")
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "ops_hookcall"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.hook} on run {self.run_id}: {self.status}"


class Webhook(models.Model):
    """POSTs a signed run summary to `url` when a run of `team` owned by `owner` finishes."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webhooks")
    team = models.ForeignKey("agents_app.Team", on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    # Kept in clear: the HMAC needs it. Never returned by the API after creation (only its prefix).
    secret = models.CharField(max_length=200)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "ops_webhook"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["team", "owner", "active"])]

    def __str__(self) -> str:
        return f"{self.url} ({self.team_id})"

    @property
    def secret_prefix(self) -> str:
        return self.secret[:6]


class WebhookDelivery(models.Model):
    """One HTTP attempt; the attempts of one (webhook, run) share `delivery_id`."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="webhook_deliveries")
    delivery_id = models.CharField(max_length=64, db_index=True)
    attempt = models.PositiveIntegerField()
    success = models.BooleanField(default=False)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "ops_webhookdelivery"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"delivery {self.delivery_id} #{self.attempt}: {self.status_code or self.error[:40]}"
