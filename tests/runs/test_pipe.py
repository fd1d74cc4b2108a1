"""RunPipe: one run's frames, in order, published at once when idle and merged while one is in flight."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from runs import events
from runs.pipe import MAX_CHUNK_CHARS, RunPipe

pytestmark = pytest.mark.nodb


class Publisher:
    """Records what the pipe starts publishing; the test decides when each publish completes."""

    def __init__(self) -> None:
        self.started: list[dict[str, Any]] = []
        self.replies: list[asyncio.Future[None]] = []

    def start(self, frame: dict[str, Any]) -> asyncio.Future[None]:
        self.started.append(frame)
        reply = asyncio.get_running_loop().create_future()
        self.replies.append(reply)
        return reply

    def ack(self, index: int = -1, error: Exception | None = None) -> None:
        reply = self.replies[index]
        reply.set_result(None) if error is None else reply.set_exception(error)


def pipe_for(publisher: Publisher) -> RunPipe:
    return RunPipe(publisher.start, lambda seq, source, text, offset: events.chunk_frame(7, seq, source, text, offset))


async def turn() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_a_chunk_is_published_before_chunk_returns_when_nothing_is_in_flight() -> None:
    publisher = Publisher()
    pipe = pipe_for(publisher)
    pipe.chunk(2, "writer", "Hello", 0)
    assert [f["data"]["content"] for f in publisher.started] == ["Hello"]  # no loop turn needed


async def test_chunks_arriving_while_one_is_in_flight_are_merged_into_the_next_frame() -> None:
    publisher = Publisher()
    pipe = pipe_for(publisher)
    pipe.chunk(2, "writer", "a", 0)
    for offset, piece in enumerate("bcd", start=1):
        pipe.chunk(2, "writer", piece, offset)
    assert len(publisher.started) == 1
    publisher.ack(0)
    await turn()
    assert [(f["data"]["content"], f["offset"]) for f in publisher.started] == [("a", 0), ("bcd", 1)]


async def test_a_merged_frame_is_capped_and_a_new_message_gets_its_own_frame() -> None:
    publisher = Publisher()
    pipe = pipe_for(publisher)
    pipe.chunk(2, "writer", "x", 0)  # in flight
    pipe.chunk(2, "writer", "y" * MAX_CHUNK_CHARS, 1)
    pipe.chunk(2, "writer", "z", 1 + MAX_CHUNK_CHARS)  # the waiting frame is full: a new one
    pipe.chunk(3, "critic", "w", 0)  # another message: never merged into the writer's
    for index in range(4):
        await turn()
        publisher.ack(index)
    await pipe.drain()
    frames = [(f["seq"], f["data"]["source"], len(f["data"]["content"])) for f in publisher.started]
    assert frames == [(2, "writer", 1), (2, "writer", MAX_CHUNK_CHARS), (2, "writer", 1), (3, "critic", 1)]


async def test_send_waits_for_the_frame_and_everything_before_it() -> None:
    publisher = Publisher()
    pipe = pipe_for(publisher)
    pipe.chunk(2, "writer", "text", 0)
    sent = asyncio.ensure_future(pipe.send({"type": "message", "run_id": 7, "seq": 2}))
    await turn()
    assert not sent.done() and [f["type"] for f in publisher.started] == ["message_chunk"]
    publisher.ack(0)
    await turn()
    assert [f["type"] for f in publisher.started] == ["message_chunk", "message"] and not sent.done()
    publisher.ack(1)
    await asyncio.wait_for(sent, 1)
    assert pipe.frames_sent == 2


async def test_a_posted_frame_returns_at_once_keeps_its_place_and_is_drained() -> None:
    publisher = Publisher()
    pipe = pipe_for(publisher)
    pipe.chunk(2, "writer", "text", 0)
    pipe.post({"type": "message", "run_id": 7, "seq": 2})
    pipe.chunk(3, "writer", "next", 0)  # the next message's text: its own frame, after the message
    drained = asyncio.ensure_future(pipe.drain())
    for i in range(3):
        await turn()
        assert len(publisher.started) == i + 1 and not drained.done()
        publisher.ack(i)
    await asyncio.wait_for(drained, 1)
    assert [(f["type"], f["seq"]) for f in publisher.started] == [
        ("message_chunk", 2),
        ("message", 2),
        ("message_chunk", 3),
    ]


async def test_a_failed_publish_is_logged_and_the_frames_after_it_still_go_out(caplog: Any) -> None:
    publisher = Publisher()
    pipe = pipe_for(publisher)
    pipe.chunk(2, "writer", "lost", 0)
    pipe.chunk(2, "writer", "kept", 4)
    with caplog.at_level(logging.ERROR, logger="runs.pipe"):
        publisher.ack(0, ConnectionError("redis went away"))
        await turn()
        publisher.ack(1)
        await asyncio.wait_for(pipe.drain(), 1)
    assert [f["data"]["content"] for f in publisher.started] == ["lost", "kept"]
    assert pipe.frames_sent == 1
    assert "could not publish a message_chunk frame" in caplog.text and "redis went away" in caplog.text


async def test_a_publisher_that_raises_at_once_does_not_stop_the_pipe(caplog: Any) -> None:
    calls: list[str] = []

    def start(frame: dict[str, Any]) -> asyncio.Future[None]:
        calls.append(frame["data"]["content"])
        if len(calls) == 1:
            raise RuntimeError("no layer")
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    pipe = RunPipe(start, lambda seq, source, text, offset: events.chunk_frame(7, seq, source, text, offset))
    with caplog.at_level(logging.ERROR, logger="runs.pipe"):
        pipe.chunk(2, "writer", "first", 0)
        pipe.chunk(2, "writer", "second", 5)
        await asyncio.wait_for(pipe.drain(), 1)
    assert calls == ["first", "second"] and "no layer" in caplog.text


async def test_drain_on_an_idle_pipe_returns_at_once() -> None:
    pipe = pipe_for(Publisher())
    await asyncio.wait_for(pipe.drain(), 0.5)
