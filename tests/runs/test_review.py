"""Runs and team versions, a run's export (JSON and Markdown) and the compare endpoint."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.test import Client

from accounts.services import token_create
from agents_app import services as team_services
from agents_app.config import TeamConfig
from runs.models import Run
from tests.factories import SCRIPTED_TEAM
from tests.runs.test_api import api, create, wait_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]


def scripted(reply: str) -> dict[str, Any]:
    config = copy.deepcopy(SCRIPTED_TEAM)
    config["participants"][0]["model"].update(replies=[reply], tokens_per_second=0)
    return config


def versioned_team(owner: Any, *replies: str) -> Any:
    team = team_services.team_create(owner=owner, config=TeamConfig.model_validate(scripted(replies[0])))
    for reply in replies[1:]:
        team = team_services.team_update(team=team, author=owner, config=TeamConfig.model_validate(scripted(reply)))
    return team


def replies_of(run_id: int) -> list[Any]:
    return [m.content for m in Run.objects.get(id=run_id).messages.order_by("seq")][1:]


def test_a_run_pinned_to_v1_after_v2_exists_runs_v1(alice: Any, alice_token: str) -> None:
    team = versioned_team(alice, "I am version one", "I am version two")
    client = api(alice_token)
    pinned = create(client, team_id=team.id, team_version=1, task="who are you?")
    current = create(client, team_id=team.id, task="who are you?")
    assert wait_for(pinned["id"], {"complete", "error"}).status == "complete"
    assert wait_for(current["id"], {"complete", "error"}).status == "complete"
    assert replies_of(pinned["id"])[0] == "I am version one"
    assert replies_of(current["id"])[0] == "I am version two"
    runs = {r.id: r for r in Run.objects.all()}
    assert (runs[pinned["id"]].team_version, runs[current["id"]].team_version) == (1, 2)
    assert runs[pinned["id"]].team_config == team.versions.get(number=1).config


def test_an_unknown_team_version_is_400_naming_the_field(alice: Any, alice_token: str) -> None:
    team = versioned_team(alice, "one")
    response = api(alice_token).post(
        "/api/runs", {"team_id": team.id, "team_version": 5, "task": "x"}, content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "team_version"
    inline = api(alice_token).post(
        "/api/runs", {"team_config": SCRIPTED_TEAM, "team_version": 1}, content_type="application/json"
    )
    assert inline.status_code == 400 and inline.json()["errors"][0]["path"] == "team_version"


def finished_run(client: Client, team_id: int, task: str = "hello") -> int:
    created = create(client, team_id=team_id, task=task)
    assert wait_for(created["id"], {"complete", "error"}).status == "complete"
    return int(created["id"])


def test_export_json_round_trips(alice: Any, alice_token: str) -> None:
    team = versioned_team(alice, "first words", "second words")
    client = api(alice_token)
    run_id = finished_run(client, team.id)
    response = client.get(f"/api/runs/{run_id}/export")
    assert response.status_code == 200 and f'filename="run-{run_id}.json"' in response["Content-Disposition"]
    doc = json.loads(response.content)
    run = Run.objects.get(id=run_id)
    stored = list(run.messages.order_by("seq"))
    assert [(m["seq"], m["source"], m["content"]) for m in doc["messages"]] == [
        (m.seq, m.source, m.content) for m in stored
    ]
    assert doc["team_config"] == run.team_config and doc["team"] == {"id": team.id, "name": "echo", "version": 2}
    assert doc["run"]["usage"] == run.usage and doc["run"]["status"] == "complete"
    assert doc["format"] == "agent-playground.run" and doc["run"]["duration"] is not None
    # The exported config starts the same team again.
    again = create(client, team_config=doc["team_config"], task="hello")
    assert wait_for(again["id"], {"complete", "error"}).status == "complete"
    assert replies_of(again["id"]) == [m["content"] for m in doc["messages"]][1:]


def test_export_markdown_has_every_message_in_order(alice: Any, alice_token: str) -> None:
    team = versioned_team(alice, "**bold** reply with ``` fence")
    client = api(alice_token)
    run_id = finished_run(client, team.id, task="Write something")
    response = client.get(f"/api/runs/{run_id}/export?format=markdown")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/markdown")
    text = response.content.decode()
    assert text.startswith(f"# Run {run_id}: Write something")
    assert text.index("### 1 · user") < text.index("### 2 · writer") < text.index("## Team config")
    assert "**bold** reply with ``` fence" in text and "- **Team:** echo (version 1)" in text


def test_export_never_carries_a_server_key(alice: Any, alice_token: str, monkeypatch: Any) -> None:
    secret = "sk-test-this-must-never-leave-1234"
    monkeypatch.setenv("LEAKY_API_KEY", secret)
    team = versioned_team(alice, f"the key is {secret}")
    client = api(alice_token)
    run_id = finished_run(client, team.id)
    for fmt in ("json", "markdown"):
        body = client.get(f"/api/runs/{run_id}/export?format={fmt}").content.decode()
        assert secret not in body and "the key is" in body


def test_other_users_cannot_export_or_compare(alice: Any, alice_token: str, bob_token: str) -> None:
    team = versioned_team(alice, "one")
    client = api(alice_token)
    a, b = finished_run(client, team.id), finished_run(client, team.id)
    bob = api(bob_token)
    assert bob.get(f"/api/runs/{a}/export").status_code == 404
    assert bob.get(f"/api/runs/compare?ids={a},{b}").status_code == 404
    own = create(bob, team_config=SCRIPTED_TEAM)
    assert bob.get(f"/api/runs/compare?ids={own['id']},{a}").status_code == 404


def test_compare_aligns_runs_and_diffs_their_teams(alice: Any, alice_token: str) -> None:
    team = versioned_team(alice, "I am version one", "I am version two")
    client = api(alice_token)
    v1 = create(client, team_id=team.id, team_version=1, task="hi")
    v2 = create(client, team_id=team.id, task="hi")
    for created in (v1, v2):
        wait_for(created["id"], {"complete"})
    doc = client.get(f"/api/runs/compare?ids={v1['id']},{v2['id']}").json()
    first, second = doc["runs"]
    assert (first["id"], second["id"]) == (v1["id"], v2["id"])
    assert (first["team"]["version"], second["team"]["version"]) == (1, 2)
    assert first["status"] == second["status"] == "complete" and first["duration"] is not None
    # The offline scripted model has a known price, nothing (every model call is priced).
    assert first["tokens"]["total"] == first["usage"]["total"] and first["cost"] == 0.0
    assert [m["seq"] for m in first["messages"]] == [m["seq"] for m in second["messages"]]
    assert doc["turns"] == max(first["messages"][-1]["seq"], second["messages"][-1]["seq"])
    [diff] = doc["team_diffs"]
    assert (diff["base"], diff["other"]) == (v1["id"], v2["id"])
    assert [c["path"] for c in diff["changes"]] == ["participants[0].model.replies[0]"]


@pytest.mark.parametrize("ids", ["1", "1,2,3,4,5", "a,b", "3,3", ""])
def test_compare_needs_two_to_four_distinct_ids(alice_token: str, ids: str) -> None:
    response = api(alice_token).get(f"/api/runs/compare?ids={ids}")
    assert response.status_code == 422 and response.json()["errors"][0]["path"] == "query.ids"


def test_admin_exports_runs_as_json_and_markdown(client: Client, django_user_model: Any, alice: Any) -> None:
    team = versioned_team(alice, "admin reply")
    alice_client = api(token_create(user=alice, name="t")[1])
    first, second = finished_run(alice_client, team.id), finished_run(alice_client, team.id)
    client.force_login(django_user_model.objects.create_superuser("root", password="root-password-1"))
    one = client.post("/admin/runs/run/", {"action": "export_json", "_selected_action": [first]})
    assert one.status_code == 200 and f'filename="run-{first}.json"' in one["Content-Disposition"]
    doc = json.loads(one.content)
    assert doc["run"]["id"] == first and doc["messages"][1]["content"] == "admin reply"
    both = client.post("/admin/runs/run/", {"action": "export_json", "_selected_action": [first, second]})
    assert [d["run"]["id"] for d in json.loads(both.content)] == [first, second]
    markdown = client.post("/admin/runs/run/", {"action": "export_markdown", "_selected_action": [first, second]})
    text = markdown.content.decode()
    assert text.index(f"# Run {first}:") < text.index("---") < text.index(f"# Run {second}:")
