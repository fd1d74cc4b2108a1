"""Helpers for consumer tests: a communicator on the real ASGI app and the real in-memory layer."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.testing import WebsocketCommunicator

from playground.asgi import application

ORIGIN = (b"origin", b"http://testserver")


def communicator(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    return WebsocketCommunicator(application, path, headers=[ORIGIN, *(headers or [])])


async def connect(path: str, headers: list[tuple[bytes, bytes]] | None = None) -> WebsocketCommunicator:
    comm = communicator(path, headers)
    connected, _ = await comm.connect(timeout=10)
    assert connected
    return comm


async def receive(comm: WebsocketCommunicator, timeout: float = 10) -> dict[str, Any]:
    frame = await comm.receive_json_from(timeout=timeout)
    json.loads(json.dumps(frame))  # frames must be JSON primitives only
    return frame


async def receive_until(
    comm: WebsocketCommunicator, types: set[str], timeout: float = 30, keep: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Collect frames into `keep` until one of `types` arrives; return it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        frame = await receive(comm, timeout=max(0.1, deadline - loop.time()))
        if keep is not None:
            keep.append(frame)
        if frame["type"] in types:
            return frame


def messages(frames: list[dict[str, Any]]) -> list[tuple[int, str, Any]]:
    return [(f["seq"], f["data"]["source"], f["data"]["content"]) for f in frames if f["type"] == "message"]
