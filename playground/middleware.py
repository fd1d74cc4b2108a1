"""At most WEB_MAX_CONCURRENT_REQUESTS requests of a process inside Django's middleware and views at once.

Under an ASGI server Django runs each request's sync code on a thread made for that request, with a
database connection of its own (closed as the request finishes: runs.db). A burst of requests (200
runs arriving, each created over REST) so opened as many threads and PostgreSQL connections at
once, past the server's max_connections, and every new connection forked a PostgreSQL backend on
the cores the burst was short of. Requests past the limit wait here, on the event loop, holding
neither; they are CPU-bound once inside, so the burst takes no longer.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.decorators import async_only_middleware

_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = weakref.WeakKeyDictionary()


def _gate() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(settings.WEB_MAX_CONCURRENT_REQUESTS)
    return gate


@async_only_middleware
def bounded_requests(get_response: Callable[[HttpRequest], Awaitable[Any]]) -> Callable[[HttpRequest], Any]:
    """First in MIDDLEWARE and async only, so Django hands the middleware behind it (sync ones: a
    thread) to it as one awaitable, taken only inside the limit."""

    async def middleware(request: HttpRequest) -> Any:
        if settings.WEB_MAX_CONCURRENT_REQUESTS <= 0:
            return await get_response(request)
        async with _gate():
            return await get_response(request)

    return middleware
