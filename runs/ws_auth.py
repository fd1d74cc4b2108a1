"""WebSocket credentials besides the session cookie: `?token=` and `Authorization: Bearer`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware

from accounts.services import token_authenticate
from runs.db import db_call


def token_from_scope(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


class TokenAuthMiddleware(BaseMiddleware):
    """Runs inside the session and auth middleware: a session user wins; otherwise a valid token sets the user."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        user = scope.get("user")
        if user is None or not user.is_authenticated:
            raw = token_from_scope(scope)
            if raw:
                token_user = await db_call(token_authenticate)(raw)
                if token_user is not None:
                    scope = dict(scope, user=token_user)
        return await super().__call__(scope, receive, send)


class ReadOnlySessionMiddleware(SessionMiddleware):
    """Channels' SessionMiddleware for WebSockets, which only read the session (the login cookie).

    The stock wrapper's `send` looks at the session before every message, to save it on an HTTP
    response start, which a WebSocket never sends: on a run's socket that is work per streamed
    frame for nothing. Here the session is resolved the same way and the socket's own `send` is
    passed on.
    """

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        wrapper = InstanceSessionWrapper(scope, send)
        await wrapper.resolve_session()
        return await self.inner(wrapper.scope, receive, send)


def websocket_auth_stack(inner: Any) -> Any:
    """AuthMiddlewareStack with the read-only session middleware, then our token credentials."""
    return CookieMiddleware(ReadOnlySessionMiddleware(AuthMiddleware(TokenAuthMiddleware(inner))))


class BrowserOriginValidator(OriginValidator):
    """AllowedHostsOriginValidator that lets non-browser clients (no Origin header) through.

    The Origin check stops other sites' pages from riding a user's session
    cookie; browsers always send Origin on WebSockets. Scripts and the terminal
    client send none and must present a token anyway.
    """

    def valid_origin(self, parsed_origin: Any) -> bool:
        return parsed_origin is None or super().valid_origin(parsed_origin)


def allowed_hosts_origin_validator(application: Any) -> BrowserOriginValidator:
    from django.conf import settings

    allowed = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return BrowserOriginValidator(application, allowed)
