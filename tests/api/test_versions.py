"""Team versions: one per change of config (each kind of change), none for a no-op; restore, diff, export."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agents_app.models import Team, TeamVersion
from tests.api.conftest import assert_error
from tests.factories import SCRIPTED_TEAM, make_team

pytestmark = pytest.mark.django_db


def config_with(reply: str, **changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(SCRIPTED_TEAM)
    config["participants"][0]["model"]["replies"] = [reply]
    config.update(changes)
    return config


def create(client: Client, config: dict[str, Any] | None = None, **body: Any) -> dict[str, Any]:
    response = client.post("/api/teams", {"config": config or SCRIPTED_TEAM, **body}, content_type="application/json")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def put(client: Client, team_id: int, config: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = client.put(f"/api/teams/{team_id}", {"config": config, **body}, content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()  # type: ignore[no-any-return]


def versions(client: Client, team_id: int) -> list[dict[str, Any]]:
    response = client.get(f"/api/teams/{team_id}/versions")
    assert response.status_code == 200, response.content
    return response.json()["items"]  # type: ignore[no-any-return]


def upload(client: Client, path: str, config: dict[str, Any], **form: str) -> Any:
    file = SimpleUploadedFile("team.json", json.dumps(config).encode(), content_type="application/json")
    return client.post(path, {"file": file, **form})


def test_create_records_version_1_by_its_author(alice_api: Client) -> None:
    team = create(alice_api, note="first cut")
    assert team["version"] == 1
    [v1] = versions(alice_api, team["id"])
    assert (v1["number"], v1["author"], v1["origin"], v1["note"], v1["current"]) == (
        1,
        "alice",
        "create",
        "first cut",
        True,
    )
    detail = alice_api.get(f"/api/teams/{team['id']}/versions/1").json()
    assert detail["config"] == team["config"]


def test_put_and_patch_make_a_version_each_and_a_noop_makes_none(alice_api: Client) -> None:
    team = create(alice_api)
    put(alice_api, team["id"], config_with("v2 reply"), note="new reply")
    put(alice_api, team["id"], config_with("v2 reply"))  # the same config again: no version
    patched = alice_api.patch(f"/api/teams/{team['id']}", {"shared": True}, content_type="application/json").json()
    assert patched["version"] == 2  # sharing is not part of the config
    renamed = alice_api.patch(f"/api/teams/{team['id']}", {"name": "renamed"}, content_type="application/json").json()
    assert renamed["version"] == 3 and renamed["config"]["name"] == "renamed"
    patched = alice_api.patch(
        f"/api/teams/{team['id']}", {"config": config_with("v4 reply", name="renamed")}, content_type="application/json"
    ).json()
    assert patched["version"] == 4
    listed = versions(alice_api, team["id"])
    assert [v["number"] for v in listed] == [4, 3, 2, 1]
    assert [v["origin"] for v in listed] == ["edit", "edit", "edit", "create"]
    assert listed[2]["note"] == "new reply" and [v["current"] for v in listed] == [True, False, False, False]
    v2 = alice_api.get(f"/api/teams/{team['id']}/versions/2").json()
    assert v2["config"]["participants"][0]["model"]["replies"] == ["v2 reply"]


def test_upload_over_an_existing_team_is_a_version(alice_api: Client) -> None:
    team = create(alice_api)
    response = upload(alice_api, f"/api/teams/{team['id']}/upload", config_with("uploaded"), note="from disk")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and response.json()["id"] == team["id"]
    again = upload(alice_api, f"/api/teams/{team['id']}/upload", config_with("uploaded"))
    assert again.json()["version"] == 2
    latest = versions(alice_api, team["id"])[0]
    assert (latest["number"], latest["origin"], latest["note"]) == (2, "upload", "from disk")
    assert Team.objects.count() == 1


def test_a_new_upload_and_a_gallery_install_start_at_version_1(alice_api: Client) -> None:
    uploaded = upload(alice_api, "/api/teams/upload", SCRIPTED_TEAM).json()
    installed = alice_api.post("/api/gallery/calculator/install").json()
    for team in (uploaded, installed):
        assert [v["number"] for v in versions(alice_api, team["id"])] == [1]


def test_admin_change_is_a_version_and_an_unchanged_save_is_not(client: Client, django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("root", password="root-password-1")
    team = make_team(root)  # written around the services: its first save records what it had as v1
    client.force_login(root)
    form = {"owner": root.id, "name": "echo", "description": "", "shared": "", "gallery_name": ""}
    changed = config_with("from the admin")
    response = client.post(
        f"/admin/agents_app/team/{team.id}/change/",
        {**form, "config": json.dumps(changed), "version_note": "admin fix", **_inline_management()},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team.refresh_from_db()
    assert team.version == 2 and team.config["participants"][0]["model"]["replies"] == ["from the admin"]
    v2 = TeamVersion.objects.get(team=team, number=2)
    assert (v2.origin, v2.author, v2.note) == ("admin", root, "admin fix")
    client.post(
        f"/admin/agents_app/team/{team.id}/change/",
        {**form, "config": json.dumps(team.config), **_inline_management()},
    )
    assert TeamVersion.objects.filter(team=team).count() == 2


def test_admin_refuses_an_invalid_config_with_its_path(client: Client, django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("root", password="root-password-1")
    team = make_team(root)
    client.force_login(root)
    bad = config_with("x")
    bad["participants"][0]["model"]["provider"] = "nope"
    response = client.post(
        f"/admin/agents_app/team/{team.id}/change/",
        {"owner": root.id, "name": "echo", "config": json.dumps(bad), **_inline_management()},
    )
    assert response.status_code == 200 and "participants[0].model" in response.content.decode()
    assert TeamVersion.objects.filter(team=team).count() == 0


def test_admin_add_records_version_1(client: Client, django_user_model: Any) -> None:
    root = django_user_model.objects.create_superuser("root", password="root-password-1")
    client.force_login(root)
    response = client.post(
        "/admin/agents_app/team/add/",
        {"owner": root.id, "name": "added", "config": json.dumps(SCRIPTED_TEAM), **_inline_management()},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    team = Team.objects.get(name="added")
    assert team.version == 1 and TeamVersion.objects.get(team=team).origin == "create"


def _inline_management() -> dict[str, str]:
    prefix = "versions"
    return {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"}


def test_restore_makes_a_new_version_equal_to_the_old_one(alice_api: Client) -> None:
    team = create(alice_api)
    put(alice_api, team["id"], config_with("second", name="second name"))
    response = alice_api.post(f"/api/teams/{team['id']}/versions/1/restore", {}, content_type="application/json")
    assert response.status_code == 200, response.content
    restored = response.json()
    assert restored["version"] == 3 and restored["name"] == "echo"
    v1 = alice_api.get(f"/api/teams/{team['id']}/versions/1").json()
    v3 = alice_api.get(f"/api/teams/{team['id']}/versions/3").json()
    assert v3["config"] == v1["config"] == restored["config"]
    assert (v3["origin"], v3["restored_from"], v3["note"]) == ("restore", 1, "Restored version 1")
    # Restoring what the team already is changes nothing.
    again = alice_api.post(f"/api/teams/{team['id']}/versions/3/restore", {}, content_type="application/json")
    assert again.json()["version"] == 3 and len(versions(alice_api, team["id"])) == 3
    assert_error(alice_api.post(f"/api/teams/{team['id']}/versions/9/restore", content_type="application/json"), 404)


def test_diff_names_the_changed_paths(alice_api: Client) -> None:
    team = create(alice_api)
    changed = config_with("new words", description="now described")
    changed["participants"].append(
        {"kind": "assistant", "name": "critic", "model": {"provider": "scripted", "replies": ["ok"]}}
    )
    changed["termination"]["max_messages"] = 5
    put(alice_api, team["id"], changed)
    diff = alice_api.get(f"/api/teams/{team['id']}/versions/1/diff?to=2").json()
    changes = {c["path"]: c for c in diff["changes"]}
    assert (diff["base"], diff["other"]) == (1, 2)
    assert changes["participants[0].model.replies[0]"] == {
        "path": "participants[0].model.replies[0]",
        "change": "changed",
        "old": "Hello there.",
        "new": "new words",
    }
    assert changes["participants[1]"]["change"] == "added" and changes["participants[1]"]["new"]["name"] == "critic"
    assert changes["termination.max_messages"]["old"] == 2 and changes["termination.max_messages"]["new"] == 5
    assert changes["description"]["new"] == "now described"
    assert alice_api.get(f"/api/teams/{team['id']}/versions/2/diff").json()["changes"] == []  # default: current
    back = alice_api.get(f"/api/teams/{team['id']}/versions/2/diff?to=1").json()["changes"]
    assert {c["path"]: c["change"] for c in back}["participants[1]"] == "removed"


def test_export_of_any_version(alice_api: Client) -> None:
    team = create(alice_api)
    put(alice_api, team["id"], config_with("second"))
    old = alice_api.get(f"/api/teams/{team['id']}/export?version=1")
    assert old.status_code == 200 and f"team-{team['id']}-v1-native.json" in old["Content-Disposition"]
    assert old.json()["participants"][0]["model"]["replies"] == ["Hello there."]
    current = alice_api.get(f"/api/teams/{team['id']}/export").json()
    assert current["participants"][0]["model"]["replies"] == ["second"]
    autogen = alice_api.get(f"/api/teams/{team['id']}/export?version=1&format=autogen")
    assert autogen.status_code == 200 and autogen.json()["provider"].startswith("autogen")
    assert_error(alice_api.get(f"/api/teams/{team['id']}/export?version=7"), 404)
    assert_error(alice_api.get(f"/api/teams/{team['id']}/export?version=0"), 422)


def test_other_users_versions_are_404_and_shared_ones_read_only(alice_api: Client, bob_api: Client) -> None:
    private = create(alice_api)
    shared = create(alice_api, shared=True)
    for path in ("versions", "versions/1", "versions/1/diff", "export?version=1"):
        assert_error(bob_api.get(f"/api/teams/{private['id']}/{path}"), 404)
        assert bob_api.get(f"/api/teams/{shared['id']}/{path}").status_code == 200
    assert_error(bob_api.post(f"/api/teams/{private['id']}/versions/1/restore", content_type="application/json"), 404)
    assert_error(bob_api.post(f"/api/teams/{shared['id']}/versions/1/restore", content_type="application/json"), 403)
    assert_error(upload(bob_api, f"/api/teams/{private['id']}/upload", SCRIPTED_TEAM), 404)
    assert_error(upload(bob_api, f"/api/teams/{shared['id']}/upload", SCRIPTED_TEAM), 403)


def test_a_team_saved_before_versions_keeps_its_first_state(alice_api: Client, alice: Any) -> None:
    team = make_team(alice)  # no version rows: as if saved before versions existed
    put(alice_api, team.id, config_with("after"))
    listed = versions(alice_api, team.id)
    assert [(v["number"], v["origin"]) for v in listed] == [(2, "edit"), (1, "create")]
    assert alice_api.get(f"/api/teams/{team.id}/versions/1").json()["config"] == SCRIPTED_TEAM


def test_the_migration_records_version_1_of_existing_teams(alice: Any) -> None:
    import importlib

    from django.apps import apps

    migration = importlib.import_module("agents_app.migrations.0002_team_versions")
    team = make_team(alice)
    migration.record_first_versions(apps, None)
    team.refresh_from_db()
    assert team.version == 1 and TeamVersion.objects.get(team=team).config == team.config


def test_staff_sees_versions_only_of_their_own_teams_in_the_admin(client: Client, alice: Any, bob: Any) -> None:
    alice.is_staff = True
    alice.save()
    alice.user_permissions.set(Permission.objects.all())
    client.force_login(alice)
    bobs = make_team(bob, name="bobs")
    assert client.get(f"/admin/agents_app/team/{bobs.id}/change/").status_code == 302


def test_version_note_longer_than_500_is_422(alice_api: Client) -> None:
    team = create(alice_api)
    body = assert_error(
        alice_api.put(
            f"/api/teams/{team['id']}", {"config": SCRIPTED_TEAM, "note": "x" * 501}, content_type="application/json"
        ),
        422,
    )
    assert body["errors"][0]["path"] == "note"
