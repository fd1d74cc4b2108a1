from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from agents_app.models import Team
from runs import services
from runs.models import Session
from tests.api.conftest import assert_error
from tests.factories import make_run, make_team

pytestmark = pytest.mark.django_db


def test_create_list_get_patch_delete(alice_api: Client, alice: Any) -> None:
    team = make_team(alice)
    created = alice_api.post(
        "/api/sessions", {"name": "chat", "team_id": team.id, "carry_context": True}, content_type="application/json"
    )
    assert created.status_code == 201, created.content
    session = created.json()
    assert session["team_id"] == team.id and session["carry_context"] is True
    assert alice_api.get("/api/sessions").json()["count"] == 1
    assert alice_api.get(f"/api/sessions/{session['id']}").json()["name"] == "chat"
    patched = alice_api.patch(
        f"/api/sessions/{session['id']}", {"team_id": None, "carry_context": False}, content_type="application/json"
    ).json()
    assert patched["team_id"] is None and patched["carry_context"] is False and patched["name"] == "chat"
    assert alice_api.delete(f"/api/sessions/{session['id']}").status_code == 204
    assert not Session.objects.exists()


def test_session_may_use_a_shared_team_but_not_a_private_one(alice_api: Client, bob: Any) -> None:
    private = make_team(bob, name="private")
    shared = make_team(bob, name="shared")
    Team.objects.filter(id=shared.id).update(shared=True)
    ok = alice_api.post("/api/sessions", {"name": "s", "team_id": shared.id}, content_type="application/json")
    assert ok.status_code == 201
    body = assert_error(
        alice_api.post("/api/sessions", {"name": "s", "team_id": private.id}, content_type="application/json"), 400
    )
    assert body["errors"][0]["path"] == "team_id"


def test_bad_session_input(alice_api: Client) -> None:
    assert_error(alice_api.post("/api/sessions", {"name": ""}, content_type="application/json"), 422)
    assert_error(alice_api.post("/api/sessions", {"name": "x", "extra": 1}, content_type="application/json"), 422)
    assert_error(alice_api.post("/api/sessions", {"team_id": 1}, content_type="application/json"), 422)
    assert_error(alice_api.post("/api/sessions", "[", content_type="application/json"), 400)


@pytest.mark.parametrize("method", ["get", "patch", "delete", "runs"])
def test_other_users_session_is_404(bob_api: Client, alice: Any, method: str) -> None:
    session = services.session_create(owner=alice, name="alice's")
    url = f"/api/sessions/{session.id}"
    if method == "runs":
        response = bob_api.get(url + "/runs")
    elif method == "patch":
        response = bob_api.patch(url, {"name": "bob's"}, content_type="application/json")
    else:
        response = getattr(bob_api, method)(url)
    assert_error(response, 404)
    assert Session.objects.get(id=session.id).name == "alice's"
    assert bob_api.get("/api/sessions").json()["count"] == 0


def test_runs_come_with_their_messages_in_order_when_asked(alice_api: Client, alice: Any) -> None:
    session = services.session_create(owner=alice, name="chat")
    first = make_run(alice, task="first", session=session)
    services.message_append(run_id=first.id, source="user", type="TextMessage", content="first")
    services.message_append(
        run_id=first.id, source="writer", type="TextMessage", content="hi", models_usage={"prompt_tokens": 3}
    )
    waiting = make_run(
        alice,
        status="awaiting_input",
        session=session,
        input_request_id="req1",
        input_prompt="Your answer?",
        input_source="user_proxy",
    )
    make_run(alice, task="elsewhere")  # not in this session
    page = alice_api.get(f"/api/sessions/{session.id}/runs", {"messages": "true"}).json()
    assert page["count"] == 2
    runs = page["items"]
    assert [r["id"] for r in runs] == [first.id, waiting.id]
    assert [m["seq"] for m in runs[0]["messages"]] == [1, 2]
    assert runs[0]["messages"][1] | {"created_at": None} == {
        "seq": 2,
        "source": "writer",
        "type": "TextMessage",
        "content": "hi",
        "models_usage": {"prompt_tokens": 3},
        "metadata": {},
        "partial": False,
        "target": "",
        "attachments": [],
        "created_at": None,
    }
    assert runs[0]["input_request"] is None and runs[0]["last_seq"] == 2
    assert runs[1]["status"] == "awaiting_input"
    expected = {"id": "req1", "prompt": "Your answer?", "source": "user_proxy", "deadline": None}
    expected |= {"kind": "input", "tool_call": None}
    assert runs[1]["input_request"] == expected
    bare = alice_api.get(f"/api/sessions/{session.id}/runs").json()["items"]  # by default: the runs alone
    assert [r["messages"] for r in bare] == [None, None]
    assert [r | {"messages": None} for r in runs] == bare


def test_session_runs_page_by_cursor_in_constant_queries(alice_api: Client, alice: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    session = services.session_create(owner=alice, name="chat")
    runs = [make_run(alice, task=f"t{i}", session=session) for i in range(7)]
    for run in runs:
        for text in ("a", "b"):
            services.message_append(run_id=run.id, source="w", type="TextMessage", content=text)
    url = f"/api/sessions/{session.id}/runs"
    alice_api.get(url)  # the token's first use of the test is recorded once
    seen, cursor, counts = [], None, []
    while True:
        with CaptureQueriesContext(connection) as ctx:
            body = alice_api.get(url, {"limit": 3, "messages": "true"} | ({"after": cursor} if cursor else {})).json()
        counts.append(len(ctx.captured_queries))
        seen += [(r["id"], [m["content"] for m in r["messages"]]) for r in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == [(r.id, ["a", "b"]) for r in runs]  # oldest first, none skipped or repeated
    assert len(set(counts)) == 1  # a page costs the same queries, whatever its runs hold


def test_superuser_reads_any_session(alice: Any, django_user_model: Any) -> None:
    from tests.api.conftest import bearer_client

    session = services.session_create(owner=alice, name="alice's")
    root = bearer_client(django_user_model.objects.create_superuser("root", password="root-password-1"))
    assert root.get(f"/api/sessions/{session.id}").status_code == 200
    assert_error(root.delete(f"/api/sessions/{session.id}"), 404)
