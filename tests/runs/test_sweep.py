"""The sweep's hand-out of queued runs that no executor has (a dispatch lost, or refused by the broker)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from runs import recovery, services
from runs.models import Run, RunStatus
from tests.factories import make_run

pytestmark = pytest.mark.django_db


def test_a_run_the_broker_refused_is_handed_out_at_the_next_sweep(alice: Any) -> None:
    run = make_run(alice, RunStatus.QUEUED, queued_at=timezone.now())
    assert services.run_dispatch_failed(run_id=run.id)
    assert recovery.sweep()["redispatched"] == 1  # at once, not after the wait for a lost dispatch
    assert Run.objects.get(id=run.id).queued_at is not None


def test_a_queued_run_is_handed_out_again_only_once_its_dispatch_looks_lost(alice: Any) -> None:
    fresh = make_run(alice, RunStatus.QUEUED, queued_at=timezone.now())
    lost = make_run(alice, RunStatus.QUEUED, queued_at=timezone.now() - timedelta(minutes=10))
    assert recovery.sweep()["redispatched"] == 1
    assert Run.objects.get(id=fresh.id).queued_at == fresh.queued_at  # its task may be waiting in the queue
    assert Run.objects.get(id=lost.id).queued_at > lost.queued_at


def test_only_a_queued_run_can_be_marked_as_refused_by_the_broker(alice: Any) -> None:
    running = make_run(alice, RunStatus.RUNNING, queued_at=timezone.now())
    assert not services.run_dispatch_failed(run_id=running.id)
    assert Run.objects.get(id=running.id).queued_at is not None
