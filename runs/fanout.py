"""What a server process does once per frame for all its watchers, and less often for a watcher behind.

A run watched by many sockets on one Daphne made every consumer encode the same frame again:
about 0.1 ms of CPU per frame per socket, so 1,000 watchers of one run at 200 tokens/s needed
twenty cores. A frame is encoded once per process (`encoded`; the Redis layer also decodes each
group message once, playground.layers), and a watcher that falls behind sends what waits in its
channel as one chunk frame per message in progress instead of one per token (`coalesce`), so
the cost per token falls as the load rises. Figures in docs/benchmarks.md.
"""

from __future__ import annotations

import json
from typing import Any

from runs import events
from runs.watch import Gap

Frame = dict[str, Any]
ENCODED_KEPT = 256  # frames remembered encoded: every watcher of a frame asks for it within a few frames

_encoded: dict[int, tuple[Frame, str]] = {}


def encoded(frame: Frame) -> str:
    """The frame's JSON text, as Channels' send_json writes it; computed once while the frame object lives
    in the cache (keyed by identity: the entry holds the frame, so its id cannot be reused meanwhile)."""
    kept = _encoded.get(id(frame))
    if kept is not None and kept[0] is frame:
        return kept[1]
    text = json.dumps(frame)
    _encoded[id(frame)] = (frame, text)
    if len(_encoded) > ENCODED_KEPT:
        try:
            del _encoded[next(iter(_encoded))]
        except (KeyError, RuntimeError):  # another thread's loop trimmed it meanwhile
            pass
    return text


def coalesce(outs: list[Frame | Gap]) -> list[Frame | Gap]:
    """Merge consecutive chunk frames that continue each other (same message, source and attempt, each
    starting where the last ended) into one; everything else keeps its place and order."""
    merged: list[Frame | Gap] = []
    pieces: list[str] = []  # the text of the chunk frame being merged into merged[-1]
    end = 0  # where that text ends in its message
    for out in outs:
        last = merged[-1] if merged else None
        if (
            pieces
            and isinstance(out, dict)
            and isinstance(last, dict)
            and out["type"] == "message_chunk"
            and out["seq"] == last["seq"]
            and out["data"]["source"] == last["data"]["source"]
            and out.get("attempt") == last.get("attempt")
            and out.get("offset") == end
        ):
            pieces.append(out["data"]["content"])
            end += len(pieces[-1])
            continue
        _close(merged, pieces)
        pieces = []
        merged.append(out)
        if isinstance(out, dict) and out["type"] == "message_chunk" and isinstance(out.get("offset"), int):
            pieces = [out["data"]["content"]]
            end = out["offset"] + len(pieces[0])
    _close(merged, pieces)
    return merged


def _close(merged: list[Frame | Gap], pieces: list[str]) -> None:
    """Replace merged[-1] by one chunk frame carrying all its pieces, if more than one was merged."""
    if len(pieces) > 1:
        first = merged[-1]
        assert isinstance(first, dict)
        content = "".join(pieces)
        merged[-1] = events.chunk_frame(
            first["run_id"], first["seq"], first["data"]["source"], content, first["offset"], first.get("attempt", 0)
        )
