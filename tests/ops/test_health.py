"""GET /api/health and /api/version in this process (embedded or services pass settings)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def test_version_names_the_build(settings: Any) -> None:
    settings.GIT_COMMIT = ""
    from ops.version import version_info

    version_info.cache_clear()
    body = Client().get("/api/version").json()
    assert body["name"] == "agent-playground" and body["version"] == "0.1.0"
    assert body["commit"] is None or len(body["commit"]) == 40


def test_health_needs_no_login_and_reports_each_check(inline_runtime: Any) -> None:
    response = Client().get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["executor"] == "inline"
    assert set(body["checks"]) == {"database", "channel_layer", "executor"}
    for check in body["checks"].values():
        assert check["status"] == "ok" and check["latency_ms"] >= 0 and check["required"] is True


def test_health_is_503_when_the_channel_layer_is_down(settings: Any) -> None:
    from channels.layers import channel_layers

    settings.RUN_EXECUTOR = "inline"
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},
        }
    }
    channel_layers.backends = {}
    try:
        response = Client().get("/api/health")
    finally:
        channel_layers.backends = {}
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["checks"]["channel_layer"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"


def test_celery_mode_reports_broker_and_worker_heartbeat(settings: Any) -> None:
    from django.utils import timezone

    from ops.models import WorkerHeartbeat

    settings.RUN_EXECUTOR = "celery"
    settings.HEALTH_REQUIRE_WORKER = True
    from playground.celery import app

    broker = app.conf.broker_url
    app.conf.broker_url = "memory://"
    try:
        missing = Client().get("/api/health")
        WorkerHeartbeat.objects.create(worker="w1@host", seen_at=timezone.now())
        fresh = Client().get("/api/health")
    finally:
        app.conf.broker_url = broker
    assert missing.status_code == 503 and missing.json()["checks"]["worker"]["status"] == "stale"
    assert fresh.status_code == 200, fresh.json()
    worker = fresh.json()["checks"]["worker"]
    assert worker["worker"] == "w1@host" and worker["last_heartbeat_seconds_ago"] >= 0
    assert fresh.json()["checks"]["broker"]["status"] == "ok"
