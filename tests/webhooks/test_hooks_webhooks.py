"""Hooks and webhooks after a run finishes: in-process (inline executor), against a local receiver."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

import pytest
from django.test import Client

from agents_app.models import Team
from runs import announce, execution, services
from runs.models import Run
from tests.runs.conftest import gallery_config
from tests.support.receiver import Receiver
from tests.webhooks import hooks
from webhooks import background, signing
from webhooks.models import HookCall, RunNotice, Webhook, WebhookDelivery
from webhooks.urlsafety import UnsafeURL, check_url, resolve_target

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("inline_runtime")]


def finished_run(owner: Any, team: Team, task: str = "Write something") -> Run:
    """Create, start and drive a run to its end in this thread (the inline executor's own path)."""
    run = services.run_create(owner=owner, team=team, team_config=team.config)
    Run.objects.filter(id=run.id).update(task=task)
    services.message_append(run_id=run.id, source="user", type="TextMessage", content=task)
    services.transition(run_id=run.id, to="queued", expected=["created"])
    asyncio.run(execution.drive(run.id))
    assert background.wait_idle(30)
    return Run.objects.get(id=run.id)


@pytest.fixture
def team(alice: Any) -> Team:
    config = gallery_config("writer_critic")
    return Team.objects.create(owner=alice, name="writers", config=config)


def test_hooks_get_the_finished_run_and_a_failing_hook_is_recorded(settings: Any, alice: Any, team: Team) -> None:
    hooks.called.clear()
    settings.PLAYGROUND_RUN_HOOKS = [f"tests.webhooks.hooks.{name}" for name in ("explode", "record_id", "record_run")]
    run = finished_run(alice, team)
    assert run.status == "complete" and run.error == ""
    assert sorted(hooks.called, key=str) == sorted([("id", run.id), ("run", run.id, "complete")], key=str)
    calls = {c.hook: c for c in HookCall.objects.filter(run=run)}
    assert calls["tests.webhooks.hooks.explode"].status == "failed"
    assert "hook blew up" in calls["tests.webhooks.hooks.explode"].error
    assert "RuntimeError" in calls["tests.webhooks.hooks.explode"].traceback
    assert calls["tests.webhooks.hooks.record_id"].status == "ok"
    assert Run.objects.get(id=run.id).status == "complete"


def test_a_run_without_hooks_or_webhooks_schedules_no_background_work(
    settings: Any, alice: Any, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.PLAYGROUND_RUN_HOOKS = []
    Webhook.objects.create(owner=alice, team=team, url="http://example.com/hook", secret="s" * 20, active=False)
    submitted: list[Any] = []
    monkeypatch.setattr(background, "submit", lambda fn, *args, **kw: submitted.append(fn))
    run = finished_run(alice, team)
    assert run.status == "complete"
    assert submitted == [] and not RunNotice.objects.filter(run=run).exists()


def test_final_frame_published_twice_runs_hooks_once(settings: Any, alice: Any, team: Team) -> None:
    hooks.called.clear()
    settings.PLAYGROUND_RUN_HOOKS = ["tests.webhooks.hooks.record_id"]
    run = finished_run(alice, team)
    asyncio.run(announce.announce_final(run.id))
    assert background.wait_idle(30)
    assert hooks.called == [("id", run.id)]
    assert RunNotice.objects.filter(run=run).count() == 1


def test_webhook_receives_signed_run_summary(alice: Any, team: Team, receiver: Receiver) -> None:
    webhook = Webhook.objects.create(owner=alice, team=team, url=receiver.url, secret="s3cret-s3cret-s3cret")
    run = finished_run(alice, team, task="Write a haiku")
    assert receiver.done.wait(30)
    [got] = receiver.received
    assert signing.verify("s3cret-s3cret-s3cret", got.headers["x-playground-signature"], got.body)
    assert not signing.verify("wrong-secret", got.headers["x-playground-signature"], got.body)
    ts, hexdigest = (part.split("=", 1)[1] for part in got.headers["x-playground-signature"].split(","))
    assert hexdigest == signing.sign("s3cret-s3cret-s3cret", int(ts), got.body)
    payload = got.json()
    assert payload["event"] == "run.finished"
    summary = payload["run"]
    assert (summary["id"], summary["status"], summary["task"]) == (run.id, "complete", "Write a haiku")
    assert summary["team"] == {"id": team.id, "name": "writers"}
    assert summary["message_count"] == run.messages.count() and summary["usage"] == run.usage
    assert "secret" not in got.body.decode() and "team_config" not in summary
    [delivery] = WebhookDelivery.objects.filter(webhook=webhook)
    assert (delivery.attempt, delivery.success, delivery.status_code) == (1, True, 200)
    assert json.loads(delivery.response_excerpt) == {"ok": True}


def test_failing_receiver_is_retried_and_every_attempt_recorded(alice: Any, team: Team, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    receiver.expect = 3
    webhook = Webhook.objects.create(owner=alice, team=team, url=receiver.url, secret="s3cret-s3cret-s3cret")
    run = finished_run(alice, team)
    assert receiver.done.wait(30)
    assert background.wait_idle(30)
    attempts = list(WebhookDelivery.objects.filter(webhook=webhook, run=run).order_by("attempt"))
    outcomes = [(d.attempt, d.status_code, d.success) for d in attempts]
    assert outcomes == [(1, 500, False), (2, 503, False), (3, 200, True)]
    assert len({d.delivery_id for d in attempts}) == 1
    assert len({r.headers["x-playground-delivery"] for r in receiver.received}) == 1
    assert attempts[0].error == "HTTP 500" and attempts[0].response_excerpt == "try again later"


def test_gives_up_after_max_attempts(settings: Any, alice: Any, team: Team, receiver: Receiver) -> None:
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    receiver.statuses = [500, 500, 500]
    webhook = Webhook.objects.create(owner=alice, team=team, url=receiver.url, secret="s3cret-s3cret-s3cret")
    finished_run(alice, team)
    assert background.wait_idle(30)
    attempts = WebhookDelivery.objects.filter(webhook=webhook).values_list("attempt", flat=True)
    assert sorted(attempts) == [1, 2]


def test_unreachable_receiver_records_the_error(alice: Any, team: Team) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once we leave: connection refused
    webhook = Webhook.objects.create(owner=alice, team=team, url=f"http://127.0.0.1:{port}/", secret="x" * 20)
    finished_run(alice, team)
    attempts = list(WebhookDelivery.objects.filter(webhook=webhook).order_by("attempt"))
    assert len(attempts) == 5 and all(d.status_code is None and "ConnectError" in d.error for d in attempts)


def test_private_target_refused_at_delivery_time(settings: Any, alice: Any, team: Team, receiver: Receiver) -> None:
    webhook = Webhook.objects.create(owner=alice, team=team, url=receiver.url, secret="s3cret-s3cret-s3cret")
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    finished_run(alice, team)
    [delivery] = WebhookDelivery.objects.filter(webhook=webhook)
    assert not delivery.success and delivery.error.startswith("refused:") and "127.0.0.1" in delivery.error
    assert receiver.received == []


def test_delivery_calls_the_address_it_checked_not_a_second_lookup(
    alice: Any, team: Team, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that answers a checked address, then another one, is called at the first."""
    port = int(receiver.url.rsplit(":", 1)[1].split("/", 1)[0])
    real_getaddrinfo = socket.getaddrinfo
    lookups: list[str] = []

    def rebinding(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.rebind.test":
            lookups.append(host)  # first the receiver, then an address nothing listens on
            return real_getaddrinfo("127.0.0.1" if len(lookups) == 1 else "127.0.0.2", *args, **kwargs)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"http://hooks.rebind.test:{port}/hook"
    webhook = Webhook.objects.create(owner=alice, team=team, url=url, secret="s3cret-s3cret-s3cret")
    finished_run(alice, team)
    assert receiver.done.wait(30)
    [got] = receiver.received
    assert got.headers["host"] == f"hooks.rebind.test:{port}" and lookups == ["hooks.rebind.test"]
    [delivery] = WebhookDelivery.objects.filter(webhook=webhook)
    assert delivery.success and delivery.status_code == 200


def test_https_delivery_verifies_the_certificate_against_the_url_host(
    settings: Any, alice: Any, team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The address is pinned, yet TLS still checks the certificate names the URL's host, not the address."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    import certifi
    import trustme

    ca = trustme.CA()
    received: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("hooks.tls.test").configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    real_getaddrinfo = socket.getaddrinfo
    monkeypatch.setattr(
        socket,
        "getaddrinfo",
        lambda host, *a, **k: real_getaddrinfo("127.0.0.1" if host.endswith(".tls.test") else host, *a, **k),
    )
    with ca.cert_pem.tempfile() as ca_file:
        monkeypatch.setattr(certifi, "where", lambda: ca_file)  # httpx's default trust store: our test CA only
        try:
            good, wrong = (
                Webhook.objects.create(owner=alice, team=team, url=f"https://{host}:{port}/h", secret="s" * 20)
                for host in ("hooks.tls.test", "other.tls.test")
            )
            settings.WEBHOOK_MAX_ATTEMPTS = 1
            finished_run(alice, team)
        finally:
            server.shutdown()
            server.server_close()
    [ok] = WebhookDelivery.objects.filter(webhook=good)
    [refused] = WebhookDelivery.objects.filter(webhook=wrong)
    assert ok.success and received == [f"hooks.tls.test:{port}"]
    assert not refused.success and "CERTIFICATE_VERIFY_FAILED" in refused.error


@pytest.mark.parametrize(
    ("url", "called", "host", "tls_name"),
    [
        ("https://127.0.0.1/hook?x=1", "https://127.0.0.1:443/hook?x=1", "127.0.0.1", "127.0.0.1"),
        ("http://127.0.0.1:8080/a#frag", "http://127.0.0.1:8080/a", "127.0.0.1:8080", None),
        ("https://[::1]:8443/h", "https://[::1]:8443/h", "[::1]:8443", "::1"),
    ],
)
def test_resolved_target_keeps_the_host_for_the_header_and_the_certificate(
    url: str, called: str, host: str, tls_name: str | None
) -> None:
    target = resolve_target(url, allow_private=True)
    assert (target.url, target.host_header, target.tls_hostname) == (called, host, tls_name)


def test_webhooks_fire_only_for_the_owners_runs_of_active_hooks(alice: Any, bob: Any, receiver: Receiver) -> None:
    shared = Team.objects.create(owner=alice, name="shared", config=gallery_config("writer_critic"), shared=True)
    Webhook.objects.create(owner=alice, team=shared, url=receiver.url, secret="s3cret-s3cret-s3cret")
    Webhook.objects.create(owner=bob, team=shared, url=receiver.url, secret="s3cret-s3cret-s3cret", active=False)
    finished_run(bob, shared)  # alice's hook must not see bob's run; bob's is inactive
    assert receiver.received == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "http://user:pw@example.com/",
        "http:///nohost",
        "not a url",
        "http://127.0.0.1/",
        "http://localhost:8000/",
        "http://10.1.2.3/",
        "http://169.254.169.254/latest",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://192.168.0.1/",
        "http://0.0.0.0/",
    ],
)
def test_unsafe_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False)


def test_api_scopes_webhooks_and_never_returns_the_secret(
    settings: Any, alice: Any, bob: Any, alice_token: str, bob_token: str, team: Team
) -> None:
    client = Client()
    auth = {"HTTP_AUTHORIZATION": f"Bearer {alice_token}"}
    created = client.post(
        "/api/webhooks", {"team_id": team.id, "url": "https://example.com/h"}, content_type="application/json", **auth
    )
    assert created.status_code == 201, created.content
    body = created.json()
    secret, webhook_id = body["secret"], body["id"]
    assert len(secret) >= 32 and body["secret_prefix"] == secret[:6]
    detail = client.get(f"/api/webhooks/{webhook_id}", **auth)
    assert detail.status_code == 200 and "secret" not in detail.json() and secret not in detail.content.decode()
    listed = client.get("/api/webhooks", **auth).json()
    assert listed["count"] == 1 and secret not in json.dumps(listed)
    bob_auth = {"HTTP_AUTHORIZATION": f"Bearer {bob_token}"}
    assert client.get(f"/api/webhooks/{webhook_id}", **bob_auth).status_code == 404
    assert client.delete(f"/api/webhooks/{webhook_id}", **bob_auth).status_code == 404
    assert client.get("/api/webhooks", **bob_auth).json()["count"] == 0
    patched = client.patch(
        f"/api/webhooks/{webhook_id}", {"active": False, "secret": "n" * 20}, content_type="application/json", **auth
    )
    assert patched.status_code == 200 and patched.json()["active"] is False
    assert Webhook.objects.get(id=webhook_id).secret == "n" * 20
    bad = client.post(
        "/api/webhooks", {"team_id": team.id, "url": "ftp://example.com"}, content_type="application/json", **auth
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "url"
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False
    private = client.post(
        "/api/webhooks", {"team_id": team.id, "url": "http://127.0.0.1:9/x"}, content_type="application/json", **auth
    )
    assert private.status_code == 400 and "127.0.0.1" in private.json()["errors"][0]["message"]
    bobs_team = Team.objects.create(owner=bob, name="private", config=team.config)
    foreign = client.post(
        "/api/webhooks",
        {"team_id": bobs_team.id, "url": "https://example.com/h"},
        content_type="application/json",
        **auth,
    )
    assert foreign.status_code == 400
    assert client.delete(f"/api/webhooks/{webhook_id}", **auth).status_code == 204
    assert not Webhook.objects.filter(id=webhook_id).exists()
