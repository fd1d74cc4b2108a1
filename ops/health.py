"""GET /api/health: a real round trip to each dependency, each with its own time limit.

database: SELECT 1. channel layer: a send and receive on a fresh channel. broker (celery
executor only): connect and ping. worker: age of the newest heartbeat (celery), or the
inline executor's state. A required check that fails makes the answer 503; the worker
heartbeat is informational unless HEALTH_REQUIRE_WORKER is on, because taking every web
process out of a load balancer when the workers are down would turn a degraded service
into an outage.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections
from django.utils import timezone

from runs.loops import inline_status, runs_in_celery

OK, DOWN, STALE = "ok", "down", "stale"


async def report() -> tuple[int, dict[str, Any]]:
    celery = runs_in_celery()
    checks: dict[str, tuple[Callable[[], Awaitable[dict[str, Any]]], bool]] = {
        "database": (check_database, True),
        "channel_layer": (check_channel_layer, True),
    }
    if celery:
        checks["broker"] = (check_broker, True)
        checks["worker"] = (check_worker_heartbeat, settings.HEALTH_REQUIRE_WORKER)
    else:
        checks["executor"] = (check_inline_executor, True)
    names = list(checks)
    results = await asyncio.gather(*(_timed(checks[name][0], checks[name][1]) for name in names))
    body = dict(zip(names, results, strict=True))
    down = any(r["required"] and r["status"] != OK for r in results)
    degraded = any(r["status"] != OK for r in results)
    overall = DOWN if down else ("degraded" if degraded else OK)
    return (503 if down else 200), {"status": overall, "executor": settings.RUN_EXECUTOR, "checks": body}


async def _timed(check: Callable[[], Awaitable[dict[str, Any]]], required: bool) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = await asyncio.wait_for(check(), settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        result = {"status": DOWN, "error": f"no answer within {settings.HEALTH_CHECK_TIMEOUT_SECONDS:g} s"}
    except Exception as exc:
        result = {"status": DOWN, "error": f"{type(exc).__name__}: {exc}"[:500]}
    return {**result, "required": required, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}


def _select_one() -> None:
    connection = connections["default"]
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    finally:
        connection.close()


async def check_database() -> dict[str, Any]:
    # Not thread_sensitive: a hung database must not block the thread every sync view shares.
    await sync_to_async(_select_one, thread_sensitive=False)()
    return {"status": OK}


async def check_channel_layer() -> dict[str, Any]:
    layer = get_channel_layer()
    channel = await layer.new_channel("health.")
    nonce = uuid.uuid4().hex
    await layer.send(channel, {"type": "health.ping", "nonce": nonce})
    message = await layer.receive(channel)
    while message.get("type") != "health.ping":  # the layer's own word that it reconnected, say
        message = await layer.receive(channel)
    # A receive that is cancelled unsubscribes the channel (channels_redis pubsub); the
    # in-memory layer drops it on expiry. Either way nothing is left listening.
    leftover = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0)
    leftover.cancel()
    await asyncio.gather(leftover, return_exceptions=True)
    if message.get("nonce") != nonce:
        return {"status": DOWN, "error": "the channel layer returned a different message"}
    return {"status": OK, "backend": str(settings.CHANNEL_LAYERS["default"]["BACKEND"]).rsplit(".", 1)[-1]}


def _ping_broker() -> None:
    from playground.celery import app

    timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
    with app.connection_for_write(connect_timeout=timeout) as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0.1, timeout=timeout)
        if conn.transport.driver_type == "redis":
            conn.default_channel.client.ping()


async def check_broker() -> dict[str, Any]:
    await sync_to_async(_ping_broker, thread_sensitive=False)()
    return {"status": OK}


async def check_worker_heartbeat() -> dict[str, Any]:
    from ops.heartbeat import last_seen

    seen = await sync_to_async(_last_seen_and_close, thread_sensitive=False)(last_seen)
    if seen is None:
        return {"status": STALE, "error": "no worker heartbeat yet (is `celery beat` running with a worker?)"}
    worker, at = seen
    age = (timezone.now() - at).total_seconds()
    status = OK if age <= settings.HEALTH_HEARTBEAT_MAX_AGE_SECONDS else STALE
    return {"status": status, "worker": worker, "last_heartbeat_seconds_ago": round(age, 1)}


def _last_seen_and_close(read: Callable[[], Any]) -> Any:
    try:
        return read()
    finally:
        connections["default"].close()


async def check_inline_executor() -> dict[str, Any]:
    return {"status": OK, "executor": "inline", **inline_status()}
