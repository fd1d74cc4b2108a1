"""Server-sent events, decoded a network read at a time.

The SDK's own decoder turns each event into objects line by line (about 12 us per
token measured here, a third of a core at 200 streams of 200 tokens/s). This one
splits a whole read at blank lines with bytes methods and hands back the `data`
payloads of the complete events, so the caller can decode them in one
`json.loads`. It follows the WHATWG rules a model server may rely on: CR, LF or
CRLF line ends (also split across reads), several `data` lines joined by LF,
comments, `event` names, and an unfinished event at the end of the stream being
dropped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    data: bytes
    event: str = "message"


class SSEDecoder:
    def __init__(self) -> None:
        self._pending = b""

    def feed(self, data: bytes) -> list[ServerSentEvent]:
        """The events that `data` completes, in order."""
        buffer = self._pending + data if self._pending else data
        tail = b""
        if b"\r" in buffer:
            if buffer.endswith(b"\r"):  # maybe the first half of a CRLF: decide with the next read
                buffer, tail = buffer[:-1], b"\r"
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        blocks = buffer.split(b"\n\n")
        self._pending = blocks.pop() + tail
        events: list[ServerSentEvent] = []
        for block in blocks:
            if block.startswith(b"data: ") and b"\n" not in block:  # what model servers send
                events.append(ServerSentEvent(block[6:]))
            elif block:
                _parse_block(block, events)
        return events


def _parse_block(block: bytes, events: list[ServerSentEvent]) -> None:
    data: list[bytes] = []
    name = ""
    for line in block.split(b"\n"):
        if not line:  # a blank line left over from three line ends in a row
            if data:
                events.append(ServerSentEvent(b"\n".join(data), name or "message"))
            data, name = [], ""
            continue
        if line.startswith(b":"):
            continue  # a comment (keep-alive)
        field, _, value = line.partition(b":")
        if value.startswith(b" "):
            value = value[1:]
        if field == b"data":
            data.append(value)
        elif field == b"event":
            name = value.decode("utf-8", "replace")
    if data:
        events.append(ServerSentEvent(b"\n".join(data), name or "message"))


def decode_json_payloads(payloads: list[bytes]) -> list[Any]:
    """Decode many JSON documents in one call; a document that is not exactly one JSON value fails."""
    if len(payloads) == 1:
        return [json.loads(payloads[0])]
    values = json.loads(b"[" + b",".join(payloads) + b"]")
    if len(values) != len(payloads):  # e.g. one payload was `1, 2`
        return [json.loads(p) for p in payloads]  # raises on the culprit
    return list(values)
