"""/api/providers: CRUD, isolation between users, the key write-only and encrypted, the SSRF check."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from providers import crypto, services
from providers.models import Provider
from tests.api.conftest import assert_error
from tests.providers.conftest import KEY
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = pytest.mark.django_db


def create(client: Client, **fields: Any) -> Any:
    return client.post("/api/providers", fields, content_type="application/json")


def raw_key_column(provider_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted FROM providers_provider WHERE id = %s", [provider_id])
        return str(cursor.fetchone()[0])


def test_crud_never_returns_the_key(alice_api: Client, fake_openai: FakeOpenAIThread) -> None:
    body = {"name": "local", "kind": "openai_compatible", "base_url": fake_openai.base_url, "api_key": KEY}
    created = create(alice_api, **body)
    assert created.status_code == 201, created.content
    provider = created.json()
    assert provider["has_key"] and provider["key_last4"] == KEY[-4:] and provider["mine"]
    assert provider["endpoint"] == fake_openai.base_url
    responses = [created, alice_api.get("/api/providers"), alice_api.get(f"/api/providers/{provider['id']}")]
    renamed = alice_api.patch(f"/api/providers/{provider['id']}", {"name": "renamed"}, content_type="application/json")
    responses.append(renamed)
    assert renamed.json()["name"] == "renamed" and renamed.json()["key_last4"] == KEY[-4:]
    for response in responses:
        assert KEY not in response.content.decode() and "api_key" not in response.json()
    cleared = alice_api.patch(f"/api/providers/{provider['id']}", {"api_key": ""}, content_type="application/json")
    assert cleared.json()["has_key"] is False and cleared.json()["key_last4"] == ""
    assert alice_api.delete(f"/api/providers/{provider['id']}").status_code == 204
    assert alice_api.get("/api/providers").json() == []


def test_the_key_is_encrypted_in_the_database(alice_provider: Provider) -> None:
    stored = raw_key_column(alice_provider.id)
    assert stored and KEY not in stored and KEY[-4:] not in stored
    assert crypto.decrypt(stored) == KEY


def test_another_users_provider_is_not_found(alice_provider: Provider, bob_api: Client) -> None:
    url = f"/api/providers/{alice_provider.id}"
    assert bob_api.get("/api/providers").json() == []
    assert_error(bob_api.get(url), 404)
    assert_error(bob_api.patch(url, {"name": "mine"}, content_type="application/json"), 404)
    assert_error(bob_api.delete(url), 404)
    assert_error(bob_api.post(f"{url}/test", {}, content_type="application/json"), 404)
    assert_error(bob_api.get(f"{url}/models"), 404)
    assert Provider.objects.get(id=alice_provider.id).name == "local"


def test_a_shared_provider_is_usable_by_everyone_and_writable_by_its_owner(
    alice: Any, alice_provider: Provider, bob_api: Client, alice_api: Client
) -> None:
    shared = create(alice_api, name="team-wide", kind="openai", api_key="sk-1234567890", shared=True)
    assert_error(shared, 403)  # alice is not staff
    alice.is_staff = True
    alice.save()
    Provider.objects.filter(id=alice_provider.id).update(shared=True)
    listed = bob_api.get("/api/providers").json()
    assert [(p["name"], p["mine"], p["key_last4"]) for p in listed] == [("local", False, KEY[-4:])]
    assert bob_api.post(f"/api/providers/{alice_provider.id}/test", {}, content_type="application/json").json()["ok"]
    assert_error(
        bob_api.patch(f"/api/providers/{alice_provider.id}", {"name": "x"}, content_type="application/json"), 403
    )
    assert_error(bob_api.delete(f"/api/providers/{alice_provider.id}"), 403)


def test_fields_are_checked_and_names_are_unique_per_user(alice_api: Client, bob_api: Client) -> None:
    body = assert_error(create(alice_api, name="az", kind="azure_openai"), 400)
    assert {e["path"] for e in body["errors"]} == {"base_url", "api_version"}
    body = assert_error(create(alice_api, name="bad name!", kind="openai"), 400)
    assert body["errors"][0]["path"] == "name"
    assert create(alice_api, name="oa", kind="openai").status_code == 201
    assert_error(create(alice_api, name="oa", kind="openai"), 409)
    assert create(bob_api, name="oa", kind="openai").status_code == 201  # names are per user
    assert_error(create(alice_api, name="x", kind="openai", base_url="ftp://example.com"), 400)


def test_private_addresses_are_refused_unless_the_setting_allows(alice_api: Client, settings: Any) -> None:
    settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES = False
    for url in ("http://127.0.0.1:11434/v1", "http://10.1.2.3/v1", "http://169.254.169.254/latest"):
        body = assert_error(create(alice_api, name="ollama", kind="openai_compatible", base_url=url), 400)
        assert body["errors"][0]["path"] == "base_url"
        assert "PROVIDER_ALLOW_PRIVATE_ADDRESSES" in body["errors"][0]["message"]
    settings.PROVIDER_ALLOW_PRIVATE_ADDRESSES = True
    assert (
        create(alice_api, name="ollama", kind="openai_compatible", base_url="http://127.0.0.1:11434/v1").status_code
        == 201
    )


def test_rotation_re_encrypts_every_key_under_the_new_secret(
    alice: Any, bob: Any, settings: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    settings.PROVIDER_KEY_SECRETS = ["old-secret"]
    first = services.provider_create(owner=alice, name="a", kind="openai", api_key=KEY)
    second = services.provider_create(owner=bob, name="b", kind="openai", api_key="sk-bob-key-000111")
    before = {p: raw_key_column(p.id) for p in (first, second)}
    settings.PROVIDER_KEY_SECRETS = ["new-secret", "old-secret"]
    call_command("rotate_provider_keys")
    assert "re-encrypted 2 provider key(s)" in capsys.readouterr().out
    settings.PROVIDER_KEY_SECRETS = ["new-secret"]  # the old secret gone: the rows still read
    for provider, old in before.items():
        now = raw_key_column(provider.id)
        assert now != old
        assert Provider.objects.get(id=provider.id).api_key() == (KEY if provider == first else "sk-bob-key-000111")
    with pytest.raises(crypto.KeyUnreadable):
        settings.PROVIDER_KEY_SECRETS = ["old-secret"]
        Provider.objects.get(id=first.id).api_key()


def test_rotation_reports_keys_no_secret_reads(alice: Any, settings: Any) -> None:
    settings.PROVIDER_KEY_SECRETS = ["lost-secret"]
    services.provider_create(owner=alice, name="a", kind="openai", api_key=KEY)
    settings.PROVIDER_KEY_SECRETS = ["other-secret"]
    with pytest.raises(Exception, match="no configured secret decrypts"):
        call_command("rotate_provider_keys")


def test_admin_key_is_write_only(admin_client: Client, alice_provider: Provider) -> None:
    page = admin_client.get(f"/admin/providers/provider/{alice_provider.id}/change/")
    assert page.status_code == 200 and KEY not in page.content.decode()
    assert KEY[-4:] in page.content.decode()
    data = {
        "owner": alice_provider.owner_id,
        "name": "local",
        "kind": "openai_compatible",
        "base_url": alice_provider.base_url,
        "api_version": "",
        "api_key": "",
    }
    assert admin_client.post(f"/admin/providers/provider/{alice_provider.id}/change/", data).status_code == 302
    assert Provider.objects.get(id=alice_provider.id).api_key() == KEY  # empty field: key kept
    data["api_key"] = "sk-new-admin-key-9999"
    admin_client.post(f"/admin/providers/provider/{alice_provider.id}/change/", data)
    assert Provider.objects.get(id=alice_provider.id).api_key() == "sk-new-admin-key-9999"
