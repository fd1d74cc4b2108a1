"""The client frames and protocol constants: defined once in Python, mirrored once for the browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings

from runs import frames
from runs.frames import (
    AuthFrame,
    FrameError,
    InputResponseFrame,
    PingFrame,
    ResumeFrame,
    StartFrame,
    StopFrame,
    parse_frame,
)
from tests.runs.frame_corpus import mistyped_frames, nul_frames, valid_frames

pytestmark = pytest.mark.nodb

PROTOCOL_JS = Path(__file__).resolve().parents[2] / "static" / "js" / "protocol.js"


def js_constants() -> dict[str, object]:
    text = PROTOCOL_JS.read_text()
    found: dict[str, object] = {}
    for name, value in re.findall(r"^export const ([A-Z_]+) = ([^;{]+);", text, re.M):
        found[name] = int(value) if value.strip().isdigit() else value.strip().strip('"')
    reasons = re.search(r"CLOSE_REASONS = \{(.*?)\};", text, re.S)
    assert reasons is not None
    found["CLOSE_REASONS"] = {
        found[key]: reason for key, reason in re.findall(r"\[([A-Z_]+)\]: \"([^\"]+)\"", reasons[1])
    }
    return found


def test_the_browser_has_the_same_limits_close_codes_and_stop_reason() -> None:
    js = js_constants()
    shared = ["TASK_MAX_CHARS", "REASON_MAX_CHARS", "DEFAULT_STOP_REASON"]
    for name in [*shared, "CLOSE_UNAUTHENTICATED", "CLOSE_FORBIDDEN", "CLOSE_NOT_FOUND"]:
        assert js[name] == getattr(frames, name), name
    assert set(js["CLOSE_REASONS"]) == set(frames.CLOSE_REASONS)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "frame",
    [
        StartFrame(task="Write a haiku"),
        StartFrame(task="t", team_config={"name": "x"}),
        StartFrame(task="t", team_version=2, model_override={"model": "gpt-4o-mini"}),
        StopFrame(reason="enough"),
        StopFrame(),
        PingFrame(),
        InputResponseFrame(response="yes", request_id="r1"),
        AuthFrame(token="pg_abc"),
        ResumeFrame(after_seq=4),
    ],
    ids=lambda f: f.type,
)
def test_a_built_frame_is_what_the_server_parses(frame: frames.Frame) -> None:
    wire = frame.wire()
    assert next(iter(wire)) == "type"
    assert parse_frame(wire) == frame


def test_a_built_frame_leaves_out_what_it_does_not_set() -> None:
    assert StartFrame(task="t").wire() == {"type": "start", "task": "t"}
    assert StopFrame().wire() == {"type": "stop"}


def test_limits_hold_for_parsed_frames() -> None:
    parse_frame({"type": "start", "task": "x" * frames.TASK_MAX_CHARS})
    with pytest.raises(FrameError, match="task"):
        parse_frame({"type": "start", "task": "x" * (frames.TASK_MAX_CHARS + 1)})
    with pytest.raises(FrameError, match="reason"):
        parse_frame({"type": "stop", "reason": "x" * (frames.REASON_MAX_CHARS + 1)})


# ------------------------------------------------------------------ a generated corpus over every frame type and field

CORPUS = settings(max_examples=300, derandomize=True, database=None, deadline=None)


@CORPUS
@given(valid_frames)
def test_every_generated_valid_frame_parses(frame: dict[str, Any]) -> None:
    assert parse_frame(frame).type == frame["type"]


@CORPUS
@given(nul_frames())
def test_a_nul_in_any_string_of_any_frame_is_refused_naming_the_field(case: tuple[dict[str, Any], str]) -> None:
    frame, field = case
    with pytest.raises(FrameError) as refused:
        parse_frame(frame)
    assert f"{field}" in str(refused.value) and "NUL" in str(refused.value)


@CORPUS
@given(mistyped_frames())
def test_a_mistyped_field_is_refused_naming_it_or_parses(case: tuple[dict[str, Any], str]) -> None:
    frame, field = case
    try:
        parsed = parse_frame(frame)
    except FrameError as exc:
        assert field in str(exc)
    else:
        assert parsed.type == frame["type"]  # the value happened to fit (a string for a string)


@pytest.mark.parametrize(
    "frame,field",
    [
        ({"type": "resume", "after_seq": "5"}, "after_seq"),
        ({"type": "resume", "after_seq": 5.0}, "after_seq"),
        ({"type": "resume", "after_seq": True}, "after_seq"),
        ({"type": "start", "task": 5}, "task"),
        ({"type": "stop", "reason": 5}, "reason"),
        ({"type": "input_response", "response": "yes", "request_id": 7}, "request_id"),
    ],
)
def test_frames_do_not_coerce_types_any_more_than_rest_does(frame: dict[str, Any], field: str) -> None:
    with pytest.raises(FrameError, match=field):
        parse_frame(frame)
