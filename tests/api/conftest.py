from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.services import token_create


def bearer_client(user: Any) -> Client:
    _, raw = token_create(user=user, name="tests")
    return Client(headers={"Authorization": f"Bearer {raw}"})


@pytest.fixture
def alice_api(alice: Any) -> Client:
    return bearer_client(alice)


@pytest.fixture
def bob_api(bob: Any) -> Client:
    return bearer_client(bob)


def assert_error(response: Any, status: int) -> dict[str, Any]:
    """The response has `status` and the one error shape every 4xx uses."""
    assert response.status_code == status, response.content
    body: dict[str, Any] = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert all(set(e) == {"path", "message"} for e in body["errors"]), body
    return body
