"""What changed between two team configs, as a list of JSON paths (`participants[1].model.model`).

Plain data in, plain data out (no Django): the version diff, the compare page and the export all
call it. Lists of named objects (agents, tools) are matched by `name`, so adding an agent at the
front reports one added agent rather than every agent after it as changed.
"""

from __future__ import annotations

import re
from typing import Any, Literal, TypedDict

ChangeKind = Literal["added", "removed", "changed", "reordered"]
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MISSING: Any = object()


class Change(TypedDict):
    path: str
    change: ChangeKind
    old: Any
    new: Any


def config_diff(old: Any, new: Any) -> list[Change]:
    """Every leaf that differs between `old` and `new`, in document order; [] when they are equal."""
    changes: list[Change] = []
    _diff(old, new, "", changes)
    return changes


def _key_path(base: str, key: str) -> str:
    if _IDENTIFIER.match(key):
        return f"{base}.{key}" if base else key
    quoted = key.replace("\\", "\\\\").replace('"', '\\"')
    return f'{base}["{quoted}"]'


def _same(a: Any, b: Any) -> bool:
    # 1 == 1.0 == True in Python, but a config that turns `true` into `1` has changed.
    return type(a) is type(b) and a == b


def _diff(old: Any, new: Any, path: str, out: list[Change]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            a, b = old.get(key, _MISSING), new.get(key, _MISSING)
            sub = _key_path(path, str(key))
            if a is _MISSING:
                out.append({"path": sub, "change": "added", "old": None, "new": b})
            elif b is _MISSING:
                out.append({"path": sub, "change": "removed", "old": a, "new": None})
            else:
                _diff(a, b, sub, out)
    elif isinstance(old, list) and isinstance(new, list):
        if _named(old) and _named(new):
            _diff_named(old, new, path, out)
        else:
            _diff_positional(old, new, path, out)
    elif not _same(old, new):
        out.append({"path": path, "change": "changed", "old": old, "new": new})


def _named(items: list[Any]) -> bool:
    names = [item.get("name") if isinstance(item, dict) else None for item in items]
    return bool(items) and all(isinstance(n, str) for n in names) and len(set(names)) == len(names)


def _diff_named(old: list[dict[str, Any]], new: list[dict[str, Any]], path: str, out: list[Change]) -> None:
    old_at = {item["name"]: i for i, item in enumerate(old)}
    new_at = {item["name"]: i for i, item in enumerate(new)}
    kept_old = [n for n in old_at if n in new_at]
    kept_new = [n for n in new_at if n in old_at]
    if kept_old != kept_new:
        out.append({"path": path, "change": "reordered", "old": list(old_at), "new": list(new_at)})
    for i, item in enumerate(new):
        if item["name"] in old_at:
            _diff(old[old_at[item["name"]]], item, f"{path}[{i}]", out)
        else:
            out.append({"path": f"{path}[{i}]", "change": "added", "old": None, "new": item})
    for i, item in enumerate(old):
        if item["name"] not in new_at:
            out.append({"path": f"{path}[{i}]", "change": "removed", "old": item, "new": None})


def _diff_positional(old: list[Any], new: list[Any], path: str, out: list[Change]) -> None:
    for i in range(max(len(old), len(new))):
        sub = f"{path}[{i}]"
        if i >= len(old):
            out.append({"path": sub, "change": "added", "old": None, "new": new[i]})
        elif i >= len(new):
            out.append({"path": sub, "change": "removed", "old": old[i], "new": None})
        else:
            _diff(old[i], new[i], sub, out)
