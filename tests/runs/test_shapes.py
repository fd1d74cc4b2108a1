"""A message's JSON form, written out in runs.shapes.message_json, is MessageOut's, from an instance or a row."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from runs import selectors
from runs.models import Message
from runs.shapes import MESSAGE_COLUMNS, MessageOut, message_json
from tests.factories import make_run

pytestmark = pytest.mark.django_db

IMAGE = {"id": 7, "name": "cat.png", "content_type": "image/png", "size": 120, "kind": "image"}
NOTES = {"id": 8, "name": "notes.txt", "content_type": "text/plain", "size": 5, "kind": "text"}
TOOL_IMAGE = {**IMAGE, "id": 9, "call_id": "call_1"}


def stored_variety(owner: Any) -> list[Message]:
    run = make_run(owner)
    rows = [
        {"source": "user", "content": "the task"},
        {"source": "a", "content": "hi", "models_usage": {"prompt_tokens": 3, "completion_tokens": 1, "cost": 0.5}},
        {"source": "user", "type": "MultiModalMessage", "content": "look", "attachments": [IMAGE, NOTES]},
        {"source": "a", "type": "ToolCallRequestEvent", "content": [{"id": "c", "name": "f", "arguments": "{}"}]},
        {"source": "a", "type": "ToolCallExecutionEvent", "content": [{"call_id": "c"}], "attachments": [TOOL_IMAGE]},
        {"source": "a", "type": "HandoffMessage", "content": "over", "target": "b", "metadata": {"k": "v"}},
        {"source": "a", "content": "cut sh", "partial": True},
    ]
    Message.objects.bulk_create([Message(run=run, seq=i, **row) for i, row in enumerate(rows, start=1)])
    # A time on a whole second: Django's JSON form then has no milliseconds.
    Message.objects.filter(run=run, seq=2).update(created_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    return list(Message.objects.filter(run=run).order_by("seq"))


def test_message_json_is_message_outs_dump(alice: Any) -> None:
    for message in stored_variety(alice):
        expected = MessageOut.model_validate(message).model_dump(mode="json")
        assert message_json(message) == expected
        assert list(message_json(message)) == list(expected)  # the same key order on the wire


def test_message_rows_give_the_same_json_as_instances(alice: Any) -> None:
    messages = stored_variety(alice)
    rows = selectors.message_rows(run_id=messages[0].run_id)
    assert [set(row) for row in rows] == [{"id", *MESSAGE_COLUMNS}] * len(messages)
    assert [message_json(row) for row in rows] == [message_json(m) for m in messages]
    middle = selectors.message_rows(run_id=messages[0].run_id, after_seq=2, upto_seq=5)
    assert [row["seq"] for row in middle] == [3, 4, 5]


def test_transcript_instances_hold_what_the_orm_reads(alice: Any) -> None:
    messages = stored_variety(alice)
    loaded = selectors.run_transcript(run_id=messages[0].run_id)
    fields = [f.attname for f in Message._meta.concrete_fields]
    assert [[getattr(m, f) for f in fields] for m in loaded] == [[getattr(m, f) for f in fields] for m in messages]
    assert loaded[0].run.id == messages[0].run_id  # a usable instance: relations load
    assert not loaded[0]._state.adding
