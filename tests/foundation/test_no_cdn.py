"""No page loads anything from another host: every script, style and font is served from static/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# What makes a browser fetch a URL: an element's src or a link's href, a module import, a CSS url() or @import.
REMOTE_LOAD = re.compile(
    r"""(?:\bsrc\s*=\s*|<link\b[^>]*\bhref\s*=\s*|\bimport\s*\(?\s*(?:[\w{}*,\s]+\bfrom\s*)?|url\(\s*|@import\s+)["']?(?:https?:)?//""",
    re.I,
)

pytestmark = pytest.mark.nodb


def served_files() -> list[Path]:
    files = [p for p in (ROOT / "templates").rglob("*.html")]
    files += [p for p in (ROOT / "static").rglob("*") if p.suffix in (".html", ".js", ".mjs", ".css")]
    return files


def test_templates_and_static_files_load_nothing_from_another_host() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {match.group(0)}"
        for path in served_files()
        for match in REMOTE_LOAD.finditer(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert served_files() and offenders == []


def test_every_vendored_package_is_pinned_with_its_licence() -> None:
    folders = [p for p in (ROOT / "static" / "vendor").iterdir() if p.is_dir()]
    readme = (ROOT / "static" / "vendor" / "README.md").read_text()
    for folder in folders:
        assert re.fullmatch(r"[a-z-]+-\d+\.\d+\.\d+", folder.name), folder.name
        assert any(p.name.startswith("LICENSE") for p in folder.iterdir()), f"{folder.name} has no LICENSE"
        assert folder.name in readme, f"{folder.name} is not in static/vendor/README.md"
