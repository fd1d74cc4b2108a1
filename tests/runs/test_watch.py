"""WatchFilter: one watcher's stream, each stored message once, chunk text trimmed to what it lacks."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from runs.watch import Gap, WatchFilter

pytestmark = pytest.mark.nodb

RUN = 7


def chunk(seq: int, text: str, offset: int, attempt: int = 1) -> dict[str, Any]:
    return {
        "type": "message_chunk",
        "run_id": RUN,
        "seq": seq,
        "offset": offset,
        "attempt": attempt,
        "data": {"source": "writer", "content": text, "type": "ModelClientStreamingChunkEvent", "models_usage": None},
    }


def message(seq: int, text: str = "") -> dict[str, Any]:
    return {"type": "message", "run_id": RUN, "seq": seq, "data": {"source": "writer", "content": text}}


def final(seq: int, kind: str = "result") -> dict[str, Any]:
    return {"type": kind, "run_id": RUN, "seq": seq, "status": "complete", "data": {}}


def request(request_id: str) -> dict[str, Any]:
    return {"type": "input_request", "run_id": RUN, "seq": 3, "request_id": request_id}


def watcher(after_seq: int = 0) -> WatchFilter:
    return WatchFilter(lambda seq, source, text, offset, attempt: chunk(seq, text, offset, attempt), after_seq)


def texts(outs: list[Any]) -> list[str]:
    return [o["data"]["content"] for o in outs]


def test_a_stored_message_is_sent_once_whether_replayed_or_live() -> None:
    watch = watcher()
    assert watch.admit(message(1)) == message(1)
    assert watch.admit(message(1), live=True) is None
    assert watch.admit(message(2), live=True) == message(2)
    assert watch.last_seq == 2


def test_messages_the_client_already_has_are_not_replayed() -> None:
    watch = watcher(after_seq=3)
    assert watch.admit(message(2)) is None
    assert watch.admit(message(4)) == message(4)


def test_a_live_message_past_the_next_seq_asks_for_the_gap_first() -> None:
    watch = watcher(after_seq=1)
    out = watch.admit(message(4), live=True)
    assert out == Gap(after_seq=1, upto_seq=3, frame=message(4))
    assert watch.last_seq == 4
    assert watch.admit(message(3), live=True) is None  # the gap fill brought it


def test_a_replayed_message_past_the_next_seq_needs_no_gap() -> None:
    watch = watcher()
    assert watch.admit(message(5)) == message(5)


def test_a_live_final_frame_past_the_last_message_asks_for_the_gap_and_goes_out_once() -> None:
    watch = watcher(after_seq=2)
    assert watch.admit(final(4), live=True) == Gap(after_seq=2, upto_seq=4, frame=final(4))
    assert watch.admit(final(4), live=True) is None
    assert watch.admit(final(4, "completion")) is None


def test_an_input_request_goes_out_once_per_request() -> None:
    watch = watcher()
    assert watch.admit(request("a")) == request("a")
    assert watch.admit(request("a"), live=True) is None
    assert watch.admit(request("b"), live=True) == request("b")


def test_resume_sends_the_final_frame_and_the_request_again() -> None:
    watch = watcher()
    watch.admit(message(1))
    watch.admit(request("a"))
    watch.admit(final(1))
    watch.resume(0)
    assert watch.admit(message(1)) == message(1)
    assert watch.admit(request("a")) == request("a")
    assert watch.admit(final(1)) == final(1)


def test_chunks_of_a_message_already_stored_are_dropped() -> None:
    watch = watcher(after_seq=2)
    assert watch.admit(chunk(2, "late", 0), live=True) is None
    assert watch.admit(chunk(3, "new", 0), live=True) == chunk(3, "new", 0)


def test_chunk_text_already_sent_is_trimmed_by_offset() -> None:
    watch = watcher()
    assert texts([watch.admit(chunk(2, "Hello wor", 0))]) == ["Hello wor"]
    assert watch.admit(chunk(2, "Hello", 0), live=True) is None  # wholly sent already
    assert watch.admit(chunk(2, "world!", 6), live=True) == chunk(2, "ld!", 9)  # the overlap cut off
    assert watch.admit(chunk(2, " Bye", 12), live=True) == chunk(2, " Bye", 12)


def test_a_chunk_of_the_next_message_starts_counting_again() -> None:
    watch = watcher()
    watch.admit(chunk(2, "Hello", 0))
    assert watch.admit(chunk(3, "Hi", 0), live=True) == chunk(3, "Hi", 0)


def test_a_chunk_without_offset_passes_untouched() -> None:
    watch = watcher()
    frame = {**chunk(2, "x", 0)}
    del frame["offset"]
    assert watch.admit(frame, live=True) is frame


def test_a_chunk_sent_untrimmed_is_the_same_object() -> None:
    # The token path: a chunk the watcher lacks wholly goes out as it came, no copy.
    watch = watcher()
    frame = chunk(2, "Hello", 0)
    assert watch.admit(frame, live=True) is frame


def test_live_frames_are_held_until_the_snapshot_then_trimmed_against_it() -> None:
    watch = watcher(after_seq=1)
    assert watch.hold()
    assert not watch.hold()  # already holding
    assert watch.admit(chunk(2, "lo wo", 3), live=True) is None
    assert watch.admit(chunk(2, "rld", 8), live=True) is None
    assert watch.admit(message(1)) is None  # a replayed frame is not held
    out = watch.release(chunk(2, "Hello wo", 0))
    assert out == [chunk(2, "Hello wo", 0), chunk(2, "rld", 8)]
    assert not watch.holding
    assert watch.admit(chunk(2, "!", 11), live=True) == chunk(2, "!", 11)


def test_released_frames_without_a_snapshot_go_out_in_order() -> None:
    watch = watcher(after_seq=1)
    watch.hold()
    for frame in (chunk(2, "Hi", 0), message(2, "Hi"), chunk(3, "Yo", 0), message(4)):
        watch.admit(frame, live=True)
    assert watch.release(None) == [chunk(2, "Hi", 0), message(2, "Hi"), chunk(3, "Yo", 0), Gap(2, 3, message(4))]


def test_replaying_again_resets_the_chunk_position_but_keeps_the_final_guard() -> None:
    watch = watcher()
    watch.admit(chunk(2, "Hello", 0))
    watch.admit(final(1))
    watch.replaying(0)
    assert watch.admit(chunk(2, "Hello", 0), live=True) == chunk(2, "Hello", 0)
    assert watch.admit(final(1)) is None


def test_a_message_streamed_again_by_a_resumed_run_starts_over_and_the_old_stream_is_dropped() -> None:
    watch = watcher()
    assert texts([watch.admit(chunk(3, "The cat sat ", 0, attempt=1), live=True)]) == ["The cat sat "]
    # The worker is lost; the resumed run streams message 3 again from its start.
    restarted = watch.admit(chunk(3, "A dog", 0, attempt=2), live=True)
    assert restarted is not None and restarted["attempt"] == 2 and restarted["offset"] == 0
    assert texts([restarted]) == ["A dog"]  # not trimmed against the first attempt's 12 characters
    assert watch.admit(chunk(3, "on the mat", 12, attempt=1), live=True) is None  # late text of the lost one
    assert texts([watch.admit(chunk(3, " barked", 5, attempt=2), live=True)]) == [" barked"]
    trimmed = watch.admit(chunk(3, "A dog barked.", 0, attempt=2), live=True)  # overlaps: trimmed, attempt kept
    assert trimmed is not None and texts([trimmed]) == ["."] and trimmed["offset"] == 12 and trimmed["attempt"] == 2


def _state(w: WatchFilter) -> tuple[Any, ...]:
    return (w.last_seq, w.held, w._chunk_seq, w._chunk_attempt, w._chunk_pos)


@given(
    history=st.lists(
        st.tuples(st.sampled_from(["chunk", "message"]), st.integers(1, 3), st.integers(0, 3), st.integers(0, 2)),
        max_size=8,
    ),
    batch=st.tuples(st.integers(1, 3), st.integers(0, 3), st.integers(0, 3), st.integers(1, 4)),
    holding=st.booleans(),
)
def test_admitting_a_batch_of_text_at_once_agrees_with_admitting_its_frames_one_by_one(
    history: list[tuple[str, int, int, int]], batch: tuple[int, int, int, int], holding: bool
) -> None:
    one_by_one, at_once = watcher(), watcher()
    for kind, seq, offset, attempt in history:
        frame = chunk(seq, "ab", offset, attempt) if kind == "chunk" else message(seq)
        one_by_one.admit(frame, live=True), at_once.admit(frame, live=True)
    if holding:
        one_by_one.hold(), at_once.hold()
    seq, start, attempt, count = batch
    frames, offset = [], start
    for _ in range(count):
        frames.append(chunk(seq, "xy", offset, attempt))
        offset += 2
    before = _state(at_once)
    if at_once.admit_text(seq, attempt, start, offset):
        assert [one_by_one.admit(f, live=True) for f in frames] == frames  # each sent as it is
        assert all(one_by_one.admit(f, live=True) is None for f in frames)  # and noted as sent
        assert _state(at_once) == _state(one_by_one)
    else:
        assert _state(at_once) == before


def test_a_watcher_in_step_with_the_stream_takes_a_batch_of_text_at_once() -> None:
    w = watcher()
    assert w.admit_text(2, 1, 0, 10)  # a new message from its start
    assert w.admit_text(2, 1, 10, 15)  # where the last batch ended
    assert not w.admit_text(2, 1, 20, 25)  # a hole: one by one (admit decides)
    assert not w.admit_text(2, 1, 5, 12)  # overlapping what it has: one by one (admit trims)
    assert w.admit_text(2, 2, 0, 4)  # a resumed execution streams the message again from its start
    w.admit(message(2), live=True)
    assert not w.admit_text(2, 2, 4, 8)  # the stored message is there already


def test_behind_tells_what_a_ping_must_fetch() -> None:
    w = WatchFilter(lambda *a: {}, after_seq=3)
    assert not w.behind(3, terminal=False, request_id="")  # nothing new: no replay
    assert w.behind(4, terminal=False, request_id="")  # a message it was not sent
    assert w.behind(3, terminal=True, request_id="")  # the end
    assert w.behind(3, terminal=False, request_id="r1")  # a request
    w.admit({"type": "input_request", "request_id": "r1"})
    assert not w.behind(3, terminal=False, request_id="r1")  # that request went out already
    w.admit({"type": "completion", "seq": 3})
    assert not w.behind(3, terminal=True, request_id="")  # so did the end
