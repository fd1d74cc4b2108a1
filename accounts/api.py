"""/api/tokens: the caller's API tokens. The secret is in the create response only; it is stored hashed.

Tokens are listed for their owner only, superusers included: a token list is a personal
settings page, and the admin already shows every token to whoever may manage them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from accounts import services
from accounts.models import ApiToken
from playground.pagination import LimitOffset
from playground.schemas import InputSchema

router = Router(tags=["tokens"])


class TokenIn(InputSchema):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool

    @staticmethod
    def resolve_revoked(obj: ApiToken) -> bool:
        return obj.revoked_at is not None


class TokenCreatedOut(TokenOut):
    token: str = Field(description="the secret; shown only in this response")


def _own(request: HttpRequest) -> QuerySet[ApiToken]:
    # Authentication has run: request.user is the session's or the bearer token's user.
    return ApiToken.objects.filter(user=cast(Any, request.user))


@router.get("", response=list[TokenOut])
@paginate(LimitOffset)
def token_list(request: HttpRequest) -> QuerySet[ApiToken]:
    return _own(request)


@router.post("", response={201: TokenCreatedOut})
def token_create(request: HttpRequest, payload: TokenIn) -> Status:
    token, raw = services.token_create(user=request.user, name=payload.name)
    token.token = raw  # type: ignore[attr-defined]  # response-only; never stored
    return Status(201, token)


@router.delete("/{token_id}", response={204: None})
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    """Revoke one of your tokens; it stops working at once. Revoking twice is harmless."""
    services.token_revoke(token=_own(request).get(id=token_id))
    return Status(204, None)
