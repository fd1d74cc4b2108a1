"""/api/webhooks: a user's team webhooks and their delivery attempts (owner-scoped; the secret is write-only)."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from agents_app.selectors import visible_teams
from playground.errors import ApiError
from playground.pagination import LimitOffset
from playground.schemas import InputSchema
from webhooks.models import Webhook, WebhookDelivery
from webhooks.urlsafety import UnsafeURL, check_url

router = Router(tags=["webhooks"])


class WebhookIn(InputSchema):
    team_id: int = Field(description="a team you own or that is shared; fires for your runs of it")
    url: str = Field(max_length=2000, description="http(s) URL that receives the signed POST")
    secret: str | None = Field(None, min_length=16, max_length=200, description="omit to have one generated")
    active: bool = True


class WebhookPatchIn(InputSchema):
    url: str | None = Field(None, max_length=2000)
    secret: str | None = Field(None, min_length=16, max_length=200)
    active: bool | None = None


class WebhookOut(Schema):
    id: int
    team_id: int
    url: str
    active: bool
    secret_prefix: str
    created_at: datetime
    updated_at: datetime


class WebhookCreatedOut(WebhookOut):
    secret: str = Field(description="shown only in this response")


class DeliveryOut(Schema):
    id: int
    delivery_id: str
    run_id: int
    attempt: int
    success: bool
    status_code: int | None
    response_excerpt: str
    error: str
    duration_ms: float
    created_at: datetime


def _checked_url(url: str) -> str:
    try:
        check_url(url, allow_private=settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES)
    except UnsafeURL as exc:
        raise ApiError(400, "Invalid webhook URL.", [{"path": "url", "message": str(exc)}]) from None
    return url


def _user_id(request: HttpRequest) -> int:
    user: Any = request.user  # every webhook route is authenticated: a User, never AnonymousUser
    return int(user.pk)


def _own(request: HttpRequest, webhook_id: int) -> Webhook:
    return Webhook.objects.get(id=webhook_id, owner_id=_user_id(request))  # DoesNotExist -> 404 for others too


@router.get("", response=list[WebhookOut])
@paginate(LimitOffset)
def webhook_list(request: HttpRequest, team_id: int | None = None) -> QuerySet[Webhook]:
    qs = Webhook.objects.filter(owner_id=_user_id(request))
    return qs.filter(team_id=team_id) if team_id is not None else qs


@router.post("", response={201: WebhookCreatedOut})
def webhook_create(request: HttpRequest, payload: WebhookIn) -> Status:
    team = visible_teams(request.user).filter(id=payload.team_id).first()
    if team is None:
        raise ApiError(400, "Unknown team.", [{"path": "team_id", "message": f"no team {payload.team_id} you can use"}])
    webhook = Webhook.objects.create(
        owner_id=_user_id(request),
        team=team,
        url=_checked_url(payload.url),
        secret=payload.secret or secrets.token_urlsafe(32),
        active=payload.active,
    )
    return Status(201, webhook)


@router.get("/{webhook_id}", response=WebhookOut)
def webhook_detail(request: HttpRequest, webhook_id: int) -> Webhook:
    return _own(request, webhook_id)


@router.patch("/{webhook_id}", response=WebhookOut)
def webhook_update(request: HttpRequest, webhook_id: int, payload: WebhookPatchIn) -> Webhook:
    webhook = _own(request, webhook_id)
    if payload.url is not None:
        webhook.url = _checked_url(payload.url)
    if payload.secret is not None:
        webhook.secret = payload.secret
    if payload.active is not None:
        webhook.active = payload.active
    webhook.save()
    return webhook


@router.delete("/{webhook_id}", response={204: None})
def webhook_delete(request: HttpRequest, webhook_id: int) -> Status:
    _own(request, webhook_id).delete()
    return Status(204, None)


@router.get("/{webhook_id}/deliveries", response=list[DeliveryOut])
@paginate(LimitOffset)
def webhook_deliveries(request: HttpRequest, webhook_id: int) -> QuerySet[WebhookDelivery]:
    return _own(request, webhook_id).deliveries.all()
