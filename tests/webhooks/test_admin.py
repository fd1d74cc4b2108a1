"""The admin shows deliveries with their response codes and hook failures, and never a webhook's secret."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from agents_app.models import Team
from runs.models import Run
from tests.runs.conftest import gallery_config
from webhooks.models import HookCall, Webhook, WebhookDelivery

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(django_user_model: Any) -> Client:
    root = django_user_model.objects.create_superuser("root", password="root-password-1")
    client = Client()
    client.force_login(root)
    return client


def test_admin_lists_attempts_and_hides_the_secret(admin_client: Client, alice: Any) -> None:
    team = Team.objects.create(owner=alice, name="t", config=gallery_config("writer_critic"))
    run = Run.objects.create(owner=alice, team=team, team_config=team.config, status="complete")
    webhook = Webhook.objects.create(owner=alice, team=team, url="https://example.com/h", secret="top-secret-value-123")
    WebhookDelivery.objects.create(
        webhook=webhook,
        run=run,
        delivery_id="d1",
        attempt=1,
        status_code=503,
        error="HTTP 503",
        response_excerpt="busy",
    )
    HookCall.objects.create(run=run, hook="myproject.hooks.notify", status="failed", error="RuntimeError: boom")
    change = admin_client.get(f"/admin/webhooks/webhook/{webhook.id}/change/")
    assert change.status_code == 200 and b"top-secret-value-123" not in change.content
    assert b"top-se" in change.content  # the prefix identifies it
    deliveries = admin_client.get("/admin/webhooks/webhookdelivery/")
    assert deliveries.status_code == 200 and b"503" in deliveries.content
    hooks = admin_client.get("/admin/webhooks/hookcall/")
    assert hooks.status_code == 200 and b"myproject.hooks.notify" in hooks.content and b"boom" in hooks.content


def test_saving_without_a_secret_keeps_the_old_one(admin_client: Client, alice: Any) -> None:
    team = Team.objects.create(owner=alice, name="t", config=gallery_config("writer_critic"))
    webhook = Webhook.objects.create(owner=alice, team=team, url="https://example.com/h", secret="top-secret-value-123")
    response = admin_client.post(
        f"/admin/webhooks/webhook/{webhook.id}/change/",
        {
            "owner": alice.id,
            "team": team.id,
            "url": "https://example.com/other",
            "secret": "",
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    webhook.refresh_from_db()
    assert webhook.url == "https://example.com/other" and webhook.secret == "top-secret-value-123"


def test_staff_see_only_deliveries_and_hook_calls_of_their_own_runs(client: Client, alice: Any, bob: Any) -> None:
    from playground.admin_mixins import owned_model_permissions

    deliveries = {}
    for owner in (alice, bob):
        team = Team.objects.create(owner=owner, name="t", config=gallery_config("writer_critic"))
        run = Run.objects.create(owner=owner, team=team, team_config=team.config, status="complete")
        webhook = Webhook.objects.create(owner=owner, team=team, url="https://example.com/h", secret="s" * 20)
        deliveries[owner.username] = WebhookDelivery.objects.create(
            webhook=webhook, run=run, delivery_id="d", attempt=1
        )
        HookCall.objects.create(run=run, hook=f"hooks.of_{owner.username}", status="ok")
    alice.is_staff = True
    alice.save()
    alice.user_permissions.set(owned_model_permissions())
    client.force_login(alice)
    listing = client.get("/admin/webhooks/webhookdelivery/").content.decode()
    change = "/admin/webhooks/webhookdelivery/{}/change/"
    assert change.format(deliveries["alice"].pk) in listing and change.format(deliveries["bob"].pk) not in listing
    hooks = client.get("/admin/webhooks/hookcall/").content.decode()
    assert "hooks.of_alice" in hooks and "hooks.of_bob" not in hooks
