"""Run hooks used by the tests (PLAYGROUND_RUN_HOOKS entries)."""

from __future__ import annotations

from typing import Any

called: list[Any] = []


def record_id(run_id: int) -> None:
    called.append(("id", run_id))


def record_run(run: Any) -> None:
    called.append(("run", run.id, run.status))


def explode(run_id: int) -> None:
    raise RuntimeError(f"hook blew up on run {run_id}")
