from __future__ import annotations

import copy
from typing import Any

import pytest
from django.test import Client

from agents_app.config import TeamConfigError
from agents_app.model_override import parse_model_override
from agents_app.models import Team
from tests.api.conftest import assert_error
from tests.factories import SCRIPTED_TEAM, make_team

pytestmark = pytest.mark.django_db


def create(client: Client, **body: Any) -> Any:
    return client.post("/api/teams", {"config": SCRIPTED_TEAM, **body}, content_type="application/json")


def test_create_stores_canonical_config_and_lists_it(alice_api: Client) -> None:
    response = create(alice_api, name="My echo", description="says hello")
    assert response.status_code == 201, response.content
    team = response.json()
    assert team["name"] == "My echo" and team["editable"] is True and team["owner"] == "alice"
    assert team["config"]["name"] == "My echo" and team["config"]["version"] == 1
    listing = alice_api.get("/api/teams").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == team["id"]


def test_create_name_defaults_to_the_configs(alice_api: Client) -> None:
    assert create(alice_api).json()["name"] == "echo"


def test_create_invalid_config_names_the_path(alice_api: Client) -> None:
    bad = copy.deepcopy(SCRIPTED_TEAM)
    bad["participants"][0]["model"]["provider"] = "nope"
    body = assert_error(create(alice_api, config=bad), 400)
    assert any(e["path"].startswith("config.participants[0].model") for e in body["errors"]), body


def test_create_rejects_unknown_fields(alice_api: Client) -> None:
    body = assert_error(create(alice_api, colour="blue"), 422)
    assert body["errors"][0]["path"] == "colour"


def test_create_wrong_type_is_422_with_path(alice_api: Client) -> None:
    body = assert_error(create(alice_api, shared="very"), 422)
    assert body["errors"][0]["path"] == "shared"


def test_create_malformed_json_is_400(alice_api: Client) -> None:
    assert_error(alice_api.post("/api/teams", "{not json", content_type="application/json"), 400)


def test_create_oversize_body_is_400(alice_api: Client) -> None:
    big = copy.deepcopy(SCRIPTED_TEAM)
    big["description"] = "x" * (1024 * 1024 + 10)
    assert_error(create(alice_api, config=big), 400)


def test_get_put_patch_delete(alice_api: Client, alice: Any) -> None:
    team = make_team(alice)
    assert alice_api.get(f"/api/teams/{team.id}").json()["name"] == "echo"
    replaced = alice_api.put(
        f"/api/teams/{team.id}", {"name": "renamed", "config": SCRIPTED_TEAM}, content_type="application/json"
    )
    assert replaced.status_code == 200 and replaced.json()["config"]["name"] == "renamed"
    patched = alice_api.patch(f"/api/teams/{team.id}", {"shared": True}, content_type="application/json")
    assert patched.json()["shared"] is True and patched.json()["name"] == "renamed"
    assert alice_api.delete(f"/api/teams/{team.id}").status_code == 204
    assert not Team.objects.filter(id=team.id).exists()


def test_patch_config_invalid_is_400(alice_api: Client, alice: Any) -> None:
    team = make_team(alice)
    body = assert_error(
        alice_api.patch(f"/api/teams/{team.id}", {"config": {"kind": "round_robin"}}, content_type="application/json"),
        400,
    )
    assert any(e["path"] == "config.participants" for e in body["errors"]), body


@pytest.mark.parametrize("method", ["get", "put", "patch", "delete", "export"])
def test_other_users_private_team_is_404(bob_api: Client, alice: Any, method: str) -> None:
    team = make_team(alice)
    url = f"/api/teams/{team.id}"
    if method == "get":
        response = bob_api.get(url)
    elif method == "export":
        response = bob_api.get(url + "/export")
    elif method == "delete":
        response = bob_api.delete(url)
    else:
        response = getattr(bob_api, method)(url, {"config": SCRIPTED_TEAM}, content_type="application/json")
    assert_error(response, 404)
    assert Team.objects.get(id=team.id).name == "echo"


def test_missing_team_is_404(alice_api: Client) -> None:
    assert_error(alice_api.get("/api/teams/999999"), 404)


def test_shared_team_is_readable_by_all_but_writable_by_owner_only(bob_api: Client, alice: Any) -> None:
    team = make_team(alice)
    Team.objects.filter(id=team.id).update(shared=True)
    seen = bob_api.get(f"/api/teams/{team.id}").json()
    assert seen["editable"] is False and seen["owner"] == "alice"
    assert bob_api.get("/api/teams").json()["count"] == 1
    assert_error(bob_api.patch(f"/api/teams/{team.id}", {"name": "mine"}, content_type="application/json"), 403)
    assert_error(bob_api.delete(f"/api/teams/{team.id}"), 403)
    assert Team.objects.get(id=team.id).name == "echo"


def test_superuser_reads_all_teams_but_changes_only_own(alice: Any, bob: Any, django_user_model: Any) -> None:
    from tests.api.conftest import bearer_client

    root = django_user_model.objects.create_superuser("root", password="root-password-1")
    make_team(alice)
    make_team(bob)
    client = bearer_client(root)
    listing = client.get("/api/teams").json()
    assert listing["count"] == 2
    assert_error(client.delete(f"/api/teams/{listing['items'][0]['id']}"), 403)


def test_list_is_own_plus_shared_only(alice_api: Client, alice: Any, bob: Any) -> None:
    make_team(alice, name="mine")
    make_team(bob, name="bobs private")
    assert [t["name"] for t in alice_api.get("/api/teams").json()["items"]] == ["mine"]


def test_list_pagination(alice_api: Client, alice: Any) -> None:
    for i in range(3):
        make_team(alice, name=f"t{i}")
    page = alice_api.get("/api/teams?limit=2&offset=1").json()
    assert page["count"] == 3 and len(page["items"]) == 2
    assert len(alice_api.get("/api/teams").json()["items"]) == 3
    assert_error(alice_api.get("/api/teams?limit=201"), 422)
    assert_error(alice_api.get("/api/teams?limit=0"), 422)
    assert_error(alice_api.get("/api/teams?offset=-1"), 422)


def test_validate_reports_errors_with_200(alice_api: Client) -> None:
    bad = copy.deepcopy(SCRIPTED_TEAM)
    del bad["participants"]
    response = alice_api.post("/api/teams/validate", bad, content_type="application/json")
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False and body["config"] is None
    assert body["errors"] == [{"path": "participants", "message": "Field required"}]
    assert Team.objects.count() == 0


def test_validate_accepts_valid_bare_and_wrapped(alice_api: Client) -> None:
    for doc in (SCRIPTED_TEAM, {"config": SCRIPTED_TEAM}):
        body = alice_api.post("/api/teams/validate", doc, content_type="application/json").json()
        assert body["valid"] is True and body["format"] == "native" and body["errors"] == []
    assert Team.objects.count() == 0


def test_validate_rejects_non_object_body(alice_api: Client) -> None:
    assert_error(alice_api.post("/api/teams/validate", [1, 2], content_type="application/json"), 422)


def test_schema_is_the_team_config_json_schema(alice_api: Client) -> None:
    schema = alice_api.get("/api/teams/schema").json()
    assert "participants" in schema["properties"]


def test_body_over_djangos_limit_is_400_not_500(alice_api: Client) -> None:
    assert_error(alice_api.post("/api/teams", "x" * (3 * 1024 * 1024), content_type="application/json"), 400)


def test_unknown_api_url_is_json_404(alice_api: Client) -> None:
    assert_error(alice_api.get("/api/no-such-thing"), 404)


def test_non_integer_id_is_422(alice_api: Client) -> None:
    body = assert_error(alice_api.get("/api/teams/abc"), 422)
    assert body["errors"][0]["path"] == "path.team_id"


def test_rename_keeps_config_name_in_step(alice_api: Client, alice: Any) -> None:
    team = make_team(alice)
    alice_api.patch(f"/api/teams/{team.id}", {"name": "Renamed"}, content_type="application/json")
    exported = alice_api.get(f"/api/teams/{team.id}/export").json()
    assert exported["name"] == "Renamed"


@pytest.mark.parametrize(
    "model,field,expected",
    [
        ({"provider": "openai", "model": "m", "base_url": "http://a@b/v1"}, "base_url", "credentials"),
        (
            {"provider": "openai", "model": "m", "base_url": "http://key:secret@example.com/v1"},
            "base_url",
            "credentials",
        ),
        ({"provider": "openai", "model": "m", "base_url": "ftp://example.com/v1"}, "base_url", "http"),
        ({"provider": "openai", "model": "m", "base_url": "localhost:11434/v1"}, "base_url", "http"),
        ({"provider": "openai", "model": "m", "base_url": "http:///v1"}, "base_url", "no host"),
        (
            {
                "provider": "azure_openai",
                "model": "m",
                "azure_endpoint": "https://u@x.openai.azure.com",
                "api_version": "v",
            },
            "azure_endpoint",
            "credentials",
        ),
    ],
)
def test_a_model_endpoint_that_could_never_be_called_is_refused_naming_the_field(
    alice_api: Client, model: dict[str, Any], field: str, expected: str
) -> None:
    bad = copy.deepcopy(SCRIPTED_TEAM)
    bad["participants"][0]["model"] = model
    body = alice_api.post("/api/teams/validate", bad, content_type="application/json").json()
    assert body["valid"] is False
    assert [e["path"] for e in body["errors"]] == [f"participants[0].model.{field}"], body
    assert expected in body["errors"][0]["message"]


def test_a_local_model_endpoint_is_still_valid(alice_api: Client) -> None:
    good = copy.deepcopy(SCRIPTED_TEAM)
    good["participants"][0]["model"] = {
        "provider": "openai",
        "model": "llama3",
        "base_url": "http://localhost:11434/v1",
    }
    assert alice_api.post("/api/teams/validate", good, content_type="application/json").json()["valid"] is True


def test_a_model_override_endpoint_with_credentials_is_refused_naming_the_field() -> None:
    with pytest.raises(TeamConfigError) as refused:
        parse_model_override({"model": "m", "base_url": "http://a@b/"})
    assert [e.path for e in refused.value.errors] == ["model_override.base_url"]


@pytest.mark.parametrize("url", ["http://127.0.0.1:11434/v1", "http://10.0.0.7/v1", "http://[::1]:8000/v1"])
def test_a_private_model_endpoint_is_refused_when_the_server_does_not_allow_them(
    alice_api: Client, settings: Any, url: str
) -> None:
    local = copy.deepcopy(SCRIPTED_TEAM)
    local["participants"][0]["model"] = {"provider": "openai", "model": "llama3", "base_url": url}
    settings.MODEL_ALLOW_PRIVATE_ADDRESSES = False
    body = assert_error(create(alice_api, config=local), 400)
    assert [e["path"] for e in body["errors"]] == ["config.participants[0].model.base_url"], body
    assert "MODEL_ALLOW_PRIVATE_ADDRESSES" in body["errors"][0]["message"]
    settings.MODEL_ALLOW_PRIVATE_ADDRESSES = True  # a single-user server running Ollama beside it
    assert create(alice_api, config=local).status_code == 201
