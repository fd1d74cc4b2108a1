"""The state machine's moves: every legal one works, every other is refused, a raced one reports it."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from runs import services
from runs.models import TRANSITIONS, Run, RunStatus
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


def _columns(run: Run) -> dict[str, Any]:
    return {f.attname: getattr(run, f.attname) for f in Run._meta.concrete_fields}


@pytest.mark.django_db
def test_claim_and_end_return_the_run_as_stored(alice: Any) -> None:
    """The moved run a claim or an end returns is the row as a fresh read gives it: JSON decoded, times parsed."""
    run = make_run(alice, "queued", input_data={"tool": "search"}, usage={"prompt_tokens": 3})
    claimed = services.run_claim(run_id=run.id, worker="w1", lease_seconds=30)
    assert claimed is not None and claimed.status == RunStatus.RUNNING
    assert _columns(claimed) == _columns(Run.objects.get(id=run.id))
    assert claimed.input_data == {"tool": "search"} and claimed.started_at is not None
    done = services.run_complete(run_id=run.id, stop_reason="done", usage={"cost": 0.5})
    assert done is not None and not done._state.adding
    assert _columns(done) == _columns(Run.objects.get(id=run.id))
    assert done.usage == {"cost": 0.5} and done.finished_at is not None and done.lease_owner == ""


@pytest.mark.django_db
def test_a_move_stores_its_fields_as_the_orms_update_would(alice: Any) -> None:
    """A plain move is a written-out UPDATE; with a `where` or an expression it stays the ORM's: both
    leave the same row (JSON, times, NULLs, text)."""
    from django.db.models import F
    from django.utils import timezone

    now = timezone.now()
    fields = {"input_data": {"tool": "search", "n": [1, 2]}, "input_deadline": now, "input_prompt": "Which?"}
    written, by_orm = make_run(alice, "running"), make_run(alice, "running")
    assert services.transition(run_id=written.id, to=RunStatus.AWAITING_INPUT, **fields) is True
    Run.objects.filter(id=by_orm.id).update(status=RunStatus.AWAITING_INPUT, **fields)
    skip = {"id", "created_at", "updated_at"}
    assert {k: v for k, v in _columns(Run.objects.get(id=written.id)).items() if k not in skip} == {
        k: v for k, v in _columns(Run.objects.get(id=by_orm.id)).items() if k not in skip
    }
    assert services.transition(run_id=written.id, to=RunStatus.QUEUED, input_deadline=None, input_prompt="") is True
    run = Run.objects.get(id=written.id)
    assert (run.status, run.input_deadline, run.input_prompt) == (RunStatus.QUEUED, None, "")

    claimed = make_run(alice, "running", lease_owner="w1")
    recovered = {"recovery_attempts": F("recovery_attempts") + 1}
    assert (
        services.transition(run_id=claimed.id, to=RunStatus.QUEUED, where={"lease_owner": "w2"}, **recovered) is False
    )
    assert services.transition(run_id=claimed.id, to=RunStatus.QUEUED, where={"lease_owner": "w1"}, **recovered) is True
    assert Run.objects.get(id=claimed.id).recovery_attempts == 1
