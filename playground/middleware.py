"""Django's sync middleware and views run on a pool of WEB_MAX_CONCURRENT_REQUESTS threads per process.

Under an ASGI server Django runs each request's sync code on a thread made for that request, with a
database connection of its own. A burst of requests (200 runs arriving, each created over REST) so
opened as many threads and PostgreSQL connections at once, past the server's max_connections, and
every new connection forked a PostgreSQL backend on the cores the burst was short of; closing each
at the request's end (runs.db) bounded them but still paid a thread and a connection per request.
Here the requests run on the pool's threads, each keeping its connection from one request to the
next (CONN_MAX_AGE, checked as runs.db.db_call checks its threads'); requests past the limit wait in
the pool's queue holding neither.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import SyncToAsync
from django.conf import settings
from django.core.handlers.asgi import ASGIHandler, ASGIRequest
from django.http import HttpRequest
from django.utils.decorators import async_only_middleware, sync_only_middleware

from runs.db import DatabaseCall


class RequestHandler(ASGIHandler):
    """Django's ASGI handler, without the thread it makes for each request when requests run on the pool:
    what is left outside the pool (the request_started and request_finished signals' receivers) goes to
    asgiref's one sync thread, where a thread made and ended for each request cost about 1 ms of CPU."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and settings.WEB_MAX_CONCURRENT_REQUESTS > 0:
            await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


@functools.cache
def _pool(size: int) -> ThreadPoolExecutor:
    # One per limit: the setting changes only in tests.
    return ThreadPoolExecutor(max_workers=size, thread_name_prefix="web-request")


@async_only_middleware
def pooled_requests(get_response: Callable[[HttpRequest], Awaitable[Any]]) -> Callable[[HttpRequest], Any]:
    """First in MIDDLEWARE and async only, so Django hands it the sync middleware behind it as one
    sync_to_async call, whose function it runs on the pool instead of a thread made for the request."""
    chain = get_response.func if isinstance(get_response, SyncToAsync) else None
    if chain is None or settings.WEB_MAX_CONCURRENT_REQUESTS <= 0:
        return get_response
    serve = DatabaseCall(chain, thread_sensitive=False, executor=_pool(settings.WEB_MAX_CONCURRENT_REQUESTS))

    async def middleware(request: HttpRequest) -> Any:
        # A WSGI-style request (the sync test client) stays on its caller's thread, in its transaction.
        return await (serve if isinstance(request, ASGIRequest) else get_response)(request)

    return middleware


@sync_only_middleware
def sync_middleware_chain(get_response: Callable[[HttpRequest], Any]) -> Callable[[HttpRequest], Any]:
    """Last in MIDDLEWARE: Django then runs every middleware before it in sync mode on the request's
    thread; in async mode each hook of each of them hopped to that thread and back on its own."""
    return get_response
