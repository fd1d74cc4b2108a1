"""Property-based run of the whole API against its own OpenAPI schema (schemathesis over WSGI, in process).

It asserts what every response must satisfy whatever the input: no 5xx, a documented status
code and content type, a body that matches the documented schema, and that data the schema
forbids is refused. Deterministic (derandomized, a fixed number of examples per operation),
authenticated with a bearer token, on the test database.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.services import token_create
from runs import services as run_services
from tests.factories import make_run, make_team

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


# Loaded at collection (pytest-django has configured Django by then); serving the schema
# touches no database. A lazy fixture-based schema would run on pytest's subtests instead.
schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())


@pytest.fixture(autouse=True)
def keep_test_connection() -> Any:
    """Schemathesis calls the raw WSGI handler, which closes the database connection at each
    request's end; that would drop the test's transaction. Django's test client does the same."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def owned(alice: Any) -> dict[str, Any]:
    """Real objects of the caller, so generated ids can be swapped for ones that exist."""
    team = make_team(alice)
    session = run_services.session_create(owner=alice, name="fuzz", team=team)
    run = make_run(alice, session=session)
    run_services.message_append(run_id=run.id, source="user", type="TextMessage", content="hi")
    target, _ = token_create(user=alice, name="target")
    _, raw = token_create(user=alice, name="fuzz")  # the one authenticating; never a path target
    return {"ids": {"team_id": team.id, "session_id": session.id, "token_id": target.id}, "raw": raw}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_conforms_to_its_schema(case: Any, owned: dict[str, Any]) -> None:
    # Half the positive cases aim at objects that exist (happy paths); the rest stay random.
    for name, value in (case.path_parameters or {}).items():
        if name in owned["ids"] and isinstance(value, int) and value % 2 == 0:
            case.path_parameters[name] = owned["ids"][name]
    case.call_and_validate(headers={"Authorization": f"Bearer {owned['raw']}"}, checks=CHECKS)
