"""The terminal renderer: what a reconnect replays is shown once."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from runs.cli.terminal import Renderer

pytestmark = pytest.mark.nodb


def chunk(seq: int, text: str, offset: int, attempt: int = 1) -> dict[str, Any]:
    data = {"source": "writer", "content": text}
    return {"type": "message_chunk", "seq": seq, "offset": offset, "attempt": attempt, "data": data}


def message(seq: int, text: str) -> dict[str, Any]:
    return {"type": "message", "seq": seq, "data": {"source": "writer", "type": "TextMessage", "content": text}}


def renderer() -> tuple[Renderer, io.StringIO]:
    out = io.StringIO()
    return Renderer(Console(file=out, width=80, force_terminal=False)), out


def test_the_snapshot_after_a_reconnect_does_not_repeat_streamed_text() -> None:
    shown, _ = renderer()
    shown.frame(chunk(2, "Hello", 0))
    shown.frame(chunk(2, "Hello wor", 0))  # the new socket's snapshot of the message so far
    shown.frame(chunk(2, "ld", 9))
    assert shown.streaming == {2: ("writer", "Hello world")}


def test_a_replayed_message_is_printed_once() -> None:
    shown, out = renderer()
    shown.frame(message(1, "first words"))
    shown.frame(message(1, "first words"))
    shown.frame(chunk(1, "late chunk", 0))
    assert out.getvalue().count("first words") == 1
    assert shown.last_seq == 1 and shown.streaming == {}


def test_a_message_streamed_again_after_a_resume_replaces_the_text_shown() -> None:
    shown, _ = renderer()
    shown.frame(chunk(2, "The cat sat ", 0))
    shown.frame(chunk(2, "A dog", 0, attempt=2))  # the worker was lost; the resumed run starts the message over
    shown.frame(chunk(2, "on the mat", 12))  # late text of the lost attempt
    shown.frame(chunk(2, " barked.", 5, attempt=2))
    assert shown.streaming == {2: ("writer", "A dog barked.")}
