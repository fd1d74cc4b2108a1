"""Messages: each appended under the run's next seq, unique and gapless under concurrent writers."""

from __future__ import annotations

from typing import Any

import pytest

from runs import services
from runs.models import Message, Run
from tests.factories import make_run
from tests.runs.conftest import in_threads


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_seq_unique_and_gapless(alice: Any, requires_postgres: None) -> None:
    run = make_run(alice, "running")

    def append_many(i: int) -> list[int]:
        return [
            services.message_append(run_id=run.id, source=f"agent{i}", type="TextMessage", content=str(k)).seq
            for k in range(25)
        ]

    results = in_threads(8, append_many)
    seqs = sorted(s for r in results for s in r)
    assert seqs == list(range(1, 201))
    assert list(Message.objects.filter(run=run).order_by("seq").values_list("seq", flat=True)) == seqs
    assert Run.objects.get(id=run.id).last_seq == 200


@pytest.mark.django_db
def test_an_append_is_the_stored_row_under_the_next_seq(alice: Any) -> None:
    run = make_run(alice, "running", lease_owner="w1")
    fields = {
        "source": "a",
        "type": "ToolCallExecutionEvent",
        "content": [{"call_id": "1", "content": "ok é"}],
        "models_usage": {"prompt_tokens": 3},
        "metadata": {"k": [1, 2]},
        "target": "b",
        "attachments": [{"id": 9, "name": "x.png"}],
    }
    first = services.message_append(run_id=run.id, worker="w1", **fields)
    second = services.message_append(run_id=run.id, source="a", type="TextMessage", content="next", partial=True)
    assert (first.seq, second.seq) == (1, 2)
    row = Message.objects.get(id=first.id)
    assert (row.run_id, row.seq, row.created_at) == (run.id, 1, first.created_at)
    assert {k: getattr(row, k) for k in fields} == fields
    assert (Message.objects.get(id=second.id).partial, Message.objects.get(id=second.id).metadata) == (True, {})
    assert Run.objects.get(id=run.id).last_seq == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("status", "owner"), [("running", "w2"), ("running", ""), ("queued", "w1"), ("complete", "w1")]
)
def test_a_worker_without_the_runs_lease_cannot_append(alice: Any, status: str, owner: str) -> None:
    run = make_run(alice, status, lease_owner=owner)
    with pytest.raises(services.LeaseLost):
        services.message_append(run_id=run.id, worker="w1", source="a", type="TextMessage", content="late")
    assert not Message.objects.filter(run=run).exists()
    assert Run.objects.get(id=run.id).last_seq == 0


@pytest.mark.django_db
def test_an_append_to_a_missing_run_raises(alice: Any) -> None:
    with pytest.raises(Run.DoesNotExist):
        services.message_append(run_id=999_999, source="a", type="TextMessage", content="nowhere")


@pytest.mark.django_db
def test_a_fork_copies_every_field_of_its_prefix_a_handoffs_target_too(alice: Any) -> None:
    parent = make_run(alice, "complete")
    services.message_append(run_id=parent.id, source="user", type="TextMessage", content="go")
    services.message_append(run_id=parent.id, source="a", type="HandoffMessage", content="over to b", target="b")
    parent.refresh_from_db()
    child = services.run_fork(parent=parent, after_seq=2)
    copied = list(child.messages.order_by("seq").values_list("seq", "type", "content", "target"))
    assert copied == [(1, "TextMessage", "go", ""), (2, "HandoffMessage", "over to b", "b")]
