"""A run's trace: one row per span, written in batches by the code that did the work (traces.recording).

Spans of one run share its trace id; `parent_id` links them into one tree across executions
(a queue wait, each execution, its turns, model and tool calls, each wait for a person). A model
call's numbers are columns too, so usage and budgets are sums over indexed rows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Span(models.Model):
    run = models.ForeignKey("runs.Run", on_delete=models.CASCADE, related_name="spans")
    trace_id = models.CharField(max_length=32)
    span_id = models.CharField(max_length=16)
    parent_id = models.CharField(max_length=16, blank=True, default="")
    kind = models.CharField(max_length=20)
    name = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True, help_text="Empty while the span is open.")
    error = models.TextField(blank=True, default="")
    attributes = models.JSONField(default=dict, blank=True)
    seq = models.PositiveIntegerField(null=True, blank=True, help_text="The message this span produced.")
    # A model call's model and usage (also in `attributes`), for sums by day, team and model.
    model = models.CharField(max_length=200, blank=True, default="")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cached_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=18, decimal_places=10, null=True, blank=True, help_text="US dollars")

    class Meta:
        ordering = ["run_id", "started_at", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "span_id"], name="unique_span_per_run")]
        indexes = [models.Index(fields=["kind", "started_at"])]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.name}"

    @property
    def duration(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class MonthlyBudget(models.Model):
    """A user's own monthly spending limit in US dollars (overrides USER_MONTHLY_BUDGET_USD)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="monthly_budget")
    limit = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="US dollars a month; empty = no limit."
    )

    def __str__(self) -> str:
        return f"{self.user}: {self.limit if self.limit is not None else 'no limit'}"
