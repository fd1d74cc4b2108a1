from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from django.db import connection

from runs import services
from runs.models import TRANSITIONS, Message, Run, RunStatus
from runs.services import RunStateError
from tests.factories import make_run

ALL = [s.value for s in RunStatus]
LEGAL = [(src, dst) for src, targets in TRANSITIONS.items() for dst in sorted(targets)]
ILLEGAL = [(src, dst) for src, dst in itertools.product(ALL, ALL) if dst not in TRANSITIONS[src]]


@pytest.mark.django_db
@pytest.mark.parametrize("src,dst", LEGAL)
def test_every_legal_transition_works(alice: Any, src: str, dst: str) -> None:
    run = make_run(alice, src)
    assert services.transition(run_id=run.id, to=dst) is True
    run.refresh_from_db()
    assert run.status == dst


@pytest.mark.django_db
@pytest.mark.parametrize("src,dst", ILLEGAL)
def test_every_illegal_transition_is_refused(alice: Any, src: str, dst: str) -> None:
    run = make_run(alice, src)
    with pytest.raises(RunStateError):
        services.transition(run_id=run.id, to=dst)
    with pytest.raises(RunStateError):
        services.transition(run_id=run.id, to=dst, expected=[src])
    run.refresh_from_db()
    assert run.status == src


@pytest.mark.django_db
def test_expected_state_mismatch_returns_false(alice: Any) -> None:
    run = make_run(alice, "running")
    assert services.transition(run_id=run.id, to=RunStatus.RUNNING, expected=[RunStatus.QUEUED]) is False
    assert services.run_claim(run_id=run.id, worker="w2", lease_seconds=30) is None


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
def test_enqueue_stores_the_task_as_first_message(alice: Any) -> None:
    run = make_run(alice)
    assert services.run_enqueue(run_id=run.id, task="Write a haiku")
    assert not services.run_enqueue(run_id=run.id, task="again")
    msgs = list(Message.objects.filter(run=run).values_list("seq", "source", "content"))
    assert msgs == [(1, "user", "Write a haiku")]


@pytest.mark.django_db
def test_input_round_trip(alice: Any) -> None:
    run = make_run(alice, "running", lease_owner="w1")
    request_id = services.run_await_input(run_id=run.id, prompt="Your call?", source="user_proxy")
    assert request_id
    run.refresh_from_db()
    assert (run.status, run.input_prompt, run.lease_owner) == ("awaiting_input", "Your call?", "")
    with pytest.raises(RunStateError):
        services.run_submit_input(run_id=run.id, response="x", request_id="stale")
    msg = services.run_submit_input(run_id=run.id, response="Looks good", request_id=request_id)
    run.refresh_from_db()
    assert (run.status, msg.source, msg.content, run.input_request_id) == ("queued", "user_proxy", "Looks good", "")
    with pytest.raises(RunStateError):
        services.run_submit_input(run_id=run.id, response="twice")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "src,expected",
    [
        ("created", "stopped"),
        ("queued", "stopped"),
        ("awaiting_input", "stopped"),
        ("running", "stopping"),
        ("stopping", "stopping"),
    ],
)
def test_stop_is_direct_or_two_phase(alice: Any, src: str, expected: str) -> None:
    run = make_run(alice, src)
    assert services.run_request_stop(run_id=run.id, reason="enough") == expected
    run.refresh_from_db()
    assert run.status == expected
    if src != "stopping":
        assert run.stop_reason == "enough"


@pytest.mark.django_db
@pytest.mark.parametrize("src", ["complete", "error", "stopped"])
def test_stopping_a_finished_run_is_refused(alice: Any, src: str) -> None:
    run = make_run(alice, src)
    with pytest.raises(RunStateError):
        services.run_request_stop(run_id=run.id, reason="late")


@pytest.mark.django_db
def test_finish_paths_clear_the_lease(alice: Any) -> None:
    run = make_run(alice, "running", lease_owner="w1")
    assert services.run_complete(run_id=run.id, stop_reason="done", usage={"total_tokens": 3})
    run.refresh_from_db()
    assert (run.status, run.lease_owner, run.usage["total_tokens"]) == ("complete", "", 3)
    assert run.finished_at is not None
    assert services.run_fail(run_id=run.id, error="late failure") is None


def _in_threads(n: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * n
    barrier = threading.Barrier(n)

    def worker(i: int) -> None:
        try:
            barrier.wait()
            results[i] = target(i)
        except Exception as exc:  # noqa: BLE001 - reported to the test
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_claims_exactly_one_wins(alice: Any, requires_postgres: None) -> None:
    for _ in range(5):
        run = make_run(alice, "queued")

        def claim(i: int, run_id: int = run.id) -> bool:
            return services.run_claim(run_id=run_id, worker=f"w{i}", lease_seconds=30) is not None

        results = _in_threads(8, claim)
        assert sorted(results) == [False] * 7 + [True]
        run.refresh_from_db()
        assert run.lease_owner == f"w{results.index(True)}"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_keep_seq_unique_and_gapless(alice: Any, requires_postgres: None) -> None:
    run = make_run(alice, "running")

    def append_many(i: int) -> list[int]:
        return [
            services.message_append(run_id=run.id, source=f"agent{i}", type="TextMessage", content=str(k)).seq
            for k in range(25)
        ]

    results = _in_threads(8, append_many)
    seqs = sorted(s for r in results for s in r)
    assert seqs == list(range(1, 201))
    assert list(Message.objects.filter(run=run).order_by("seq").values_list("seq", flat=True)) == seqs
    assert Run.objects.get(id=run.id).last_seq == 200
