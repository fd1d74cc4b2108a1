"""Run-aware logging: a contextvar holding the current run id, a filter that stamps it on every
record, and a one-line-per-record JSON formatter (`LOG_FORMAT=json`).

Imported by the LOGGING config before apps load, so nothing here touches Django models.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

current_run_id: ContextVar[int | None] = ContextVar("current_run_id", default=None)


def bind_run(run_id: int | None) -> None:
    """Tag every later log line of the current context (an asyncio task of its own) with this run id."""
    current_run_id.set(run_id)


@contextmanager
def run_logging(run_id: int) -> Iterator[None]:
    """Tag log lines with the run id for a block: for threads that go on to other work (pools, Celery)."""
    token = current_run_id.set(run_id)
    try:
        yield
    finally:
        current_run_id.reset(token)


class RunContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        run_id = getattr(record, "run_id", None) or current_run_id.get()
        record.run_id = run_id
        record.run_tag = f" run={run_id}" if run_id is not None else ""
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "run_tag", "run_id"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        run_id = getattr(record, "run_id", None)
        if run_id is not None:
            entry["run_id"] = run_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else repr(value)
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)
