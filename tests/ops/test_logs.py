"""Log lines about a run carry its id: plain (`run=N`) and JSON (`"run_id": N`)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from ops.logs import JsonFormatter, RunContextFilter, run_logging

pytestmark = pytest.mark.nodb


def capture(formatter: logging.Formatter) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RunContextFilter())
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"test.ops.logs.{id(stream)}")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_json_lines_carry_the_run_id_only_inside_the_run() -> None:
    logger, stream = capture(JsonFormatter())
    with run_logging(42):
        logger.info("claimed by %s", "w1", extra={"attempt": 2})
    logger.info("idle")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["message"] == "claimed by w1" and first["run_id"] == 42 and first["attempt"] == 2
    assert first["level"] == "INFO" and first["time"].endswith("+00:00")
    assert "run_id" not in second


def test_plain_lines_tag_the_run() -> None:
    logger, stream = capture(logging.Formatter("%(levelname)s%(run_tag)s %(message)s"))
    with run_logging(7):
        logger.warning("lease lost")
    logger.warning("sweep")
    assert stream.getvalue().splitlines() == ["WARNING run=7 lease lost", "WARNING sweep"]
