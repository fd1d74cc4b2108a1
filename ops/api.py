"""/api/health and /api/version: no login needed."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import Router, Schema

from ops import health
from ops.version import version_info

meta_router = Router(tags=["meta"])


class VersionOut(Schema):
    name: str
    version: str
    commit: str | None


@meta_router.get("/version", response=VersionOut, auth=None)
def version(request: HttpRequest) -> dict[str, str | None]:
    return version_info()


@meta_router.get("/health", auth=None, response={200: dict[str, Any], 503: dict[str, Any]})
async def health_check(request: HttpRequest) -> JsonResponse:
    """Each dependency's status and latency; 503 when a required one is down."""
    status, body = await health.report()
    return JsonResponse(body, status=status)
