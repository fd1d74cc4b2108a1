"""config_diff: field paths, agents matched by name, reorders, type-aware equality."""

from __future__ import annotations

from agents_app.diff import config_diff


def test_equal_configs_have_no_changes() -> None:
    config = {"name": "t", "participants": [{"name": "a", "model": {"model": "m"}}]}
    assert config_diff(config, {**config}) == []


def test_agents_are_matched_by_name_not_position() -> None:
    old = {"participants": [{"name": "a", "x": 1}, {"name": "b", "x": 2}]}
    new = {"participants": [{"name": "z", "x": 0}, {"name": "a", "x": 1}, {"name": "b", "x": 3}]}
    changes = config_diff(old, new)
    assert [(c["path"], c["change"]) for c in changes] == [
        ("participants[0]", "added"),
        ("participants[2].x", "changed"),
    ]


def test_a_reorder_of_agents_is_reported() -> None:
    old = {"participants": [{"name": "a"}, {"name": "b"}]}
    new = {"participants": [{"name": "b"}, {"name": "a"}]}
    assert config_diff(old, new) == [
        {"path": "participants", "change": "reordered", "old": ["a", "b"], "new": ["b", "a"]}
    ]


def test_plain_lists_compare_by_position_and_types_matter() -> None:
    old = {"tools": ["calc"], "flag": True, "headers": {"X-Team": "a"}}
    new = {"tools": ["calc", "clock"], "flag": 1, "headers": {"X-Team": "b"}}
    paths = {c["path"]: c["change"] for c in config_diff(old, new)}
    assert paths == {"tools[1]": "added", "flag": "changed", 'headers["X-Team"]': "changed"}


def test_removed_keys_are_reported_with_their_old_value() -> None:
    assert config_diff({"a": 1, "b": {"c": 2}}, {"a": 1}) == [
        {"path": "b", "change": "removed", "old": {"c": 2}, "new": None}
    ]
