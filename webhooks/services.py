"""What happens after a run finishes: background hooks (PLAYGROUND_RUN_HOOKS) and team webhooks.

`run_finished(run_id)` is called once a run's final frame is out.
It returns at once: the work runs on a background thread, which records the run as noticed
(once, however often the final frame is published), then hands each hook and each webhook
delivery to Celery (the tasks `ops.run_hook`, `ops.deliver_webhook`) or, with the inline executor, to
in-process background jobs with the same retry schedule. Nothing here changes the run.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import random
import time
import traceback
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string

from ops.logs import run_logging
from runs.loops import runs_in_celery
from runs.models import Run
from webhooks import background, signing
from webhooks.models import HookCall, RunNotice, Webhook, WebhookDelivery
from webhooks.urlsafety import Target, UnsafeURL, resolve_target

logger = logging.getLogger(__name__)
RESPONSE_EXCERPT_BYTES = 1000
USER_AGENT = "AgentPlayground-Webhook/1"


def has_after_work(run: Run) -> bool:
    """Whether a finished run has hooks or webhooks to call (sync, one query at most).

    Most runs have neither: runs.announce asks first, so they cost no background job,
    no database connection and no RunNotice row.
    """
    if settings.PLAYGROUND_RUN_HOOKS:
        return True
    if run.team_id is None:
        return False
    return Webhook.objects.filter(team_id=run.team_id, owner_id=run.owner_id, active=True).exists()


def run_finished(run_id: int) -> None:
    """Schedule the run's hooks and webhooks; never blocks, never raises."""
    try:
        background.submit(_after_run, run_id)
    except Exception:
        logger.exception("run %s: could not schedule hooks and webhooks", run_id)


def _after_run(run_id: int) -> None:
    with run_logging(run_id):
        _schedule(run_id)


def _schedule(run_id: int) -> None:
    run = Run.objects.get(id=run_id)
    if not run.is_terminal or not _notice(run_id):
        return  # not finished after all, or already handled (the final frame was published again)
    hooks = list(settings.PLAYGROUND_RUN_HOOKS)
    webhook_ids = (
        list(
            Webhook.objects.filter(team_id=run.team_id, owner_id=run.owner_id, active=True).values_list("id", flat=True)
        )
        if run.team_id
        else []
    )
    celery = runs_in_celery()
    for path in hooks:
        if celery:
            from webhooks.tasks import run_hook

            run_hook.delay(run_id, path)
        else:
            background.submit(hook_call, run_id, path)
    for webhook_id in webhook_ids:
        delivery_id = uuid.uuid4().hex
        if celery:
            from webhooks.tasks import deliver_webhook

            deliver_webhook.delay(webhook_id, run_id, delivery_id, 1)
        else:
            background.submit(deliver_inline, webhook_id, run_id, delivery_id, 1)


def _notice(run_id: int) -> bool:
    try:
        with transaction.atomic():
            _, created = RunNotice.objects.get_or_create(run_id=run_id)
    except IntegrityError:  # a concurrent publisher inserted it first
        return False
    return created


# ------------------------------------------------------------------ hooks


def hook_call(run_id: int, path: str) -> HookCall:
    """Call one hook with the finished run (its id, or the Run when its parameter asks for one); record it."""
    with run_logging(run_id):
        return _hook_call(run_id, path)


def _hook_call(run_id: int, path: str) -> HookCall:
    started = time.perf_counter()
    status, error, trace = HookCall.Status.OK, "", ""
    try:
        hook = import_string(path)
        result = hook(Run.objects.get(id=run_id) if _wants_run(hook) else run_id)
        if inspect.isawaitable(result):
            asyncio.run(_await(result))
    except Exception as exc:
        logger.exception("run hook %s failed", path)
        status, error, trace = HookCall.Status.FAILED, f"{type(exc).__name__}: {exc}", traceback.format_exc()
    duration = (time.perf_counter() - started) * 1000
    return HookCall.objects.create(
        run_id=run_id, hook=path, status=status, error=error, traceback=trace, duration_ms=duration
    )


async def _await(awaitable: Any) -> Any:
    return await awaitable


def _wants_run(hook: Any) -> bool:
    try:
        params = list(inspect.signature(hook).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    first = params[0]
    return first.name == "run" or first.annotation in (Run, "Run", "runs.models.Run")


# ------------------------------------------------------------------ webhooks


@dataclass
class Attempt:
    delivery: WebhookDelivery | None
    retry: bool


def backoff_seconds(attempt: int) -> float:
    """Delay before attempt `attempt + 1`: exponential, capped, with jitter so retries do not stampede."""
    delay = min(settings.WEBHOOK_BACKOFF_MAX_SECONDS, settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))
    return float(delay * random.uniform(0.5, 1.0))


def run_payload(run: Run, delivery_id: str) -> dict[str, Any]:
    """The webhook body: the run's outcome, no transcript and no team config (which could name secrets)."""
    team = {"id": run.team_id, "name": run.team.name} if run.team is not None else None
    iso = lambda value: value.isoformat() if value else None  # noqa: E731
    return {
        "event": "run.finished",
        "delivery_id": delivery_id,
        "run": {
            "id": run.id,
            "status": run.status,
            "stop_reason": run.stop_reason,
            "error": run.error,
            "usage": run.usage,
            "task": run.task,
            "team": team,
            "session_id": run.session_id,
            "created_at": iso(run.created_at),
            "started_at": iso(run.started_at),
            "finished_at": iso(run.finished_at),
            "duration": run.duration,
            "message_count": run.messages.count(),
        },
    }


def webhook_attempt(*, webhook_id: int, run_id: int, delivery_id: str, attempt: int) -> Attempt:
    """POST the run summary once and record the attempt. `retry` says whether another attempt is due."""
    with run_logging(run_id):
        return _webhook_attempt(webhook_id, run_id, delivery_id, attempt)


def _webhook_attempt(webhook_id: int, run_id: int, delivery_id: str, attempt: int) -> Attempt:
    webhook = Webhook.objects.filter(id=webhook_id, active=True).first()
    if webhook is None:
        return Attempt(None, False)  # deleted or switched off meanwhile
    run = Run.objects.select_related("team").get(id=run_id)
    body = json.dumps(run_payload(run, delivery_id), separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Playground-Event": "run.finished",
        "X-Playground-Delivery": delivery_id,
        "X-Playground-Attempt": str(attempt),
        signing.SIGNATURE_HEADER: signing.signature_header(webhook.secret, body),
    }
    started = time.perf_counter()
    code, excerpt, error, permanent = None, "", "", False
    try:
        target = resolve_target(webhook.url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
        code, excerpt = _post(target, body, headers)
    except UnsafeURL as exc:
        error, permanent = f"refused: {exc}", True
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    success = code is not None and 200 <= code < 300
    if code is not None and not success:
        error = f"HTTP {code}"
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        run_id=run_id,
        delivery_id=delivery_id,
        attempt=attempt,
        success=success,
        status_code=code,
        response_excerpt=excerpt,
        error=error,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
    retry = not success and not permanent and attempt < settings.WEBHOOK_MAX_ATTEMPTS
    level = logging.INFO if success else logging.WARNING
    logger.log(level, "webhook %s attempt %s: %s", webhook_id, attempt, code or error)
    return Attempt(delivery, retry)


def _post(target: Target, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    timeout = httpx.Timeout(settings.WEBHOOK_TIMEOUT_SECONDS)
    # The checked address itself, never a second lookup (webhooks.urlsafety); trust_env=False: no proxy
    # from the environment either, so the address checked is the one called.
    headers = {**headers, "Host": target.host_header}
    extensions = {"sni_hostname": target.tls_hostname} if target.tls_hostname else {}
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
        with client.stream("POST", target.url, content=body, headers=headers, extensions=extensions) as response:
            received = b""
            for chunk in response.iter_raw():
                received += chunk
                if len(received) >= RESPONSE_EXCERPT_BYTES:
                    break
            return response.status_code, received[:RESPONSE_EXCERPT_BYTES].decode("utf-8", "replace")


def deliver_inline(webhook_id: int, run_id: int, delivery_id: str, attempt: int) -> None:
    result = webhook_attempt(webhook_id=webhook_id, run_id=run_id, delivery_id=delivery_id, attempt=attempt)
    if result.retry:
        background.submit(deliver_inline, webhook_id, run_id, delivery_id, attempt + 1, delay=backoff_seconds(attempt))
