"""The REST API root (django-ninja): OpenAPI at /api/docs and /api/openapi.json."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import NinjaAPI, Schema

api = NinjaAPI(title="Agent Playground API", version="1", urls_namespace="api")


class VersionOut(Schema):
    name: str
    version: str


@api.get("/version", response=VersionOut, auth=None, tags=["meta"])
def version(request: HttpRequest) -> dict[str, str]:
    return {"name": "agent-playground", "version": "0.1.0"}
