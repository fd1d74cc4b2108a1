"""The checks enforce themselves: CI lints before it tests, and pre-commit runs the same tools."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.nodb


def test_ci_lints_before_it_tests() -> None:
    steps = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("make ")]
    assert steps == ["make lint", "make test"]


def test_pre_commit_config_is_valid_and_runs_the_lint_tools() -> None:
    config = ROOT / ".pre-commit-config.yaml"
    check = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-config", str(config)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    text = config.read_text()
    for entry in (".venv/bin/ruff check", ".venv/bin/ruff format", "make --no-print-directory mypy"):
        assert f"entry: {entry}" in text
