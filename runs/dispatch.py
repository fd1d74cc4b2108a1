"""Hands a queued run to an executor (RUN_EXECUTOR) and tells a live worker to stop.

The run core (execution, consumer) builds on these two entry points.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def dispatch(run_id: int) -> None:
    logger.info("run %s queued (no executor wired yet)", run_id)


def notify_stop(run_id: int, status: str) -> None:
    logger.info("run %s stop requested -> %s", run_id, status)
