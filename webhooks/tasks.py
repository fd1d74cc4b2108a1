"""Celery entry points of the after-run work: load by id, call a service.

The task names keep their `ops.` prefix from before the split: messages already queued under them
(a webhook retry waiting out its countdown) must still find their task after a deploy.
"""

from __future__ import annotations

from celery import shared_task

from webhooks import services


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
