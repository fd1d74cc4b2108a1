"""/api/sessions: chat sessions and the history a playground page loads in one call.

Reads go through runs.selectors (owner-scoped); creation through runs.services. A session's
`team_id` must name a team the caller can see (their own or a shared one).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import field_validator

from agents_app.models import Team
from agents_app.selectors import visible_teams
from playground.errors import ApiError
from playground.pagination import LimitOffset
from playground.schemas import InputSchema
from runs import selectors, services
from runs.models import Run, Session
from runs.shapes import MessageOut, RunOut

router = Router(tags=["sessions"])
MESSAGES_HELP = (
    "embed each run's messages: a page of 50 runs of 100 messages took 260 ms where the runs alone take 20; "
    "the playground pages each run's messages from GET /api/runs/{id}/messages instead"
)


class SessionIn(InputSchema):
    name: str = Field(min_length=1, max_length=200)
    team_id: int | None = None
    carry_context: bool = Field(False, description="give each new run the transcripts of the earlier runs")


class SessionPatch(InputSchema):
    name: str | None = Field(None, min_length=1, max_length=200)
    team_id: int | None = Field(None, description="null detaches the team")
    carry_context: bool | None = None


class SessionOut(Schema):
    id: int
    name: str
    team_id: int | None
    carry_context: bool
    created_at: datetime
    updated_at: datetime
    cost: float | None = Field(description="US dollars of its runs' model calls; null when none is priced")

    @staticmethod
    def resolve_cost(obj: Session) -> float | None:
        # Lists and reads annotate it (runs.selectors.visible_sessions); a session just written sums once.
        cost = obj.cost if hasattr(obj, "cost") else selectors.session_cost(obj)
        return float(cost) if cost is not None else None


class RunWithMessagesOut(RunOut):
    messages: list[MessageOut] | None = Field(
        description="with `messages=true`, its stored messages by seq; otherwise null (GET /api/runs/{id}/messages)"
    )

    @field_validator("messages", mode="before")
    @classmethod
    def _prefetched_messages(cls, messages: Any) -> Any:
        if not hasattr(messages, "all"):
            return messages
        # Only what was prefetched (ordered by seq): never a query per run.
        prefetched = getattr(messages.instance, "_prefetched_objects_cache", {})
        return list(messages.all()) if "messages" in prefetched else None


def usable_team(user: Any, team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = visible_teams(user).filter(id=team_id).first()
    if team is None:
        # Same answer for a missing team and someone else's private one.
        raise ApiError(400, "Unknown team.", [{"path": "team_id", "message": f"no team {team_id} that you can use"}])
    return team


@router.get("", response=list[SessionOut])
@paginate(LimitOffset)
def session_list(request: HttpRequest) -> QuerySet[Session]:
    return selectors.visible_sessions(request.user)


@router.post("", response={201: SessionOut})
def session_create(request: HttpRequest, payload: SessionIn) -> Status:
    session = services.session_create(
        owner=request.user,
        name=payload.name,
        team=usable_team(request.user, payload.team_id),
        carry_context=payload.carry_context,
    )
    return Status(201, session)


@router.get("/{session_id}", response=SessionOut)
def session_detail(request: HttpRequest, session_id: int) -> Session:
    return selectors.session_get_visible(user=request.user, session_id=session_id)


@router.patch("/{session_id}", response=SessionOut)
def session_update(request: HttpRequest, session_id: int, payload: SessionPatch) -> Session:
    session = selectors.session_get_writable(user=request.user, session_id=session_id)
    changes = payload.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is not None:
        session.name = changes["name"]
    if "carry_context" in changes and changes["carry_context"] is not None:
        session.carry_context = changes["carry_context"]
    if "team_id" in changes:
        session.team = usable_team(request.user, changes["team_id"])
    # A plain field save: a session has no state machine, so there is no service to go through.
    session.save()
    return session


@router.delete("/{session_id}", response={204: None})
def session_delete(request: HttpRequest, session_id: int) -> Status:
    services.session_delete(session=selectors.session_get_writable(user=request.user, session_id=session_id))
    return Status(204, None)


@router.get("/{session_id}/runs", response=list[RunWithMessagesOut])
@paginate(LimitOffset)
def session_runs(
    request: HttpRequest,
    session_id: int,
    messages: bool = Query(False, description=MESSAGES_HELP),  # noqa: B008
) -> QuerySet[Run]:
    """The session's runs, oldest first; with `messages=true` each with its stored messages in seq order."""
    session = selectors.session_get_visible(user=request.user, session_id=session_id)
    return selectors.session_runs(session=session, with_messages=messages)
