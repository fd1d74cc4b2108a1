from __future__ import annotations

import re
from typing import Any

import pytest
from django.middleware.csrf import _get_new_csrf_string
from django.test import Client

from accounts.services import token_create, token_revoke
from playground.api import api
from tests.api.conftest import assert_error
from tests.factories import SCRIPTED_TEAM

pytestmark = pytest.mark.django_db


def _secured_operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema(path_prefix="/api/")
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if operation.get("security"):
                found.append((method, re.sub(r"\{[^}]+\}", "1", path)))
    return found


SECURED = _secured_operations()


def test_every_router_is_covered() -> None:
    prefixes = {path.split("/")[2] for _, path in SECURED}
    assert {"teams", "gallery", "sessions", "tokens"} <= prefixes


@pytest.mark.parametrize(("method", "path"), SECURED, ids=[f"{m} {p}" for m, p in SECURED])
def test_unauthenticated_is_401_everywhere(method: str, path: str) -> None:
    response = getattr(Client(), method)(path, {}, content_type="application/json")
    body = assert_error(response, 401)
    assert body["errors"] == []
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_version_is_public() -> None:
    assert Client().get("/api/version").json()["name"] == "agent-playground"


@pytest.mark.parametrize(
    "header",
    ["Bearer pg_not-a-real-token", "Bearer ", "Basic YWxpY2U6YWxpY2UtMQ==", "pg_abc", "Bearer " + "x" * 5000],
)
def test_bad_credentials_are_401(alice: Any, header: str) -> None:
    assert_error(Client(headers={"Authorization": header}).get("/api/teams"), 401)


def test_revoked_token_is_401(alice: Any) -> None:
    token, raw = token_create(user=alice, name="old")
    token_revoke(token=token)
    assert_error(Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/teams"), 401)


def test_inactive_users_token_is_401(alice: Any) -> None:
    _, raw = token_create(user=alice, name="old")
    alice.is_active = False
    alice.save()
    assert_error(Client(headers={"Authorization": f"Bearer {raw}"}).get("/api/teams"), 401)


def test_bearer_needs_no_csrf(alice: Any) -> None:
    _, raw = token_create(user=alice, name="cli")
    client = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {raw}"})
    response = client.post("/api/teams", {"config": SCRIPTED_TEAM}, content_type="application/json")
    assert response.status_code == 201, response.content


def test_session_reads_without_csrf(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/teams").status_code == 200


def test_session_post_without_csrf_is_403(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post("/api/teams", {"config": SCRIPTED_TEAM}, content_type="application/json")
    body = assert_error(response, 403)
    assert "CSRF" in body["detail"]
    assert_error(client.delete("/api/tokens/1"), 403)


def test_session_post_with_csrf_works(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    response = client.post(
        "/api/teams", {"config": SCRIPTED_TEAM}, content_type="application/json", headers={"X-CSRFToken": secret}
    )
    assert response.status_code == 201, response.content
    assert response.json()["owner"] == "alice"


def test_session_post_with_wrong_csrf_is_403(alice: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    client.cookies["csrftoken"] = _get_new_csrf_string()
    response = client.post(
        "/api/sessions", {"name": "x"}, content_type="application/json", headers={"X-CSRFToken": _get_new_csrf_string()}
    )
    assert_error(response, 403)


def test_docs_and_openapi_are_served() -> None:
    assert Client().get("/api/docs").status_code == 200
    schema = Client().get("/api/openapi.json").json()
    assert "/api/teams/upload" in schema["paths"] and "ErrorOut" in schema["components"]["schemas"]
    assert {"BearerTokenAuth", "SessionAuthCSRF"} <= set(schema["components"]["securitySchemes"])


def test_bad_token_is_401_even_with_a_session(alice: Any) -> None:
    client = Client(headers={"Authorization": "Bearer pg_revoked-or-wrong"})
    client.force_login(alice)
    assert_error(client.get("/api/teams"), 401)
