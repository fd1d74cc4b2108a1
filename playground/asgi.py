import asyncio
import os
from typing import Any

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django.setup(set_prefix=False)  # as django.core.asgi.get_asgi_application does

from playground.middleware import RequestHandler  # noqa: E402

django_asgi_app = RequestHandler()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from twisted.internet import reactor  # noqa: E402

import runs.tasks  # noqa: E402,F401  (imports the engine and openai now, not inside the first run's start)
from runs import loops, recovery  # noqa: E402
from runs.routing import websocket_urlpatterns  # noqa: E402
from runs.warmup import warm_up  # noqa: E402
from runs.ws_auth import allowed_hosts_origin_validator, websocket_auth_stack  # noqa: E402

warm_up()


def _serving() -> None:
    """The server's loop runs: inline runs go onto it, and the embedded sweep starts at once, so a
    run orphaned by the previous process is recovered without waiting for a first request."""
    loops.bind_server_loop(asyncio.get_running_loop())
    if not loops.runs_in_celery():
        loops.spawn_inline(recovery.sweep_forever())


# Daphne speaks no ASGI lifespan: its Twisted reactor starting is the server starting ("daphne" is
# the first installed app, so this is its asyncio reactor). Where nothing runs the reactor (a test,
# a worker importing this module), this never fires.
reactor.callWhenRunning(reactor.callLater, 0, _serving)


class BindServerLoop:
    """Inline runs must live on the serving loop (the in-memory layer's queues belong to it).

    Daphne's loop is bound when it starts; this covers a loop that serves without that start (tests).
    """

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        loops.bind_server_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


application = BindServerLoop(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": allowed_hosts_origin_validator(websocket_auth_stack(URLRouter(websocket_urlpatterns))),
        }
    )
)
