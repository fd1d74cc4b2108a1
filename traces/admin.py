from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from playground.admin_mixins import OwnedAdmin
from traces.models import MonthlyBudget, Span


@admin.register(Span)
class SpanAdmin(OwnedAdmin):
    owner_field = "run__owner"
    list_display = ("run", "kind", "name", "started_at", "ended_at", "model", "input_tokens", "output_tokens", "cost")
    list_filter = ("kind", "started_at")
    search_fields = ("name", "model", "run__task")
    readonly_fields = [f.name for f in Span._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MonthlyBudget)
class MonthlyBudgetAdmin(admin.ModelAdmin):
    list_display = ("user", "limit")
    search_fields = ("user__username",)
    autocomplete_fields = ("user",)
