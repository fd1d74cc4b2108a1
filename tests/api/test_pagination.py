"""Pagination: offset pages and keyset pages (`after` = the `next` cursor) agree, at every boundary."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from runs.models import Message, Run
from tests.api.conftest import assert_error
from tests.factories import make_run

pytestmark = pytest.mark.django_db


def walk(api: Client, path: str, limit: int) -> list[list[int]]:
    """Every page of a list by its `next` cursors: the ids on each page."""
    pages, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": limit} | ({"after": cursor} if cursor else {})
        body = api.get(path, params).json()
        pages.append([item.get("id", item.get("seq")) for item in body["items"]])
        cursor = body["next"]
        if cursor is None:
            return pages


@pytest.mark.parametrize("limit", [1, 3, 4, 11, 12, 13])
def test_keyset_pages_cover_the_list_once_in_order(alice_api: Client, alice: Any, limit: int) -> None:
    runs = [make_run(alice) for _ in range(12)]
    # Ties on created_at: the id breaks them, so no run is skipped or repeated.
    Run.objects.filter(id__in=[r.id for r in runs[3:7]]).update(created_at=timezone.now())
    listed = [r["id"] for r in alice_api.get("/api/runs", {"limit": 200}).json()["items"]]
    pages = walk(alice_api, "/api/runs", limit)
    assert [i for page in pages for i in page] == listed and sorted(listed) == sorted(r.id for r in runs)
    assert all(len(page) == limit for page in pages[:-1]) and 1 <= len(pages[-1]) <= limit
    assert len(pages) == -(-12 // limit)  # the last full page says there is no next one


def test_offset_pages_say_where_the_next_keyset_page_starts(alice_api: Client, alice: Any) -> None:
    for _ in range(5):
        make_run(alice)
    first = alice_api.get("/api/runs", {"limit": 2, "offset": 1}).json()
    rest = alice_api.get("/api/runs", {"limit": 200, "after": first["next"]}).json()
    every = [r["id"] for r in alice_api.get("/api/runs").json()["items"]]
    assert [r["id"] for r in first["items"] + rest["items"]] == every[1:]
    assert first["count"] == rest["count"] == 5 and rest["next"] is None


def test_message_pages_by_cursor_follow_seq(alice_api: Client, alice: Any) -> None:
    run = make_run(alice)
    Message.objects.bulk_create([Message(run=run, seq=s, source="a", content=f"m{s}") for s in range(1, 8)])
    pages = walk(alice_api, f"/api/runs/{run.id}/messages", 3)
    assert pages == [[1, 2, 3], [4, 5, 6], [7]]


def test_empty_list_has_no_next(alice_api: Client) -> None:
    assert alice_api.get("/api/runs").json() == {"items": [], "count": 0, "next": None}


@pytest.mark.parametrize(
    "cursor",
    ["not base64!", base64.urlsafe_b64encode(b"[1, 2]").decode(), base64.urlsafe_b64encode(b'["x", "y"]').decode()],
)
def test_a_bad_cursor_is_a_400_naming_after(alice_api: Client, alice: Any, cursor: str) -> None:
    make_run(alice)
    body = assert_error(alice_api.get("/api/runs", {"after": cursor}), 400)
    assert [e["path"] for e in body["errors"]] == ["after"]


def test_a_cursor_does_not_reach_other_users_rows(alice_api: Client, alice: Any, bob: Any) -> None:
    mine = make_run(alice)
    make_run(bob)
    cursor = base64.urlsafe_b64encode(json.dumps(["2100-01-01T00:00:00+00:00", "999999"]).encode()).decode()
    assert [r["id"] for r in alice_api.get("/api/runs", {"after": cursor}).json()["items"]] == [mine.id]


@pytest.mark.parametrize(("after_seq", "limit", "expected"), [(2, 2, [[3, 4], [5, 6], [7]]), (3, 4, [[4, 5, 6, 7]])])
def test_message_cursor_pages_start_after_after_seq(
    alice_api: Client, alice: Any, after_seq: int, limit: int, expected: list[list[int]]
) -> None:
    run = make_run(alice)
    Message.objects.bulk_create([Message(run=run, seq=s, source="a", content=f"m{s}") for s in range(1, 8)])
    pages, cursor = [], None
    while True:
        params = {"after_seq": after_seq, "limit": limit} | ({"after": cursor} if cursor else {})
        body = alice_api.get(f"/api/runs/{run.id}/messages", params).json()
        pages.append([m["seq"] for m in body["items"]])
        if (cursor := body["next"]) is None:
            break
    assert pages == expected
