from __future__ import annotations

from django.contrib import admin

from ops.models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ("worker", "seen_at")
    readonly_fields = ("worker", "seen_at")
