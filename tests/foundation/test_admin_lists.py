"""The admin's lists at scale: rows written by quick_results and search by related ids must show operators
exactly what Django's own changelist and search do."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.templatetags import admin_list
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client, RequestFactory
from django.utils import timezone

from playground import admin_mixins
from playground.admin_mixins import quick_results
from runs import services
from runs.models import Message, Run, Session
from tests.factories import make_run, make_team


@pytest.fixture
def root(django_user_model: Any) -> Any:
    return django_user_model.objects.create_superuser("root", password="root-password-1")


@pytest.fixture
def history(alice: Any, bob: Any) -> dict[str, Any]:
    """Runs and messages with the values a list cell formats differently: no team or end, an error, a cost,
    a partial message, markup to escape, a choice label."""
    team = make_team(alice, name="Research <team>")
    session = services.session_create(owner=alice, name="quarter & year", team=team)
    done = make_run(alice, "complete", task="summarise the quarterly report", team=team, session=session)
    Run.objects.filter(id=done.id).update(finished_at=timezone.now(), usage={"cost": 0.0125}, last_seq=2)
    failed = make_run(bob, "error", task="<b>bold</b> & other", error="Model call failed: quota")
    queued = make_run(alice, "queued", task="")
    services.message_append(run_id=done.id, source="writer", type="TextMessage", content="hello")
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.01}
    services.message_append(run_id=done.id, source="critic", type="TextMessage", content="ok", models_usage=usage)
    services.message_append(run_id=failed.id, source="editor<x>", type="HandoffMessage", content="to b", target="b")
    Message.objects.filter(run=failed).update(partial=True)
    return {"done": done, "failed": failed, "queued": queued, "team": team}


def _changelist(model: Any, user: Any, query: dict[str, str]) -> Any:
    request = RequestFactory().get("/", query)
    request.user = user
    cl = admin.site.get_model_admin(model).get_changelist_instance(request)
    cl.formset = None  # what changelist_view sets for a list without list_editable
    return cl


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Run, Message, Session])
@pytest.mark.parametrize(
    "query", [{}, {"status": "complete"}, {"o": "-2"}, {"_popup": "1", "_to_field": "id"}, {"q": "quar"}]
)
def test_quick_rows_are_what_djangos_result_list_writes(
    root: Any, alice: Any, history: dict[str, Any], model: Any, query: dict[str, str]
) -> None:
    if "status" in query and model is not Run:
        query = {}
    for user in (root, alice):
        if user is alice:
            alice.is_staff = True
            alice.save()
        cl = _changelist(model, user, query)
        django_rows = ["".join(row) for row in admin_list.results(cl)]
        assert django_rows, "the fixture puts rows in every list"
        assert ["".join(row) for row in quick_results(cl)] == django_rows


def _page(client: Client, path: str, query: dict[str, str]) -> str:
    body = client.get(path, query).content.decode()
    return " ".join(re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", body).split())


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/runs/run/", "/admin/runs/message/", "/admin/runs/session/"])
@pytest.mark.parametrize("query", [{}, {"q": "quar"}, {"o": "-3.2"}])
def test_a_changelist_page_is_the_page_djangos_tag_writes(
    monkeypatch: pytest.MonkeyPatch, client: Client, root: Any, history: dict[str, Any], path: str, query: Any
) -> None:
    client.force_login(root)
    written: list[Any] = []
    monkeypatch.setattr(admin_mixins, "quick_results", lambda cl: written.append(cl) or quick_results(cl))
    quick = _page(client, path, query)
    assert written and "/change/" in quick.split('id="result_list"')[1]
    monkeypatch.setattr(admin_mixins, "quick_result_list", lambda cl: None)  # the template falls back to Django's tag
    assert quick == _page(client, path, query)


COLUMN_SEARCH = {Run: ("task", "error", "=owner__username", "=team__name")}


@pytest.mark.django_db
@pytest.mark.parametrize("model", [Run, Message])
@pytest.mark.parametrize(
    "term",
    [
        "quarterly",
        "QUOTA",
        "alice",  # an owner's exact name, in any case
        "ali",  # not an owner's name: found in no column
        "research <team>",  # a team's exact name
        '"the quarterly"',
        "summarise report",
        "<b>",
        "writer",
        "edit",
        "nothing-like-this",
    ],
)
@pytest.mark.parametrize("ids_max", [1000, 0])
def test_search_by_related_ids_finds_what_djangos_search_finds(
    monkeypatch: pytest.MonkeyPatch, root: Any, history: dict[str, Any], model: Any, term: str, ids_max: int
) -> None:
    monkeypatch.setattr(admin_mixins, "SEARCH_IDS_MAX", ids_max)  # 0: every related term through a join
    model_admin = admin.site.get_model_admin(model)
    request = RequestFactory().get("/")
    request.user = root
    everything = model_admin.get_queryset(request)
    ours, duplicates = model_admin.get_search_results(request, everything, term)
    # Django's own search over the columns themselves (the run admin searches them as one text).
    monkeypatch.setattr(model_admin, "search_fields", COLUMN_SEARCH.get(model, model_admin.search_fields))
    djangos, _ = admin.ModelAdmin.get_search_results(model_admin, request, everything, term)
    assert set(ours.values_list("pk", flat=True)) == set(djangos.values_list("pk", flat=True))
    assert duplicates is False


@pytest.mark.django_db
def test_message_admin_finds_a_message_by_a_substring_of_its_source_or_its_runs_task(
    client: Client, root: Any, history: dict[str, Any]
) -> None:
    client.force_login(root)
    link = "/admin/runs/message/{}/change/"
    by_source = client.get("/admin/runs/message/", {"q": "DITOR<"}).content.decode()
    edited = Message.objects.get(run=history["failed"])
    assert link.format(edited.pk) in by_source and by_source.count('class="action-select"') == 1
    by_task = client.get("/admin/runs/message/", {"q": "quarterly rep"}).content.decode()
    assert by_task.count('class="action-select"') == 2
    assert all(link.format(m.pk) in by_task for m in Message.objects.filter(run=history["done"]))


@pytest.mark.django_db
def test_the_trigram_migration_is_applied_and_makes_its_indexes_on_postgresql() -> None:
    applied = MigrationRecorder(connection).applied_migrations()
    assert ("runs", "0011_search_trigram_indexes") in applied
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
        indexes = dict(cursor.fetchall())
    assert set(indexes) == {"run_task_trgm", "run_error_trgm", "message_source_trgm", "run_text_trgm"}
    assert all("gin_trgm_ops" in definition for definition in indexes.values())


@pytest.mark.services
@pytest.mark.django_db
def test_a_run_search_term_is_one_condition_the_trigram_index_answers_on_postgresql(
    requires_postgres: None, root: Any
) -> None:
    """The run admin's search expression is the one run_text_trgm holds, so each term is an index condition.
    Scans of the whole table or of another index are ruled out here: on a few rows PostgreSQL rightly
    prefers them, and only an expression equal to the index's leaves it a plan at all."""
    model_admin = admin.site.get_model_admin(Run)
    request = RequestFactory().get("/")
    request.user = root
    found, _ = model_admin.get_search_results(request, model_admin.get_queryset(request), "seeded 5000")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        plan = found.order_by().explain()
    assert "Bitmap Index Scan on run_text_trgm" in plan, plan


@pytest.mark.django_db
def test_without_pg_trgm_the_migration_leaves_the_indexes_out_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    from importlib import import_module

    from django.db import DatabaseError

    migration = import_module("runs.migrations.0011_search_trigram_indexes")

    class Refused:
        connection = type("Connection", (), {"vendor": "postgresql"})()
        executed: list[str] = []

        def execute(self, sql: str) -> None:
            self.executed.append(sql)
            raise DatabaseError('permission denied to create extension "pg_trgm"')

    editor = Refused()
    migration.create(None, editor)
    assert editor.executed == ["CREATE EXTENSION IF NOT EXISTS pg_trgm"]  # no index is attempted without it
    assert "pg_trgm unavailable" in caplog.text
