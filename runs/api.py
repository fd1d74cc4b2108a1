"""/api/runs: create, start, watch (REST side), stop and answer runs.

Same conventions as the rest of the API: owner-scoped reads through runs.selectors,
every write through runs.services, errors in the shared shape (409 for a state
conflict, 429 past the per-user cap of active runs).
"""

from __future__ import annotations

from typing import Any, Literal

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from ninja.responses import Status
from pydantic import field_validator

from agents_app.text import refuse_nul
from playground.errors import ApiError
from playground.pagination import LimitOffset
from playground.schemas import InputSchema
from runs import attachments, selectors, services, snapshots
from runs.frames import DEFAULT_STOP_REASON, Answer, FileIn, StopReason, Task
from runs.models import Message, Run
from runs.sessions_api import usable_team
from runs.shapes import MessageOut, RunOut

router = Router(tags=["runs"])
FILES_HELP = (
    "files given with the task, AutoGen's shape {name, type, content: base64}; or send the request as "
    "multipart/form-data with the other fields as form fields and each file as a `files` part"
)
MODEL_OVERRIDE_HELP = (
    'run on another model: {"model", "base_url"?} for every agent, or {"<agent name>": {"model", "base_url"?}}'
)


class RunCreateIn(InputSchema):
    team_id: int | None = Field(None, description="a team you own or that is shared")
    team_config: dict[str, Any] | None = Field(None, description="our team config or AutoGen Studio component JSON")
    team_version: int | None = Field(
        None, ge=1, description="run this version of the team (team_id's or the session's); default its current one"
    )
    model_override: dict[str, Any] | None = Field(None, description=MODEL_OVERRIDE_HELP)
    session_id: int | None = Field(None, description="the chat session the run belongs to")
    task: Task | None = Field(None, description="start at once; without it the run waits for `start`")
    files: list[FileIn] | None = Field(None, description=FILES_HELP)


class EditIn(InputSchema):
    seq: int = Field(ge=1, description="the kept message to replace (1 is the task)")
    content: Answer


class ForkIn(InputSchema):
    after_seq: int = Field(ge=1, le=2**31 - 1, description="keep the parent's messages 1 to after_seq")
    team_version: int | None = Field(None, ge=1, description="run this version of the parent's team instead")
    team_config: dict[str, Any] | None = Field(None, description="or this config (ours or AutoGen's)")
    model_override: dict[str, Any] | None = Field(None, description=MODEL_OVERRIDE_HELP)
    edit: EditIn | None = Field(None, description="replace the text of one kept message")

    @field_validator("edit", mode="before")
    @classmethod
    def _storable_edit(cls, value: Any) -> Any:
        # Before EditIn parses it, so a NUL is named at `edit` like in any other object field.
        return refuse_nul(value)


class RunCreatedOut(RunOut):
    ws_url: str = Field(description="WebSocket path to watch and drive the run")


class StartIn(InputSchema):
    task: Task
    team_config: dict[str, Any] | None = None
    team_version: int | None = Field(None, ge=1)
    model_override: dict[str, Any] | None = Field(None, description=MODEL_OVERRIDE_HELP)
    files: list[FileIn] | None = Field(None, description=FILES_HELP)


class StopIn(InputSchema):
    reason: StopReason = DEFAULT_STOP_REASON


class InputIn(InputSchema):
    response: Answer
    request_id: str | None = None


class ApprovalIn(InputSchema):
    """The body of the `tool_approval` frame (runs.frames.ToolApprovalFrame), without its type."""

    request_id: str
    decision: Literal["approve", "reject"]
    arguments: dict[str, Any] | None = Field(None, description="edited arguments; checked against the tool's schema")
    reason: StopReason = Field("", description="why; a rejection's reason is what the model reads as the result")


class StatusOut(Schema):
    id: int
    status: str


def _resolve_config(user: Any, payload: RunCreateIn, session: Any) -> tuple[snapshots.Snapshot, Any]:
    """The run's snapshot and its team."""
    if payload.team_config is not None and payload.team_id is not None:
        raise ApiError(400, "Give team_id or team_config, not both.", [{"path": "team_config", "message": "remove"}])
    team = None
    if payload.team_config is None:
        team_id = payload.team_id if payload.team_id is not None else (session.team_id if session else None)
        if team_id is None:
            problem = "give team_id or team_config"
            raise ApiError(400, "Which team should run?", [{"path": "team_id", "message": problem}])
        team = usable_team(user, team_id)
    choice = payload.model_dump(include={"team_config", "team_version", "model_override"})
    current = snapshots.of_team(team) if team is not None else snapshots.Snapshot({})
    return snapshots.choose(current=current, team=team, owner=user, **choice), team


def _uploads(request: HttpRequest, files: list[FileIn] | None) -> list[attachments.Upload]:
    """The request's files: base64 ones in the JSON body, then multipart `files` parts."""
    try:
        uploads = [attachments.upload_from_base64(f.name, f.content, i) for i, f in enumerate(files or [])]
    except attachments.AttachmentError as exc:
        raise _refused(exc) from None
    return uploads + [attachments.Upload(name=f.name or "", data=f.read()) for f in request.FILES.getlist("files")]


def _refused(exc: attachments.AttachmentError) -> ApiError:
    path = "files" if exc.index is None else f"files[{exc.index}]"
    return ApiError(400, f"File refused: {exc}", [{"path": path, "message": str(exc)}])


def _started(run_id: int, task: str, files: list[attachments.Upload] | None = None, **choice: Any) -> None:
    try:
        services.run_start(run_id=run_id, task=task, files=files or (), **choice)
    except services.TooManyActiveRuns as exc:
        raise ApiError(429, str(exc)) from None
    except attachments.AttachmentError as exc:
        raise _refused(exc) from None


@router.post("", response={201: RunCreatedOut})
def run_create(request: HttpRequest, payload: RunCreateIn) -> Status:
    session = None
    if payload.session_id is not None:
        session = selectors.session_get_writable(user=request.user, session_id=payload.session_id)
    snapshot, team = _resolve_config(request.user, payload, session)
    uploads = _uploads(request, payload.files)
    if uploads and not payload.task:
        raise ApiError(400, "Files come with a task.", [{"path": "task", "message": "give the task the files go with"}])
    with transaction.atomic():
        run = services.run_create(
            owner=request.user,
            team=team,
            team_config=snapshot.config,
            team_version=snapshot.team_version,
            model_override=snapshot.model_override,
            session=session,
        )
        if payload.task:
            _started(run.id, payload.task, uploads)  # a refused file: nothing of the run is kept
    if payload.task:  # started, it moved on in the database; a created run is as it was saved (no read)
        run.refresh_from_db()
    run.ws_url = f"/runs/{run.id}"  # type: ignore[attr-defined]
    return Status(201, run)


@router.get("", response=list[RunOut])
@paginate(LimitOffset)
def run_list(
    request: HttpRequest,
    session_id: int | None = Query(None, description="only the runs of this session"),  # noqa: B008
) -> QuerySet[Run]:
    runs = selectors.visible_runs(request.user)
    return runs if session_id is None else runs.filter(session_id=session_id)


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
    choice = payload.model_dump(include={"team_config", "team_version", "model_override"})
    _started(run.id, payload.task, _uploads(request, payload.files), **choice)
    run.refresh_from_db()
    return run


@router.post("/{run_id}/fork", response={201: RunCreatedOut})
def run_fork(request: HttpRequest, run_id: int, payload: ForkIn) -> Status:
    """A new run in the same session starting from a copy of this run's messages 1 to `after_seq`
    (one replaced when `edit` is given), on the same config unless told otherwise; started at once."""
    parent = selectors.run_get_writable(user=request.user, run_id=run_id)
    try:
        run = services.run_fork(
            parent=parent,
            after_seq=payload.after_seq,
            team_config=payload.team_config,
            team_version=payload.team_version,
            model_override=payload.model_override,
            edit_seq=payload.edit.seq if payload.edit else None,
            edit_content=payload.edit.content if payload.edit else None,
        )
    except services.ForkError as exc:
        raise ApiError(400, str(exc), [{"path": exc.path, "message": str(exc)}]) from None
    except services.TooManyActiveRuns as exc:
        raise ApiError(429, str(exc)) from None
    run.refresh_from_db()
    run.ws_url = f"/runs/{run.id}"  # type: ignore[attr-defined]
    return Status(201, run)


@router.post("/{run_id}/stop", response=StatusOut)
def run_stop(request: HttpRequest, run_id: int, payload: StopIn) -> dict[str, Any]:
    run = selectors.run_get_writable(user=request.user, run_id=run_id)
    return {"id": run.id, "status": services.run_request_stop(run_id=run.id, reason=payload.reason)}


@router.post("/{run_id}/input", response=MessageOut)
def run_input(request: HttpRequest, run_id: int, payload: InputIn) -> Message:
    run = selectors.run_get_writable(user=request.user, run_id=run_id)
    return services.run_submit_input(run_id=run.id, response=payload.response, request_id=payload.request_id)


@router.post("/{run_id}/approval", response=MessageOut)
def run_approval(request: HttpRequest, run_id: int, payload: ApprovalIn) -> Message:
    """Decide on the run's pending tool call (its `input_request` of kind tool_approval); the decision
    is stored as a ToolApprovalEvent message and the run resumes. Bad edited arguments: 400, still pending."""
    run = selectors.run_get_writable(user=request.user, run_id=run_id)
    try:
        return services.run_submit_approval(
            run_id=run.id,
            request_id=payload.request_id,
            decision=payload.decision,
            arguments=payload.arguments,
            reason=payload.reason,
            by=request.user.get_username(),
        )
    except services.ApprovalRefused as exc:
        raise ApiError(400, "The edited arguments do not fit the tool's schema.", exc.errors) from None
