"""GET /metrics: this process's metrics in Prometheus text format (all processes' in multiprocess mode)."""

from __future__ import annotations

import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from metrics.auth import token_ok
from metrics.state import RunStateCollector


def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.METRICS_ENABLED:
        raise Http404("Metrics are turned off (METRICS_ENABLED).")
    user = getattr(request, "user", None)
    staff = bool(user is not None and user.is_authenticated and user.is_staff)
    if not (settings.METRICS_PUBLIC or staff or token_ok(request.headers.get("Authorization"))):
        signed_in = user is not None and user.is_authenticated
        response = HttpResponse(
            "Metrics need a staff login or Authorization: Bearer <METRICS_TOKEN>.\n",
            status=403 if signed_in else 401,
            content_type="text/plain",
        )
        if not signed_in:
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    state = CollectorRegistry(auto_describe=True)
    state.register(RunStateCollector())
    body = generate_latest(_process_registry()) + generate_latest(state)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)


def _process_registry() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry
