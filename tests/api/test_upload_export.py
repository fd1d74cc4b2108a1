from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agents_app.config import validate_team_config
from agents_app.models import Team
from tests.api.conftest import assert_error
from tests.autogen.documents import FIXTURES as AUTOGEN_FIXTURES
from tests.factories import SCRIPTED_TEAM, make_team

pytestmark = pytest.mark.django_db

FIXTURE_FILES = sorted(AUTOGEN_FIXTURES.glob("*/*.json"))
PLANTED_KEY = "sk-planted-" + "a1b2c3d4e5f6" * 4


def upload(client: Client, content: bytes, filename: str = "team.json") -> Any:
    return client.post("/api/teams/upload", {"file": SimpleUploadedFile(filename, content, "application/json")})


def test_fixture_folder_is_there() -> None:
    assert len(FIXTURE_FILES) >= 10, AUTOGEN_FIXTURES


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_autogen_fixture_uploads(alice_api: Client, path: Path) -> None:
    response = upload(alice_api, path.read_bytes(), path.name)
    assert response.status_code == 201, response.content
    stored = Team.objects.get(id=response.json()["id"])
    assert stored.config["version"] == 1 and stored.config["participants"]


def test_upload_native_config(alice_api: Client) -> None:
    response = upload(alice_api, json.dumps(SCRIPTED_TEAM).encode())
    assert response.status_code == 201 and response.json()["name"] == "echo"


def test_upload_error_returns_its_json_path(alice_api: Client) -> None:
    doc = json.loads((AUTOGEN_FIXTURES / "agentchat-0.7.5" / "roundrobin_calculator.json").read_text())
    doc["config"]["participants"][0]["provider"] = "my_company.agents.SecretAgent"
    body = assert_error(upload(alice_api, json.dumps(doc).encode()), 400)
    assert any(e["path"].startswith("config.participants[0]") for e in body["errors"]), body
    assert Team.objects.count() == 0


def test_upload_not_json_is_400(alice_api: Client) -> None:
    body = assert_error(upload(alice_api, b"participants: [writer]\n", "team.yaml"), 400)
    assert "not valid JSON" in body["detail"]


def test_upload_not_utf8_is_400(alice_api: Client) -> None:
    assert_error(upload(alice_api, b"\xff\xfe\x00garbage"), 400)


def test_upload_too_big_is_400(alice_api: Client) -> None:
    body = assert_error(upload(alice_api, b" " * (1024 * 1024 + 1)), 400)
    assert "1 MiB" in body["detail"]


def test_upload_without_file_is_422(alice_api: Client) -> None:
    assert_error(alice_api.post("/api/teams/upload", {}), 422)


def test_upload_a_json_array_is_400(alice_api: Client) -> None:
    assert_error(upload(alice_api, b"[1, 2, 3]"), 400)


@pytest.mark.parametrize("fmt", ["native", "autogen"])
def test_export_round_trips(alice_api: Client, alice: Any, fmt: str) -> None:
    team = make_team(alice)
    response = alice_api.get(f"/api/teams/{team.id}/export?format={fmt}")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    again = upload(alice_api, response.content)
    assert again.status_code == 201, again.content
    canonical = validate_team_config(Team.objects.get(id=team.id).config).model_dump(mode="json")
    assert again.json()["config"]["participants"] == canonical["participants"]


def test_export_autogen_flavor_05(alice_api: Client, alice: Any) -> None:
    team = make_team(alice)
    doc = alice_api.get(f"/api/teams/{team.id}/export?format=autogen&flavor=0.5").json()
    assert doc["config"]["participants"][0]["component_version"] == 1


def test_export_bad_format_is_422(alice_api: Client, alice: Any) -> None:
    team = make_team(alice)
    assert_error(alice_api.get(f"/api/teams/{team.id}/export?format=yaml"), 422)


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
@pytest.mark.parametrize("fmt", ["native", "autogen"])
def test_export_never_contains_an_api_key(
    alice_api: Client, monkeypatch: pytest.MonkeyPatch, path: Path, fmt: str
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    doc = json.loads(path.read_text())
    _plant_keys(doc)
    created = upload(alice_api, json.dumps(doc).encode())
    assert created.status_code == 201, created.content
    team_id = created.json()["id"]
    for response in (
        created,
        alice_api.get(f"/api/teams/{team_id}"),
        alice_api.get(f"/api/teams/{team_id}/export?format={fmt}"),
        alice_api.get(f"/api/teams/{team_id}/export?format=autogen&flavor=0.5"),
        alice_api.get("/api/teams"),
    ):
        assert response.status_code in (200, 201)
        assert PLANTED_KEY.encode() not in response.content
        assert b"planted" not in response.content


def test_export_redacts_a_key_hidden_in_headers_or_text(
    alice_api: Client, alice: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", PLANTED_KEY)
    config = json.loads(json.dumps(SCRIPTED_TEAM))
    config["participants"].append(
        {
            "kind": "assistant",
            "name": "remote",
            "system_message": f"my key is {PLANTED_KEY}",
            "model": {
                "provider": "openai",
                "model": "gpt-4o-mini",
                "default_headers": {"Authorization": "Bearer sk-other-secret-value"},
            },
        }
    )
    team = make_team(alice, config=config)
    for fmt in ("native", "autogen"):
        content = alice_api.get(f"/api/teams/{team.id}/export?format={fmt}").content
        assert PLANTED_KEY.encode() not in content
        assert b"sk-other-secret-value" not in content


def _plant_keys(node: Any) -> None:
    """Put a real-looking key wherever AutoGen keeps one (every model client's config)."""
    if isinstance(node, dict):
        if str(node.get("component_type")) == "model" and isinstance(node.get("config"), dict):
            node["config"]["api_key"] = PLANTED_KEY
        for value in node.values():
            _plant_keys(value)
    elif isinstance(node, list):
        for value in node:
            _plant_keys(value)


def test_upload_reports_import_warnings(alice_api: Client) -> None:
    doc = json.loads((AUTOGEN_FIXTURES / "agentchat-0.7.5" / "roundrobin_human.json").read_text())
    _plant_keys(doc)
    body = upload(alice_api, json.dumps(doc).encode()).json()
    assert any("api_key" in w["path"] for w in body["warnings"]), body["warnings"]
