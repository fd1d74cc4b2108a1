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
