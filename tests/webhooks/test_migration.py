"""The models' move from ops to webhooks keeps an existing database's rows and permissions."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from agents_app.models import Team
from runs.models import Run
from webhooks.models import HookCall, Webhook


def migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    ContentType.objects.clear_cache()
    return executor


@pytest.mark.django_db(transaction=True)
def test_rows_and_permissions_written_under_ops_survive_the_move(alice: Any) -> None:
    # Only ops and webhooks go back; the other apps stay at their latest state, so their current models work.
    team = Team.objects.create(owner=alice, name="t", config={})
    run = Run.objects.create(owner=alice, team=team, team_config={}, status="complete")
    try:
        executor = migrate([("ops", "0001_initial"), ("webhooks", None)])
        old = executor.loader.project_state([("ops", "0001_initial")]).apps
        webhook = old.get_model("ops", "Webhook").objects.create(
            owner_id=alice.id, team_id=team.id, url="https://example.com/h", secret="kept-across-the-move"
        )
        old.get_model("ops", "HookCall").objects.create(run_id=run.id, hook="a.b", status="ok")
        old_type = ContentType.objects.get(app_label="ops", model="webhook")
        granted = Permission.objects.get(content_type=old_type, codename="change_webhook")
        alice.user_permissions.add(granted)
    finally:
        migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())
    assert Webhook.objects.get(id=webhook.id).secret == "kept-across-the-move"
    assert HookCall.objects.get(run_id=run.id).hook == "a.b"
    webhook_type = ContentType.objects.get_for_model(Webhook)
    assert webhook_type.id == old_type.id and webhook_type.app_label == "webhooks"
    assert Permission.objects.get(id=granted.id).content_type_id == webhook_type.id
    alice = type(alice).objects.get(id=alice.id)  # a fresh object: permissions are cached per instance
    assert alice.has_perm("webhooks.change_webhook")
