"""Client -> server frames, parsed with pydantic so a wrong field type is a clear error, not a crash."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class _Frame(BaseModel):
    # AutoGen clients send extra keys (e.g. `files`, timestamps); ignore what we do not use.
    model_config = ConfigDict(extra="ignore")


class FileIn(_Frame):
    name: str
    type: str = ""
    content: str = ""


class StartFrame(_Frame):
    type: Literal["start"]
    task: str = Field(min_length=1, max_length=100_000)
    team_config: dict[str, Any] | None = None
    files: list[FileIn] = Field(default_factory=list)


class StopFrame(_Frame):
    type: Literal["stop"]
    reason: str | None = Field(default=None, max_length=2_000)


class PingFrame(_Frame):
    type: Literal["ping"]


class InputResponseFrame(_Frame):
    type: Literal["input_response"]
    response: str = Field(max_length=100_000)
    request_id: str | None = None


class AuthFrame(_Frame):
    type: Literal["auth"]
    token: str


class ResumeFrame(_Frame):
    type: Literal["resume"]
    after_seq: int = Field(default=0, ge=0)


ClientFrame = Annotated[
    StartFrame | StopFrame | PingFrame | InputResponseFrame | AuthFrame | ResumeFrame,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[Any] = TypeAdapter(ClientFrame)
FRAME_TYPES = ("start", "stop", "ping", "input_response", "auth", "resume")


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
