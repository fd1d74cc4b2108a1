"""Text the server can store: no NUL character, in any field, whatever the database.

PostgreSQL refuses U+0000 in text and jsonb values (a DataError, which surfaced as a 500) while
SQLite stores it, so the two modes answered the same request differently. Every input is checked
at its edge with `nul_path` (REST bodies: playground.schemas.InputSchema; team configs:
agents_app.config; WebSocket frames: runs.frames) and refused with an error naming the field.
Django-free: the engine's config models use it.
"""

from __future__ import annotations

from typing import Any

NUL = "\x00"
NUL_REFUSED = "text must not contain the NUL character (\\u0000)"


def nul_path(value: Any, path: str = "") -> str | None:
    """Where a JSON-like value holds a NUL, in a string or a key: `path` itself for the value, a
    longer path (`.name`, `[0]`) for what is inside it; None when there is none."""
    if isinstance(value, str):
        return path if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            name = str(key).replace(NUL, "\\u0000")  # the path is shown to the client; it must be storable too
            inner = f"{path}.{name}" if path else name
            if isinstance(key, str) and NUL in key:
                return inner
            found = nul_path(item, inner)
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            found = nul_path(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def refuse_nul(value: Any) -> Any:
    """A pydantic field validator's body: the value unchanged, or a ValueError naming where the NUL is."""
    where = nul_path(value)
    if where is None:
        return value
    raise ValueError(f"{NUL_REFUSED} (at {where})" if where else NUL_REFUSED)
