"""Celery entry points of ops: load by id, call a service."""

from __future__ import annotations

import socket

from celery import shared_task

from ops import services


@shared_task(name="ops.run_hook", ignore_result=True)
def run_hook(run_id: int, path: str) -> None:
    services.hook_call(run_id, path)


@shared_task(name="ops.deliver_webhook", ignore_result=True, acks_late=True)
def deliver_webhook(webhook_id: int, run_id: int, delivery_id: str, attempt: int = 1) -> None:
    result = services.webhook_attempt(webhook_id=webhook_id, run_id=run_id, delivery_id=delivery_id, attempt=attempt)
    if result.retry:
        deliver_webhook.apply_async(
            args=(webhook_id, run_id, delivery_id, attempt + 1), countdown=services.backoff_seconds(attempt)
        )


@shared_task(name="ops.worker_heartbeat", bind=True, ignore_result=True, expires=60)
def worker_heartbeat(self: object) -> None:
    from ops.heartbeat import beat

    hostname = getattr(getattr(self, "request", None), "hostname", None) or socket.gethostname()
    beat(str(hostname))
