"""Celery entry points of ops: load by id, call a service."""

from __future__ import annotations

import socket

from celery import shared_task


@shared_task(name="ops.worker_heartbeat", bind=True, ignore_result=True, expires=60)
def worker_heartbeat(self: object) -> None:
    from ops.heartbeat import beat

    hostname = getattr(getattr(self, "request", None), "hostname", None) or socket.gethostname()
    beat(str(hostname))
