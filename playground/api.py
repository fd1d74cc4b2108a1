"""The REST API root (django-ninja): OpenAPI at /api/docs (vendored Swagger UI) and /api/openapi.json.

Every operation needs a session (CSRF on unsafe methods) or `Authorization: Bearer <token>`
unless it says `auth=None`. Errors share one shape and the status codes listed in
playground/errors.py; lists are paginated (playground/pagination.py).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from ninja import NinjaAPI
from ninja.openapi.schema import OpenAPISchema

from accounts.api import router as tokens_router
from agents_app.api import gallery_router, teams_router
from mcp_servers.api import router as mcp_servers_router
from ops.api import meta_router
from playground.api_docs import VendoredSwagger
from playground.auth import api_auth
from playground.errors import ErrorOut, install_exception_handlers
from playground.schemas import PlaygroundParser
from providers.api import router as providers_router
from runs.api import router as runs_router
from runs.attachments_api import router as attachments_router
from runs.review_api import review_router
from runs.sessions_api import router as sessions_router
from traces.api import router as traces_router
from traces.api import usage_router
from webhooks.api import router as webhooks_router

ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}


class PlaygroundAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix: str | None = None, path_params: Any = None) -> OpenAPISchema:
        """Document the shared error shape as every operation's 4XX answer.

        The handlers in playground/errors.py answer any operation with it, so declaring it
        once here keeps the schema truthful without repeating it on every route.
        """
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["ErrorOut"] = ErrorOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        item = ErrorOut.model_json_schema()["$defs"]["ErrorItem"]
        schema["components"]["schemas"].setdefault("ErrorItem", item)
        error = {"description": "Error", "content": {"application/json": {"schema": ERROR_REF}}}
        for operations in schema["paths"].values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if not any(str(code).startswith("4") for code in responses):
                    responses["4XX"] = error
        return schema


api = PlaygroundAPI(
    title="Agent Playground API",
    version="1",
    urls_namespace="api",
    auth=api_auth,
    docs=VendoredSwagger(),
    parser=PlaygroundParser(),
)
install_exception_handlers(api)


api.add_router("/teams", teams_router)
api.add_router("/gallery", gallery_router)
api.add_router("/sessions", sessions_router)
api.add_router("/tokens", tokens_router)
api.add_router("/runs", review_router)  # first: /runs/compare is not a run id
api.add_router("/runs", runs_router)
api.add_router("/runs", traces_router)  # GET /api/runs/{id}/trace
api.add_router("/usage", usage_router)
api.add_router("/attachments", attachments_router)
api.add_router("", meta_router)  # /api/health, /api/version (no auth)
api.add_router("/webhooks", webhooks_router)
api.add_router("/providers", providers_router)
api.add_router("/mcp-servers", mcp_servers_router)


def unknown_endpoint(request: HttpRequest, path: str = "") -> JsonResponse:
    """Unknown /api/ URLs answer in the API's error shape, not Django's HTML 404 page."""
    return JsonResponse({"detail": "Not found.", "errors": []}, status=404)
