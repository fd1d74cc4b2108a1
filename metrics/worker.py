"""A Celery worker's own /metrics, on METRICS_WORKER_PORT (the worker serves no HTTP otherwise).

A threads-pool worker is one process, so its default registry holds everything it counted. The
endpoint answers only a bearer METRICS_TOKEN (or anyone with METRICS_PUBLIC): a worker has no
logins. It listens on METRICS_WORKER_ADDRESS (default 127.0.0.1).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from django.conf import settings
from prometheus_client import make_wsgi_app

from metrics.auth import token_ok

logger = logging.getLogger(__name__)
_server: WSGIServer | None = None


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _guarded(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if settings.METRICS_PUBLIC or token_ok(environ.get("HTTP_AUTHORIZATION")):
            return app(environ, start_response)
        start_response("401 Unauthorized", [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")])
        return [b"Metrics need Authorization: Bearer <METRICS_TOKEN>.\n"]

    return guarded


def serve(port: int, address: str) -> int:
    """Start the endpoint on a daemon thread; the port it listens on (0 picks a free one)."""
    global _server
    if _server is not None:
        return int(_server.server_port)
    _server = make_server(address, port, _guarded(make_wsgi_app()), _ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=_server.serve_forever, name="metrics-endpoint", daemon=True).start()
    logger.info("worker metrics on http://%s:%s/metrics", address, _server.server_port)
    return int(_server.server_port)
