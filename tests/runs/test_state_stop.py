"""Stop: direct where nothing runs, two-phase where a worker streams, refused once finished."""

from __future__ import annotations

from typing import Any

import pytest

from runs import services
from runs.services import RunStateError
from tests.factories import make_run


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
