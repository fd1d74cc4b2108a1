"""API authentication shared by every router: a bearer token, or the browser's Django session.

The session path enforces CSRF on unsafe methods (a cookie rides along on cross-site
requests; a bearer header cannot). It checks CSRF only for an authenticated session, so a
request with no credentials at all gets 401, not a CSRF 403.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from accounts.services import token_authenticate


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token.strip())
        if user is None:
            # A bad or revoked token is a 401 even if a session cookie rides along: the
            # client chose token auth, and falling back would hide that its token is dead.
            raise AuthenticationError()
        # Later code (services, templates) reads request.user; make it the token's owner.
        request.user = user
        return user


class SessionAuthCSRF(APIKeyCookie):
    param_name: str = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self.csrf and not getattr(request, "_ninja_csrf_exempt", False) and check_csrf(request):
            raise HttpError(403, "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken.")
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any | None:
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


# Order matters: a request carrying a bearer token is judged by it, never by a cookie.
api_auth = [BearerTokenAuth(), SessionAuthCSRF()]
