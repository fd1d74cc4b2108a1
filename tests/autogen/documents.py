"""Where the shared AutoGen Studio fixtures live, and how to read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# The shared fixtures sit beside the repository (a fresh clone elsewhere has ../shared too).
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "autogen"
FIXTURE_FILES = sorted(FIXTURES.glob("*/*.json"))


def fixture_id(path: Path) -> str:
    return f"{path.parent.name}/{path.stem}"


def load_fixture(version: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"agentchat-{version}" / f"{name}.json").read_text())
    return data
