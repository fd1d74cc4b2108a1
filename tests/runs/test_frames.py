"""The client frames and protocol constants: defined once in Python, mirrored once for the browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

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
