"""Leases: one worker claims a run, holds it while it renews, and lets go when the run leaves it."""

from __future__ import annotations

from typing import Any

import pytest

from runs import services
from tests.factories import make_run
from tests.runs.conftest import in_threads


@pytest.mark.django_db
def test_claim_takes_lease_and_start_time(alice: Any) -> None:
    run = make_run(alice, "queued")
    claimed = services.run_claim(run_id=run.id, worker="w1", lease_seconds=30)
    assert claimed is not None and (claimed.status, claimed.lease_owner) == ("running", "w1")
    run.refresh_from_db()
    assert (run.status, run.lease_owner) == ("running", "w1")
    assert (claimed.started_at, claimed.lease_expires_at, claimed.team_config) == (
        run.started_at,
        run.lease_expires_at,
        run.team_config,
    )
    assert run.lease_expires_at is not None and run.started_at is not None
    assert services.run_renew_lease(run_id=run.id, worker="w1", lease_seconds=30)
    assert not services.run_renew_lease(run_id=run.id, worker="someone-else", lease_seconds=30)


@pytest.mark.django_db
def test_finish_paths_clear_the_lease(alice: Any) -> None:
    run = make_run(alice, "running", lease_owner="w1")
    assert services.run_complete(run_id=run.id, stop_reason="done", usage={"total_tokens": 3})
    run.refresh_from_db()
    assert (run.status, run.lease_owner, run.usage["total_tokens"]) == ("complete", "", 3)
    assert run.finished_at is not None
    assert services.run_fail(run_id=run.id, error="late failure") is None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_exactly_one_wins(alice: Any, requires_postgres: None) -> None:
    for _ in range(5):
        run = make_run(alice, "queued")

        def claim(i: int, run_id: int = run.id) -> bool:
            return services.run_claim(run_id=run_id, worker=f"w{i}", lease_seconds=30) is not None

        results = in_threads(8, claim)
        assert sorted(results) == [False] * 7 + [True]
        run.refresh_from_db()
        assert run.lease_owner == f"w{results.index(True)}"
