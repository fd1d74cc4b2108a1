"""Worker liveness: a timestamp per worker, written by the `ops.worker_heartbeat` beat task and at worker start."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from ops.models import WorkerHeartbeat


def beat(worker: str) -> None:
    WorkerHeartbeat.objects.update_or_create(worker=worker[:200], defaults={"seen_at": timezone.now()})


def last_seen() -> tuple[str, datetime] | None:
    row = WorkerHeartbeat.objects.order_by("-seen_at").values_list("worker", "seen_at").first()
    return (row[0], row[1]) if row else None
