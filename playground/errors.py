"""One error shape for every 4xx the API returns, and the handlers that produce it.

`{"detail": "...", "errors": [{"path": "...", "message": "..."}]}`; `errors` may be empty.
Status codes: 400 malformed JSON, invalid team config or bad upload; 401 not authenticated;
403 CSRF failure or a write to a team the user may only read; 404 unknown or not yours;
409 a run state conflict; 422 a request that does not fit the endpoint's schema (wrong type,
missing or unknown field, bad query parameter); 429 too many active runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError

from agents_app.config import TeamConfigError

logger = logging.getLogger(__name__)


class ErrorItem(Schema):
    path: str
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[ErrorItem]


class ApiError(Exception):
    """Raise from any endpoint or service called by one to answer with `status` and the error shape."""

    def __init__(self, status: int, detail: str, errors: Sequence[dict[str, str] | Any] = ()) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = [_item(e) for e in errors]


def _item(error: dict[str, str] | Any) -> dict[str, str]:
    if isinstance(error, dict):
        return {"path": str(error.get("path", "")), "message": str(error.get("message", ""))}
    return {"path": str(error.path), "message": str(error.message)}


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, detail: str, errors: Sequence[Any] = ()
) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "errors": [_item(e) for e in errors]}, status=status)


# Where a parameter came from is the first element of a ninja error's `loc`; a body's second
# element is the parameter's own name, which the client never wrote, so it is dropped.
_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}


def validation_path(loc: Sequence[Any], single_body: bool = True) -> str:
    parts = list(loc)
    prefix = ""
    if parts and parts[0] in _LOCATIONS:
        where = parts.pop(0)
        if where == "body" and single_body and parts:
            parts.pop(0)
        elif where not in ("body", "form", "file"):
            prefix = where
    out = prefix
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [{"path": validation_path(e.get("loc", ())), "message": str(e.get("msg", "invalid"))} for e in exc.errors]


def install_exception_handlers(api: NinjaAPI) -> None:
    def on_validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return error_response(api, request, 422, "The request does not match the schema.", _validation_errors(exc))

    def on_auth(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        response = error_response(api, request, 401, "Authentication required: a session or a bearer token.")
        response["WWW-Authenticate"] = 'Bearer realm="api"'
        return response

    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return error_response(api, request, exc.status_code, str(exc))

    def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        # Never echo the lookup: "not found" must read the same for missing and not-yours.
        return error_response(api, request, 404, "Not found.")

    def on_team_config(request: HttpRequest, exc: TeamConfigError) -> HttpResponse:
        return error_response(api, request, 400, "Invalid team config.", exc.errors)

    def on_forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return error_response(api, request, 403, str(exc) or "Forbidden.")

    def on_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        # Django's own request limits (DATA_UPLOAD_MAX_MEMORY_SIZE, field and file counts),
        # hit while ninja reads the body; without this they surface as a 500.
        if isinstance(exc, RequestDataTooBig):
            return error_response(api, request, 400, "The request body is too large.")
        return error_response(api, request, 400, "The request could not be read.")

    def on_api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(api, request, exc.status, exc.detail, exc.errors)

    def on_run_state(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(api, request, 409, str(exc))

    from runs.services import RunStateError  # runs imports nothing from here; late import keeps it so

    handlers: list[tuple[type[Exception], Callable[..., HttpResponse]]] = [
        (ValidationError, on_validation),
        (AuthenticationError, on_auth),
        (HttpError, on_http_error),
        (Http404, on_not_found),
        (ObjectDoesNotExist, on_not_found),
        (PermissionDenied, on_forbidden),
        (SuspiciousOperation, on_suspicious),
        (TeamConfigError, on_team_config),
        (ApiError, on_api_error),
        (RunStateError, on_run_state),
    ]
    for exc_class, handler in handlers:
        api.add_exception_handler(exc_class, handler)
