"""One watcher's filter over a run's stream: what it has been sent, and what of each frame it still lacks.

A watcher gets stored messages by replay and live frames from the run's group, in any overlap:
messages are deduplicated by `seq`, chunk text is trimmed by `offset` to what the watcher has not
seen, a live message or final frame beyond the next seq first needs the gap filled from the
database, an input request or a final frame goes out once. A watcher that joins while a message
is being streamed holds the live frames until the worker's snapshot of the text so far arrives
(or the wait times out). No Channels, no Django: the consumer feeds it and does the I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Frame = dict[str, Any]
# Builds a chunk frame (seq, source, content, offset, attempt) for the run: events.chunk_frame, bound to it.
ChunkFrame = Callable[[int, str, str, int, int], Frame]


@dataclass(slots=True)
class Gap:
    """Send the stored messages after `after_seq` up to `upto_seq` first, then `frame`."""

    after_seq: int
    upto_seq: int
    frame: Frame


class WatchFilter:
    def __init__(self, chunk_frame: ChunkFrame, after_seq: int = 0) -> None:
        self._chunk_frame = chunk_frame
        self.last_seq = after_seq  # the last stored message this watcher has
        self.final_sent = False
        self.sent_request_id = ""
        self.held: list[Frame] | None = None  # live frames waiting for a snapshot
        self._chunk_seq = 0  # the message whose chunks were sent last, by which attempt, and how far its text went
        self._chunk_attempt = 0
        self._chunk_pos = 0

    def replaying(self, after_seq: int) -> None:
        """A replay after `after_seq` is about to be sent."""
        self.last_seq = after_seq
        self._chunk_seq = self._chunk_pos = 0

    def behind(self, last_seq: int, terminal: bool, request_id: str) -> bool:
        """Whether a run stored up to `last_seq`, ended or not, waiting on `request_id` or not ("")
        has anything this watcher was not sent: a message, the final frame, the request."""
        return (
            last_seq > self.last_seq
            or (terminal and not self.final_sent)
            or (bool(request_id) and request_id != self.sent_request_id)
        )

    def resume(self, after_seq: int) -> None:
        """The client asked to be sent everything after `after_seq` again (the final frame and request too)."""
        self.final_sent, self.sent_request_id = False, ""
        self.replaying(after_seq)

    # ------------------------------------------------------------ holding for a snapshot

    @property
    def holding(self) -> bool:
        return self.held is not None

    def hold(self) -> bool:
        """Hold live frames until `release`; False if they are held already."""
        if self.held is not None:
            return False
        self.held = []
        return True

    def release(self, snapshot: Frame | None) -> list[Frame | Gap]:
        """What to send now: the snapshot of the message in progress (if any), then the held live frames."""
        held, self.held = self.held or [], None
        out: list[Frame | Gap] = []
        if snapshot is not None:
            first = self.admit(snapshot)
            if first is not None:
                out.append(first)
        for frame in held:
            admitted = self.admit(frame, live=True)
            if admitted is not None:
                out.append(admitted)
        return out

    # ------------------------------------------------------------ frames

    def admit_text(self, seq: int, attempt: int, start: int, end: int) -> bool:
        """Live chunk frames of message `seq` carrying its text from `start` to `end` without a hole (the
        run's relay checks that, runs.fanout): True when this watcher takes them all as they are, which
        is noted as `admit` would; False, nothing noted, when they must go through `admit` one by one.
        One check per watcher for a batch of frames instead of one per frame."""
        if self.held is not None or seq <= self.last_seq:
            return False
        if seq == self._chunk_seq and attempt == self._chunk_attempt:
            if start != self._chunk_pos:
                return False
        elif start != 0 or (seq == self._chunk_seq and attempt < self._chunk_attempt):
            return False
        self._chunk_seq, self._chunk_attempt, self._chunk_pos = seq, attempt, end
        return True

    def admit(self, frame: Frame, live: bool = False) -> Frame | Gap | None:
        """The frame to send (maybe trimmed), a Gap to fill before it, or None: the watcher has it already.

        `live`: from the run's group (it may be held, or be ahead of the stored messages sent).
        """
        if live and self.held is not None:
            self.held.append(frame)
            return None
        kind = frame["type"]
        if kind == "message_chunk":  # the token path: first, and inline
            seq = frame["seq"]
            if seq <= self.last_seq:
                return None  # its message is already here
            offset = frame.get("offset")
            if not isinstance(offset, int):
                return frame
            attempt = frame.get("attempt", 0)
            if seq != self._chunk_seq or attempt > self._chunk_attempt:
                # A new message, or the same one streamed again from its start by a resumed run:
                # the client drops what it was shown of it (docs/protocol.md, message_chunk).
                self._chunk_seq, self._chunk_attempt, self._chunk_pos = seq, attempt, 0
            elif attempt < self._chunk_attempt:
                return None  # an earlier execution's text, overtaken by the resumed one
            data = frame["data"]
            content = data["content"]
            end = offset + len(content)
            if end <= self._chunk_pos:
                return None  # a snapshot already carried this text
            if offset < self._chunk_pos:
                trimmed = content[self._chunk_pos - offset :]
                frame = self._chunk_frame(seq, data["source"], trimmed, self._chunk_pos, attempt)
            self._chunk_pos = end
            return frame
        if kind == "message":
            seq = frame["seq"]
            if seq <= self.last_seq:
                return None
            after, self.last_seq = self.last_seq, seq
            if live and seq > after + 1:
                return Gap(after, seq - 1, frame)
        elif kind in ("input_request", "tool_approval_request"):
            if frame["request_id"] == self.sent_request_id:
                return None
            self.sent_request_id = frame["request_id"]
        elif kind in ("result", "completion"):
            if self.final_sent:
                return None
            self.final_sent = True
            seq = frame["seq"]
            if live and seq > self.last_seq:
                after, self.last_seq = self.last_seq, seq
                return Gap(after, seq, frame)
        return frame
