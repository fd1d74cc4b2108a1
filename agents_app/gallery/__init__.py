"""The default teams, one JSON file each in our TeamConfig format (key = file stem).

The offline teams run on the scripted model, so a fresh install can demo every team
kind with no API key; the ``*_openai`` twins are the same teams on gpt-4o-mini and use
the server's key from the environment (no key is stored in a config).
"""

from __future__ import annotations

import json
from pathlib import Path

from agents_app.config import TeamConfig, TeamConfigError, validate_team_config

GALLERY_DIR = Path(__file__).resolve().parent


def gallery_files() -> list[Path]:
    return sorted(GALLERY_DIR.glob("*.json"))


def load_gallery() -> dict[str, TeamConfig]:
    """Every gallery team, validated; a broken file raises TeamConfigError naming the file."""
    teams: dict[str, TeamConfig] = {}
    for path in gallery_files():
        try:
            teams[path.stem] = validate_team_config(json.loads(path.read_text(encoding="utf-8")))
        except TeamConfigError as exc:
            raise TeamConfigError(
                [{"path": f"{path.name}:{e.path}", "message": e.message} for e in exc.errors]
            ) from None
    return teams
