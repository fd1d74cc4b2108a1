"""Who may read metrics: METRICS_PUBLIC, a bearer METRICS_TOKEN, or (web server) a signed-in staff user."""

from __future__ import annotations

import hmac

from django.conf import settings


def token_ok(authorization: str | None) -> bool:
    expected = settings.METRICS_TOKEN
    if not expected or not authorization:
        return False
    scheme, _, token = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())
