"""/api/docs from vendored Swagger UI: the page works without internet (django-ninja's default loads a CDN)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import Swagger

if TYPE_CHECKING:
    from ninja import NinjaAPI

# static/vendor/<name>-<version>/: the pinned files and their licence (static/vendor/README.md).
SWAGGER_UI = "vendor/swagger-ui-dist-5.36.0"


class VendoredSwagger(Swagger):
    template = "api_docs.html"

    def __init__(self) -> None:
        # No validator badge: it would send the schema's URL to validator.swagger.io.
        super().__init__(settings={"validatorUrl": None})

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        return render(request, self.template, {"api": api, "swagger_ui": SWAGGER_UI, "swagger_settings": settings})
