"""/api/runs: create, start, watch (REST side), stop and answer runs.

Same conventions as the rest of the API: owner-scoped reads through runs.selectors,
every write through runs.services, errors in the shared shape (409 for a state
conflict, 429 past the per-user cap of active runs).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status

from agents_app.autogen import parse_team_config
from agents_app.selectors import team_versions
from playground.errors import ApiError
from playground.pagination import LimitOffset
from playground.schemas import InputSchema
from runs import selectors, services
from runs.models import Message, Run
from runs.sessions_api import MessageOut, RunOut, usable_team

router = Router(tags=["runs"])


class RunCreateIn(InputSchema):
    team_id: int | None = Field(None, description="a team you own or that is shared")
    team_config: dict[str, Any] | None = Field(None, description="our team config or AutoGen Studio component JSON")
    team_version: int | None = Field(
        None, ge=1, description="run this version of the team (team_id's or the session's); default its current one"
    )
    session_id: int | None = Field(None, description="the chat session the run belongs to")
    task: str | None = Field(
        None, min_length=1, max_length=100_000, description="start at once; without it the run waits for `start`"
    )


class RunCreatedOut(RunOut):
    ws_url: str = Field(description="WebSocket path to watch and drive the run")


class StartIn(InputSchema):
    task: str = Field(min_length=1, max_length=100_000)
    team_config: dict[str, Any] | None = None


class StopIn(InputSchema):
    reason: str = Field("Stopped by user", max_length=2_000)


class InputIn(InputSchema):
    response: str = Field(max_length=100_000)
    request_id: str | None = None


class StatusOut(Schema):
    id: int
    status: str


def _resolve_config(user: Any, payload: RunCreateIn, session: Any) -> tuple[dict[str, Any], Any, int | None]:
    """The run's snapshot, its team and the team version it was taken from."""
    if payload.team_config is not None and payload.team_id is not None:
        raise ApiError(400, "Give team_id or team_config, not both.", [{"path": "team_config", "message": "remove"}])
    if payload.team_config is not None:
        if payload.team_version is not None:
            raise ApiError(400, "A team_version needs a team.", [{"path": "team_version", "message": "remove"}])
        config, _ = parse_team_config(payload.team_config)
        return config.model_dump(mode="json"), None, None
    team_id = payload.team_id if payload.team_id is not None else (session.team_id if session else None)
    if team_id is None:
        raise ApiError(400, "Which team should run?", [{"path": "team_id", "message": "give team_id or team_config"}])
    team = usable_team(user, team_id)
    assert team is not None
    if payload.team_version is None:
        return team.config, team, team.version or None
    version = team_versions(team=team).filter(number=payload.team_version).first()
    if version is None:
        problem = f"team {team.id} has no version {payload.team_version}"
        raise ApiError(400, "Unknown team version.", [{"path": "team_version", "message": problem}])
    return version.config, team, version.number


def _started(run_id: int, task: str, team_config: dict[str, Any] | None = None) -> None:
    try:
        services.run_start(run_id=run_id, task=task, team_config=team_config)
    except services.TooManyActiveRuns as exc:
        raise ApiError(429, str(exc)) from None


@router.post("", response={201: RunCreatedOut})
def run_create(request: HttpRequest, payload: RunCreateIn) -> Status:
    session = None
    if payload.session_id is not None:
        session = selectors.session_get_writable(user=request.user, session_id=payload.session_id)
    config, team, version = _resolve_config(request.user, payload, session)
    with transaction.atomic():
        run = services.run_create(
            owner=request.user, team=team, team_config=config, team_version=version, session=session
        )
        if payload.task:
            _started(run.id, payload.task)
    run.refresh_from_db()
    run.ws_url = f"/runs/{run.id}"  # type: ignore[attr-defined]
    return Status(201, run)


@router.get("", response=list[RunOut])
@paginate(LimitOffset)
def run_list(request: HttpRequest) -> QuerySet[Run]:
    return selectors.visible_runs(request.user)


@router.get("/{run_id}", response=RunOut)
def run_detail(request: HttpRequest, run_id: int) -> Run:
    return selectors.run_get_visible(user=request.user, run_id=run_id)


@router.get("/{run_id}/messages", response=list[MessageOut])
@paginate(LimitOffset)
def run_messages(
    request: HttpRequest,
    run_id: int,
    after_seq: int = Query(0, ge=0, le=2**31 - 1),  # noqa: B008
) -> QuerySet[Message]:
    run = selectors.run_get_visible(user=request.user, run_id=run_id)
    return selectors.run_messages_after(run=run, after_seq=after_seq)


@router.post("/{run_id}/start", response=StatusOut)
def run_start(request: HttpRequest, run_id: int, payload: StartIn) -> Run:
    run = selectors.run_get_writable(user=request.user, run_id=run_id)
    _started(run.id, payload.task, payload.team_config)
    run.refresh_from_db()
    return run


@router.post("/{run_id}/stop", response=StatusOut)
def run_stop(request: HttpRequest, run_id: int, payload: StopIn) -> dict[str, Any]:
    run = selectors.run_get_writable(user=request.user, run_id=run_id)
    return {"id": run.id, "status": services.run_request_stop(run_id=run.id, reason=payload.reason)}


@router.post("/{run_id}/input", response=MessageOut)
def run_input(request: HttpRequest, run_id: int, payload: InputIn) -> Message:
    run = selectors.run_get_writable(user=request.user, run_id=run_id)
    return services.run_submit_input(run_id=run.id, response=payload.response, request_id=payload.request_id)
