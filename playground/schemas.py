"""Base for request bodies: unknown fields, type coercion and unstorable text are all refused.

`extra="forbid"` turns a misspelt field into a 422 instead of a silently ignored setting;
`strict=True` keeps JSON types honest (`0` is not `false`, `"5"` is not `5`), which is what
the OpenAPI schema promises clients. Query and path parameters arrive as strings and stay lax.
A NUL character anywhere in a field (nested JSON included) is a 422 naming the field, in every
database mode (agents_app.text). A multipart/form-data body is read as its form fields, each
decoded as its field's type (`PlaygroundParser`, `InputSchema._form_fields`); files stay for the view.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Schema
from ninja.parser import Parser
from ninja.schema import DjangoGetter
from pydantic import ConfigDict, ValidationInfo, field_validator, model_validator

from agents_app.text import refuse_nul

MULTIPART = "multipart/form-data"


class PlaygroundParser(Parser):
    """JSON bodies as ninja parses them; a multipart/form-data body as its form fields, all text (the
    body's schema decodes them: InputSchema._form_fields). Its files stay in request.FILES for the view."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        if request.content_type == MULTIPART:
            return {key: request.POST[key] for key in request.POST}
        return super().parse_body(request)


def keep_multipart_body(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: read an API multipart body before anything parses its form. A CSRF check reads
    request.POST from the stream first, and ninja then needs request.body, which Django no longer
    has; read first, the body is kept and the form is parsed from it. DATA_UPLOAD_MAX_MEMORY_SIZE
    bounds it (a larger body is a 400)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.content_type == MULTIPART and request.path.startswith("/api/"):
            request.body  # noqa: B018
        return get_response(request)

    return middleware


def _takes_text(annotation: Any) -> bool:
    if annotation is str:
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _takes_text(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_takes_text(a) for a in typing.get_args(annotation))
    return False


class InputSchema(Schema):
    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _form_fields(cls, data: Any, info: ValidationInfo) -> Any:
        # A form field is text: one a text field takes stays so ("42" is a task), any other is JSON
        # (team_id=3, team_config={...}); a value that is not JSON is left for the field to refuse.
        request = (info.context or {}).get("request")
        if isinstance(data, DjangoGetter):  # ninja's wrap validator hands the body on wrapped, extras checked
            data = {key: getattr(data, key) for key in cls.model_fields if hasattr(data, key)}
        if request is None or request.content_type != MULTIPART or not isinstance(data, dict):
            return data
        decoded: dict[str, Any] = {}
        for key, value in data.items():
            field = cls.model_fields.get(key)
            if not isinstance(value, str) or field is None or _takes_text(field.annotation):
                decoded[key] = value
                continue
            try:
                decoded[key] = json.loads(value)
            except ValueError:
                decoded[key] = value
        return decoded

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_nul(value)
