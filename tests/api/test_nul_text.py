"""A NUL character (U+0000) in any text a client sends is refused at the edge, naming the field, in
both database modes. PostgreSQL cannot store it (it answered 500); SQLite stored it silently.

Every text field of every JSON body is taken from the API's own OpenAPI document, so a field added
later is covered without touching this file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from accounts.models import ApiToken
from agents_app.models import Team
from playground.api import api
from runs import services as run_services
from runs.models import Run, Session
from tests.api.conftest import assert_error
from tests.factories import SCRIPTED_TEAM, make_run, make_team

pytestmark = pytest.mark.django_db

NUL_TEXT = "twenty-two characters\x00"  # long enough for every min_length; the NUL at the end


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return _resolve(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    return schema


def _kinds(schema: dict[str, Any], components: dict[str, Any]) -> set[str]:
    schema = _resolve(schema, components)
    options = schema.get("anyOf") or schema.get("oneOf") or [schema]
    return {_resolve(o, components).get("type", "object") for o in options}


def text_fields() -> Iterator[tuple[str, str, str, str]]:
    """(method, path, field, kind) for every string or JSON-object field of every JSON request body."""
    document = api.get_openapi_schema()
    components = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = _resolve(body["schema"], components)
            for field, spec in schema.get("properties", {}).items():
                if "enum" in _resolve(spec, components):
                    continue  # a choice among fixed words, not text: refused as a wrong choice
                kinds = _kinds(spec, components)
                for kind in ("string", "object"):
                    if kind in kinds:
                        yield method.upper(), path, field, kind


FIELDS = sorted(text_fields())


@pytest.fixture
def objects(alice: Any) -> dict[str, int]:
    from providers.models import Provider
    from webhooks.models import Webhook

    team = make_team(alice)
    session = run_services.session_create(owner=alice, name="s", team=team)
    run = make_run(alice, session=session)
    webhook = Webhook.objects.create(owner=alice, team=team, url="http://example.com/hook", secret="s" * 20)
    provider = Provider.objects.create(owner=alice, name="p", kind="openai")
    ids = {"team_id": team.id, "session_id": session.id, "run_id": run.id, "webhook_id": webhook.id}
    return {**ids, "provider_id": provider.id}


def test_the_openapi_document_lists_the_text_fields_this_test_walks() -> None:
    fields = {(method, path, field) for method, path, field, _ in FIELDS}
    assert ("POST", "/api/runs", "task") in fields
    assert ("POST", "/api/runs/{run_id}/stop", "reason") in fields
    assert ("POST", "/api/teams", "config") in fields
    assert len(fields) >= 20


@pytest.mark.parametrize(("method", "path", "field", "kind"), FIELDS, ids=[f"{m} {p} {f}" for m, p, f, _ in FIELDS])
def test_a_nul_in_any_text_field_is_a_422_naming_the_field(
    alice_api: Client, objects: dict[str, int], method: str, path: str, field: str, kind: str
) -> None:
    value: Any = NUL_TEXT if kind == "string" else {"name": NUL_TEXT}
    url = path.format(**objects)
    response = alice_api.generic(method, url, json.dumps({field: value}), content_type="application/json")
    body = assert_error(response, 422)
    messages = [e["message"] for e in body["errors"] if e["path"] == field]
    assert any("NUL" in m for m in messages), body


def test_nothing_is_stored_when_a_field_holds_a_nul(alice: Any, alice_api: Client, objects: dict[str, int]) -> None:
    counts = (Run.objects.count(), Team.objects.count(), Session.objects.count(), ApiToken.objects.count())
    for url, payload in [
        ("/api/runs", {"team_id": objects["team_id"], "task": NUL_TEXT}),
        ("/api/teams", {"name": NUL_TEXT, "config": SCRIPTED_TEAM}),
        ("/api/teams", {"config": {**SCRIPTED_TEAM, "description": NUL_TEXT}}),
        ("/api/sessions", {"name": NUL_TEXT}),
        ("/api/tokens", {"name": NUL_TEXT}),
    ]:
        assert_error(alice_api.post(url, payload, content_type="application/json"), 422)
    assert (Run.objects.count(), Team.objects.count(), Session.objects.count(), ApiToken.objects.count()) == counts


def test_a_stop_reason_with_a_nul_leaves_the_run_as_it_was(alice_api: Client, objects: dict[str, int]) -> None:
    run_id = objects["run_id"]
    url = f"/api/runs/{run_id}/stop"
    body = assert_error(alice_api.post(url, {"reason": NUL_TEXT}, content_type="application/json"), 422)
    assert body["errors"][0]["path"] == "reason"
    assert Run.objects.get(id=run_id).status == "created"


def test_a_nul_deep_in_a_team_config_names_its_path(alice_api: Client) -> None:
    config = json.loads(json.dumps(SCRIPTED_TEAM))
    config["participants"][0]["model"]["replies"] = ["fine", NUL_TEXT]
    response = alice_api.post("/api/teams", {"config": config}, content_type="application/json")
    body = assert_error(response, 422)
    assert body["errors"][0]["path"] == "config"
    assert "participants[0].model.replies[1]" in body["errors"][0]["message"]


def test_an_uploaded_or_validated_team_file_with_a_nul_is_refused_at_its_path(alice_api: Client) -> None:
    config = {**SCRIPTED_TEAM, "name": NUL_TEXT}
    upload = SimpleUploadedFile("team.json", json.dumps(config).encode(), content_type="application/json")
    body = assert_error(alice_api.post("/api/teams/upload", {"file": upload}), 400)
    assert body["errors"] == [{"path": "name", "message": "text must not contain the NUL character (\\u0000)"}]
    checked = alice_api.post("/api/teams/validate", config, content_type="application/json").json()
    assert checked["valid"] is False and checked["errors"][0]["path"] == "name"


def test_an_autogen_document_with_a_nul_is_refused_at_its_path_in_the_document(alice_api: Client) -> None:
    from tests.autogen.documents import load_fixture

    document = load_fixture("0.7.5", "roundrobin_calculator")
    document["label"] = NUL_TEXT
    body = assert_error(alice_api.post("/api/teams", {"config": document}, content_type="application/json"), 422)
    assert body["errors"][0]["path"] == "config" and "(at label)" in body["errors"][0]["message"]
    checked = alice_api.post("/api/teams/validate", document, content_type="application/json").json()
    assert checked["valid"] is False and checked["errors"][0]["path"] == "label"


def test_a_token_with_a_nul_is_a_401_not_a_server_error(alice_token: str) -> None:
    client = Client(headers={"Authorization": f"Bearer {alice_token[:5]}\x00{alice_token[6:]}"})
    assert_error(client.get("/api/runs"), 401)
