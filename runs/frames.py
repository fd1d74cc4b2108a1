"""The run protocol's client side: the frames a client sends, their limits, the close codes, the default stop reason.

Frames are parsed with pydantic, so a wrong field type is a clear error, not a crash, and every
client written in Python (the terminal client, the benchmark) builds its frames from the same
classes (`StartFrame(task=...).wire()`). No Django here. The browser's copy of these constants is
static/js/protocol.js (tests/runs/test_frames.py checks the two agree).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from agents_app.text import refuse_nul

TASK_MAX_CHARS = 100_000  # a task or an answer
REASON_MAX_CHARS = 2_000  # a stop reason
DEFAULT_STOP_REASON = "Stopped by user"

# Close codes (the 4000-4999 range is the application's): sent after an `error` frame saying why.
CLOSE_UNAUTHENTICATED = 4001
CLOSE_FORBIDDEN = 4003
CLOSE_NOT_FOUND = 4004
CLOSE_REASONS = {
    CLOSE_UNAUTHENTICATED: "not authenticated",
    CLOSE_FORBIDDEN: "not allowed",
    CLOSE_NOT_FOUND: "no such run",
}

Task = Annotated[str, Field(min_length=1, max_length=TASK_MAX_CHARS)]
Answer = Annotated[str, Field(max_length=TASK_MAX_CHARS)]
StopReason = Annotated[str, Field(max_length=REASON_MAX_CHARS)]


class FrameModel(BaseModel):
    """What every frame and part of one refuses, like a REST body (playground.schemas.InputSchema):
    coerced types (`"5"` is not 5) and text the database cannot store (a NUL, named by field)."""

    # AutoGen clients send extra keys (e.g. timestamps); ignore what we do not use.
    model_config = ConfigDict(extra="ignore", strict=True)

    @field_validator("*")
    @classmethod
    def _storable_text(cls, value: Any) -> Any:
        return refuse_nul(value)


class Frame(FrameModel):
    type: str

    def wire(self) -> dict[str, Any]:
        """The frame as a client sends it: its type, then the fields not left at their default."""
        return {"type": self.type, **self.model_dump(mode="json", exclude_defaults=True, exclude={"type"})}


class FileIn(FrameModel):
    name: str
    type: str = ""
    content: str = ""


class StartFrame(Frame):
    type: Literal["start"] = "start"
    task: Task
    team_config: dict[str, Any] | None = None
    team_version: int | None = Field(default=None, ge=1)  # run this version of the run's team
    model_override: dict[str, Any] | None = None  # checked where the REST API checks it (runs.snapshots)
    files: list[FileIn] = Field(default_factory=list)


class StopFrame(Frame):
    type: Literal["stop"] = "stop"
    reason: StopReason | None = None  # none: DEFAULT_STOP_REASON


class PingFrame(Frame):
    type: Literal["ping"] = "ping"


class InputResponseFrame(Frame):
    type: Literal["input_response"] = "input_response"
    response: Answer
    request_id: str | None = None


class ToolApprovalFrame(Frame):
    """The run's owner decides on a pending tool call: approve (with edited `arguments`, checked
    against the tool's schema) or reject (the `reason` is what the model reads as the result)."""

    type: Literal["tool_approval"] = "tool_approval"
    request_id: str
    decision: Literal["approve", "reject"]
    arguments: dict[str, Any] | None = None
    reason: StopReason = ""


class AuthFrame(Frame):
    type: Literal["auth"] = "auth"
    token: str


class ResumeFrame(Frame):
    type: Literal["resume"] = "resume"
    after_seq: int = Field(default=0, ge=0)


ClientFrame = Annotated[
    StartFrame | StopFrame | PingFrame | InputResponseFrame | ToolApprovalFrame | AuthFrame | ResumeFrame,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[Any] = TypeAdapter(ClientFrame)
FRAME_TYPES = ("start", "stop", "ping", "input_response", "tool_approval", "auth", "resume")


class FrameError(ValueError):
    pass


def parse_frame(data: Any) -> Any:
    if not isinstance(data, dict):
        raise FrameError("a frame must be a JSON object")
    kind = data.get("type")
    if kind not in FRAME_TYPES:
        raise FrameError(f"unknown frame type {kind!r}; expected one of {', '.join(FRAME_TYPES)}")
    try:
        return _adapter.validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:]) or 'frame'}: {e['msg']}" for e in exc.errors())
        raise FrameError(f"invalid {kind} frame: {problems}") from None
