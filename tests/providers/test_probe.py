"""The connection test and the model list, against the local OpenAI-compatible test server."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
import trustme
from django.test import Client

from providers import services
from providers.models import Provider
from tests.providers.conftest import KEY
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = pytest.mark.django_db


def run_test(client: Client, provider: Provider, **body: Any) -> dict[str, Any]:
    response = client.post(f"/api/providers/{provider.id}/test", body, content_type="application/json")
    assert response.status_code == 200, response.content
    result: dict[str, Any] = response.json()
    assert KEY not in response.content.decode()
    return result


def test_connection_ok_lists_the_models_with_the_key(
    alice_api: Client, alice_provider: Provider, fake_openai: FakeOpenAIThread
) -> None:
    result = run_test(alice_api, alice_provider)
    assert result["ok"] and result["method"] == "models" and "fake-echo" in result["models"]
    assert result["error_kind"] is None
    request = fake_openai.requests[-1]
    assert request.path == "/v1/models" and request.headers["authorization"] == f"Bearer {KEY}"


def test_a_wrong_key_is_reported_as_401(alice: Any, alice_api: Client, fake_openai: FakeOpenAIThread) -> None:
    provider = services.provider_create(
        owner=alice, name="wrong", kind="openai_compatible", base_url=fake_openai.base_url, api_key="sk-wrong-key-0000"
    )
    result = run_test(alice_api, provider)
    assert not result["ok"] and result["error_kind"] == "wrong_key" and result["status_code"] == 401
    assert "Incorrect API key provided" in result["detail"] and "sk-wrong-key-0000" not in str(result)


def test_an_unreachable_server_is_reported(alice: Any, alice_api: Client) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this socket closes
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = services.provider_create(
        owner=alice, name="gone", kind="openai_compatible", base_url=f"http://127.0.0.1:{port}/v1"
    )
    result = run_test(alice_api, provider)
    assert not result["ok"] and result["error_kind"] == "unreachable" and "refused" in result["detail"].lower()


def test_a_silent_server_times_out(alice: Any, alice_api: Client, settings: Any) -> None:
    settings.PROVIDER_TEST_TIMEOUT_SECONDS = 0.5
    with socket.socket() as listener:  # accepts connections (backlog) and never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(4)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        provider = services.provider_create(owner=alice, name="silent", kind="openai_compatible", base_url=url)
        result = run_test(alice_api, provider)
    assert not result["ok"] and result["error_kind"] == "timeout"


@pytest.fixture
def untrusted_tls_server() -> Iterator[str]:
    ca = trustme.CA()  # not in the client's trust store: verification must fail
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.end_headers()

    server = HTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_a_tls_failure_is_reported(alice: Any, alice_api: Client, untrusted_tls_server: str) -> None:
    provider = services.provider_create(
        owner=alice, name="tls", kind="openai_compatible", base_url=untrusted_tls_server
    )
    result = run_test(alice_api, provider)
    assert not result["ok"] and result["error_kind"] == "tls" and "certificate" in result["detail"].lower()


def test_the_model_list_is_cached_per_provider(
    alice: Any, alice_api: Client, alice_provider: Provider, fake_openai: FakeOpenAIThread
) -> None:
    first = alice_api.get(f"/api/providers/{alice_provider.id}/models").json()
    second = alice_api.get(f"/api/providers/{alice_provider.id}/models").json()
    assert "fake" in first["models"] and (first["cached"], second["cached"]) == (False, True)
    assert len([r for r in fake_openai.requests if r.path == "/v1/models"]) == 1
    other = services.provider_create(
        owner=alice, name="other", kind="openai_compatible", base_url=fake_openai.base_url, api_key=KEY
    )
    assert alice_api.get(f"/api/providers/{other.id}/models").json()["cached"] is False


def test_a_model_list_refused_is_a_502_naming_why(alice: Any, alice_api: Client, fake_openai: FakeOpenAIThread) -> None:
    provider = services.provider_create(
        owner=alice, name="wrong", kind="openai_compatible", base_url=fake_openai.base_url, api_key="sk-wrong-key-0000"
    )
    response = alice_api.get(f"/api/providers/{provider.id}/models")
    assert response.status_code == 502 and "wrong_key" in response.json()["detail"]
