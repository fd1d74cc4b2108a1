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
def test_a_fork_copies_every_field_of_its_prefix_a_handoffs_target_too(alice: Any) -> None:
    parent = make_run(alice, "complete")
    services.message_append(run_id=parent.id, source="user", type="TextMessage", content="go")
    services.message_append(run_id=parent.id, source="a", type="HandoffMessage", content="over to b", target="b")
    parent.refresh_from_db()
    child = services.run_fork(parent=parent, after_seq=2)
    copied = list(child.messages.order_by("seq").values_list("seq", "type", "content", "target"))
    assert copied == [(1, "TextMessage", "go", ""), (2, "HandoffMessage", "over to b", "b")]
