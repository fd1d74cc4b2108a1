"""WebSocket credentials: the session cookie, or a token (`?token=`, `Authorization: Bearer`, the auth frame)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddleware
from channels.security.websocket import OriginValidator
from channels.sessions import CookieMiddleware, InstanceSessionWrapper, SessionMiddleware
from django.contrib.auth.models import AnonymousUser

from accounts.services import token_authenticate
from runs import selectors
from runs.models import Run


def token_from_scope(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credential = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and credential.strip():
                return credential.strip()
    query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    tokens = query.get("token")
    return tokens[0] if tokens else None


def socket_user_and_run(*, token: str, run_id: int) -> tuple[Any, Run | None, bool]:
    """The token's owner (None when the token is not valid), the run they may drive and whether it
    exists at all (selectors.run_for_socket): a socket's credentials and run in one database call."""
    user = token_authenticate(token)
    if user is None:
        return None, None, False
    run, exists = selectors.run_for_socket(user=user, run_id=run_id)
    return user, run, exists


class SessionAuthMiddleware(AuthMiddleware):
    """Channels' AuthMiddleware, which looks the session's user up only when there is a session: a
    socket without the login cookie (scripts, the terminal client) skips the hop to the process's
    one sync thread that the lookup takes, where every such connect queued behind the others."""

    async def resolve_scope(self, scope: dict[str, Any]) -> None:
        if scope["session"].session_key is None:
            scope["user"]._wrapped = AnonymousUser()
        else:
            await super().resolve_scope(scope)


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
    """AuthMiddlewareStack with the read-only session middleware; a token (`token_from_scope`, or the
    auth frame) is checked by the consumer, with its run (`socket_user_and_run`)."""
    return CookieMiddleware(ReadOnlySessionMiddleware(SessionAuthMiddleware(inner)))


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
