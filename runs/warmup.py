"""Pay a process's one-off costs when it starts, not on the event loop in the middle of other runs.

The first run of a fresh worker (or of Daphne with the inline executor) used to import the
HTTP stack under the SDK (aiohttp and the SDK's chat resources), build its TLS trust store
the channel layer and the price table on the shared event loop: measured, a 100-180 ms stall that every run
already streaming in that process felt. Called from the Celery worker's `worker_ready` and
when the ASGI application loads.

Last, the heap built so far (Django, the SDK, pydantic's schemas: about a million objects) is
moved out of the cycle collector's reach with `gc.freeze()`. Each full collection walked all of
it: measured, 100-160 ms pauses in the worker and in Daphne every few seconds at 200 runs, every
token in flight waiting behind them.
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
    except Exception:  # a warm-up is an optimisation: the first run pays instead
        logger.exception("warm-up failed")
    gc.collect()  # what is garbage now is not frozen with the rest
    gc.freeze()
