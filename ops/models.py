"""Operations records: worker heartbeats."""

from __future__ import annotations

from django.db import models


class WorkerHeartbeat(models.Model):
    """Written by the `ops.worker_heartbeat` beat task on whichever worker runs it (and on worker start)."""

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at.isoformat()}"
