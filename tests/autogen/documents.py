"""Where the AutoGen Studio fixtures live, and how to read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# A copy of ../shared/fixtures/autogen kept in the repository, so a clone anywhere runs the whole suite;
# tests/autogen/test_import_export.py checks it still matches ../shared where that exists.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "autogen"
SHARED_FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "autogen"
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def load_fixture(version: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"agentchat-{version}" / f"{name}.json").read_text())
    return data
