"""Pay a process's one-off costs when it starts, not on the event loop in the middle of other runs.

The model SDK's HTTP stack, its TLS trust store, the channel layer and the price table, built on
the shared loop by a first run, stall every run already streaming there; the Celery worker's
`worker_ready` and the ASGI application's import build them first. Then the heap built so far (Django, the SDK,
pydantic's schemas) is moved out of the cycle collector's reach with `gc.freeze()`: full
collections walking those long-lived objects paused every token in flight.
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)


def warm_up() -> None:
    try:
        from channels.layers import get_channel_layer

        from agents_app.engine.openai_client import warm_up as warm_up_model_clients
        from agents_app.engine.pricing import warm_up as warm_up_prices

        warm_up_model_clients()
        warm_up_prices()  # the bundled price table: ~20 ms on the first priced model call otherwise
        get_channel_layer()
        from runs.dispatch import warm_up_publisher

        warm_up_publisher()
    except Exception:  # a warm-up is an optimisation: the first run pays instead
        logger.exception("warm-up failed")
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
