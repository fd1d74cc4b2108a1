"""The terminal renderer: what a reconnect replays is shown once."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from runs.cli.terminal import Renderer

pytestmark = pytest.mark.nodb


def chunk(seq: int, text: str, offset: int) -> dict[str, Any]:
    return {"type": "message_chunk", "seq": seq, "offset": offset, "data": {"source": "writer", "content": text}}


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
