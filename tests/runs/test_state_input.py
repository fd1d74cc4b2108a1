"""Human input: the task is message 1, a run waits for an answer and resumes with it."""

from __future__ import annotations

from typing import Any

import pytest

from runs import services
from runs.models import Message
from runs.services import RunStateError
from tests.factories import make_run


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
