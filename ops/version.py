"""Name, version (pyproject.toml) and git commit (GIT_COMMIT, else `git rev-parse`), read once."""

from __future__ import annotations

import functools
import subprocess
import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def version_info() -> dict[str, str | None]:
    try:
        project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
        version = str(project["version"])
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        version = "unknown"
    return {"name": "agent-playground", "version": version, "commit": settings.GIT_COMMIT or _git_commit()}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=2)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None
