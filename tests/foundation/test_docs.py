"""The documents in the repository keep up with the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runs.frames import FRAME_TYPES

ROOT = Path(__file__).resolve().parents[2]
PROTOCOL = (ROOT / "docs" / "protocol.md").read_text()

pytestmark = pytest.mark.nodb


def test_protocol_documents_every_client_frame() -> None:
    rows = set(re.findall(r"^\| `(\w+)`(?: \(\*ours\*\))? \|", PROTOCOL, re.M))
    assert set(FRAME_TYPES) <= rows


def test_protocol_documents_every_server_frame() -> None:
    built = set(re.findall(r'(?:"type": |type=)"(\w+)"', (ROOT / "runs" / "events.py").read_text()))
    built.discard("ModelClientStreamingChunkEvent")  # a message type inside `data`, not a frame
    documented = set(re.findall(r"^### `(\w+)`", PROTOCOL, re.M))
    documented |= set(re.findall(r"^### `\w+` and `(\w+)`", PROTOCOL, re.M))
    assert built and built <= documented


def test_readme_links_the_documents_in_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/protocol.md" in readme and "docs/benchmarks.md" in readme
    assert "../shared/" not in readme


def test_env_example_lists_every_setting_read_from_the_environment() -> None:
    read = set(re.findall(r'env_\w+\(\s*"([A-Z0-9_]+)"', (ROOT / "playground" / "settings.py").read_text()))
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - listed == set(), "add these to .env.example with their default"
