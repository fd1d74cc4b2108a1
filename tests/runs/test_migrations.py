"""Data migrations of runs: stored rows keep their meaning when a field moves."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from runs.models import Message
from tests.factories import make_run


def migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor


@pytest.mark.django_db(transaction=True)
def test_partial_and_target_leave_metadata_for_their_fields(alice: Any) -> None:
    run = make_run(alice, "complete")
    before = ("runs", "0004_run_forks_and_model_override")
    try:
        old = migrate([before]).loader.project_state([before]).apps
        stored = old.get_model("runs", "Message").objects
        stored.create(run_id=run.id, seq=1, source="user", content="hi", metadata={})
        handoff = {"type": "HandoffMessage", "content": "to b", "metadata": {"target": "b", "k": "v"}}
        stored.create(run_id=run.id, seq=2, source="a", **handoff)
        stored.create(run_id=run.id, seq=3, source="b", content="half", metadata={"partial": "true"})
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    rows = {m.seq: (m.target, m.partial, m.metadata) for m in Message.objects.filter(run=run)}
    assert rows == {1: ("", False, {}), 2: ("b", False, {"k": "v"}), 3: ("", True, {})}
