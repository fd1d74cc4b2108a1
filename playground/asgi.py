import asyncio
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

import runs.tasks  # noqa: E402,F401  (imports the engine and openai now, not inside the first run's start)
from runs import dispatch  # noqa: E402
from runs.routing import websocket_urlpatterns  # noqa: E402
from runs.warmup import warm_up  # noqa: E402
from runs.ws_auth import allowed_hosts_origin_validator, websocket_auth_stack  # noqa: E402

warm_up()


class BindServerLoop:
    """Inline runs must live on the serving loop (the in-memory layer's queues belong to it)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        dispatch.bind_server_loop(asyncio.get_running_loop())
        return await self.app(scope, receive, send)


application = BindServerLoop(
    ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": allowed_hosts_origin_validator(websocket_auth_stack(URLRouter(websocket_urlpatterns))),
        }
    )
)
