from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client

from agents_app.models import Team
from playground.admin_mixins import owned_model_permissions
from runs import services
from runs.models import Message, Run
from tests.factories import SCRIPTED_TEAM, make_run, make_team


@pytest.fixture
def objects(alice: Any, bob: Any) -> dict[str, Any]:
    objs: dict[str, Any] = {}
    for user in (alice, bob):
        team = make_team(user, name=f"team-of-{user.username}")
        session = services.session_create(owner=user, name=f"session-of-{user.username}", team=team)
        run = make_run(user, "running", session_id=session.id, task=f"task-of-{user.username}")
        msg = services.message_append(run_id=run.id, source="writer", type="TextMessage", content="hello")
        objs[user.username] = {"team": team, "session": session, "run": run, "message": msg}
    return objs


PAGES = ["agents_app/team", "runs/session", "runs/run", "runs/message"]


def _key(page: str) -> str:
    return page.split("/")[1]


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_admin_pages_render_for_superuser(client: Client, django_user_model: Any, objects: dict, page: str) -> None:
    admin = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(admin)
    listing = client.get(f"/admin/{page}/")
    assert listing.status_code == 200
    for owner in ("alice", "bob"):
        obj = objects[owner][_key(page)]
        assert client.get(f"/admin/{page}/{obj.pk}/change/").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("page", PAGES)
def test_staff_sees_only_own_objects(client: Client, alice: Any, objects: dict, page: str) -> None:
    alice.is_staff = True
    alice.save()
    alice.user_permissions.set(Permission.objects.all())
    client.force_login(alice)
    listing = client.get(f"/admin/{page}/")
    assert listing.status_code == 200
    mine, theirs = objects["alice"][_key(page)], objects["bob"][_key(page)]
    assert client.get(f"/admin/{page}/{mine.pk}/change/").status_code == 200
    # Django's admin redirects to the index for an object outside the queryset.
    assert client.get(f"/admin/{page}/{theirs.pk}/change/").status_code == 302
    assert f"/{page}/{theirs.pk}/change/" not in listing.content.decode()


@pytest.mark.django_db
def test_run_admin_shows_messages_in_seq_order(client: Client, django_user_model: Any, alice: Any) -> None:
    run = make_run(alice, "running")
    for text in ("first", "second", "third"):
        services.message_append(run_id=run.id, source="writer", type="TextMessage", content=text)
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    body = client.get(f"/admin/runs/run/{run.id}/change/").content.decode()
    assert body.index("first") < body.index("second") < body.index("third")


@pytest.mark.django_db
def test_admin_stop_action_goes_through_the_service(client: Client, django_user_model: Any, alice: Any) -> None:
    running = make_run(alice, "running")
    queued = make_run(alice, "queued")
    done = make_run(alice, "complete")
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    response = client.post(
        "/admin/runs/run/",
        {"action": "request_stop", "_selected_action": [running.id, queued.id, done.id]},
        follow=True,
    )
    assert response.status_code == 200
    statuses = dict(Run.objects.values_list("id", "status"))
    assert (statuses[running.id], statuses[queued.id], statuses[done.id]) == ("stopping", "stopped", "complete")
    assert "had already finished" in response.content.decode()
    assert Message.objects.count() == 0


@pytest.mark.django_db
def test_the_demo_user_manages_only_their_own_objects_in_the_admin(
    client: Client, settings: Any, objects: dict, bob: Any
) -> None:
    from django.core.management import call_command

    settings.PLAYGROUND_DEMO_PASSWORD = "demo-password-123"
    call_command("setup_demo", stdout=StringIO())
    call_command("setup_demo", stdout=StringIO())  # a second `make run` changes nothing
    demo = get_user_model().objects.get(username=settings.PLAYGROUND_DEMO_USERNAME)
    assert demo.is_staff and not demo.is_superuser
    demos_run = make_run(demo, "complete", task="the demo's own run")
    assert client.login(username=demo.username, password="demo-password-123")
    runs = client.get("/admin/runs/run/").content.decode()
    assert "the demo&#x27;s own run" in runs and "task-of-bob" not in runs
    teams = client.get("/admin/agents_app/team/").content.decode()
    assert "Writer and critic (offline)" in teams and "team-of-bob" not in teams
    assert client.get(f"/admin/runs/run/{demos_run.id}/change/").status_code == 200
    assert client.get(f"/admin/runs/run/{objects['bob']['run'].id}/change/").status_code == 302
    for page in ("auth/user", "auth/group", "ops/workerheartbeat"):
        assert client.get(f"/admin/{page}/").status_code == 403, page


@pytest.mark.django_db
def test_staff_can_neither_pick_nor_give_away_anyone_elses_objects(client: Client, alice: Any, objects: dict) -> None:
    alice.is_staff = True
    alice.save()
    alice.user_permissions.set(owned_model_permissions())
    client.force_login(alice)
    form = client.get("/admin/runs/session/add/").content.decode()
    assert "team-of-alice" in form and "team-of-bob" not in form
    bobs_team = objects["bob"]["team"]
    refused = client.post("/admin/runs/session/add/", {"name": "s", "team": bobs_team.id, "carry_context": "on"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    assert 'name="owner"' not in client.get("/admin/agents_app/team/add/").content.decode()
    created = client.post(
        "/admin/agents_app/team/add/",
        {
            "name": "made-in-admin",
            "description": "",
            "config": json.dumps(SCRIPTED_TEAM),
            "gallery_name": "",
        },
    )
    assert created.status_code == 302, created.content.decode()[:3000]
    assert Team.objects.get(name="made-in-admin").owner == alice


@pytest.mark.django_db
def test_run_admin_shows_cost_per_run_agent_and_message(client: Client, django_user_model: Any, alice: Any) -> None:
    run = make_run(alice, "complete")
    Run.objects.filter(id=run.id).update(
        usage={"cost": 0.0125, "per_agent": {"writer": {"cost": 0.01}, "critic": {"cost": 0.0025}}}
    )
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.01}
    services.message_append(run_id=run.id, source="writer", type="TextMessage", content="hi", models_usage=usage)
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    body = client.get(f"/admin/runs/run/{run.id}/change/").content.decode()
    assert "<th>writer</th><td>0.010000</td>" in body and "<th>critic</th><td>0.002500</td>" in body
    assert "0.010000" in client.get("/admin/runs/message/").content.decode()
    assert "0.012500" in client.get("/admin/runs/run/").content.decode()


@pytest.mark.django_db
def test_a_long_run_links_to_its_messages_instead_of_listing_them(
    client: Client, django_user_model: Any, alice: Any
) -> None:
    from runs.admin import INLINE_MESSAGES, MessageAdmin

    long_run, short_run = make_run(alice, "complete"), make_run(alice, "complete")
    count = INLINE_MESSAGES + 1
    Message.objects.bulk_create(
        [Message(run=long_run, seq=s, source="w", content=f"m-{s}-x") for s in range(1, 1 + count)]
    )
    Run.objects.filter(id=long_run.id).update(last_seq=count)
    services.message_append(run_id=short_run.id, source="w", type="TextMessage", content="short-one")
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    page = client.get(f"/admin/runs/run/{long_run.id}/change/").content.decode()
    assert "m-1-x" not in page and f"?run__id__exact={long_run.id}" in page and f"{count} messages" in page
    assert "short-one" in client.get(f"/admin/runs/run/{short_run.id}/change/").content.decode()
    listed = client.get(f"/admin/runs/message/?run__id__exact={long_run.id}").content.decode()
    assert listed.count('class="action-select"') == MessageAdmin.list_per_page  # that run's messages, a page of them


@pytest.mark.django_db
def test_run_admin_searches_task_error_and_exact_owner(
    client: Client, django_user_model: Any, alice: Any, bob: Any
) -> None:
    mine = make_run(alice, "complete", task="summarise the quarterly report")
    failed = make_run(bob, "error", task="other", error="Model call failed: quota")
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))

    def found(term: str) -> set[int]:
        body = client.get("/admin/runs/run/", {"q": term}).content.decode()
        return {run.id for run in (mine, failed) if f"/admin/runs/run/{run.id}/change/" in body}

    assert found("quarterly") == {mine.id}
    assert found("quota") == {failed.id}
    assert found("bob") == {failed.id} and found("bo") == set()  # owners by their exact name


@pytest.mark.django_db
def test_message_admin_filters_by_type(client: Client, django_user_model: Any, alice: Any) -> None:
    run = make_run(alice, "complete")
    services.message_append(run_id=run.id, source="w", type="TextMessage", content="plain")
    services.message_append(run_id=run.id, source="w", type="HandoffMessage", content="over", target="b")
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    page = client.get("/admin/runs/message/", {"type": "HandoffMessage"}).content.decode()
    assert "?type=ToolCallRequestEvent" in page  # every engine type is a choice, read from no table
    assert page.count('class="action-select"') == 1
