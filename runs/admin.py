from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import F, Func, Prefetch, QuerySet, TextField
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from agents_app.config import TeamConfigError
from agents_app.engine import events
from playground.admin_mixins import OwnedAdmin, QuickRowsAdmin, RelatedSearchAdmin
from runs import services
from runs.export import run_document, run_markdown
from runs.models import Message, Run, Session
from runs.selectors import session_cost_column


def _dollars(value: Any) -> str:
    return f"{value:.6f}" if isinstance(value, int | float) and not isinstance(value, bool) else "-"


class MessageCost:
    @admin.display(description="cost (USD)")
    def cost(self, obj: Message) -> str:
        return _dollars((obj.models_usage or {}).get("cost"))


class MessageInline(MessageCost, admin.TabularInline):
    model = Message
    ordering = ("seq",)
    fields = ("seq", "source", "type", "content", "models_usage", "cost", "partial", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Session)
class SessionAdmin(QuickRowsAdmin, OwnedAdmin):
    list_display = ("name", "owner", "team", "carry_context", "updated_at", "cost")
    list_filter = ("updated_at",)
    search_fields = ("name", "owner__username")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Session]:
        return super().get_queryset(request).annotate(cost=session_cost_column())

    @admin.display(description="cost (USD)")
    def cost(self, obj: Session) -> str:
        value = getattr(obj, "cost", None)
        return f"{value:.6f}" if value is not None else "-"

    # Deletes go through the service, which removes the attachments' files from storage too.
    def delete_model(self, request: HttpRequest, obj: Session) -> None:
        services.session_delete(session=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        services.sessions_delete(sessions=queryset)


@admin.action(description="Request stop of the selected runs")
def request_stop(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Run]) -> None:
    stopped = refused = 0
    for run in queryset:
        try:
            services.run_request_stop(run_id=run.id, reason=f"Stopped by {request.user} in the admin")
        except services.RunStateError:
            refused += 1
            continue
        stopped += 1
    if stopped:
        modeladmin.message_user(request, f"Stop requested for {stopped} run(s).", messages.SUCCESS)
    if refused:
        modeladmin.message_user(request, f"{refused} run(s) had already finished.", messages.WARNING)


@admin.action(description="Retry the selected failed or stopped runs (a fork from the last complete message)")
def retry(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Run]) -> None:
    forks, refused = [], 0
    for run in queryset.order_by("id"):
        try:
            forks.append(services.run_retry(run=run))
        except (services.RunStateError, services.TooManyActiveRuns, TeamConfigError):
            refused += 1
    if forks:
        ids = ", ".join(f"#{fork.id}" for fork in forks)
        modeladmin.message_user(request, f"Retrying {len(forks)} run(s) as {ids}.", messages.SUCCESS)
    if refused:
        message = f"{refused} run(s) were not retried: only failed or stopped runs with a stored message are."
        modeladmin.message_user(request, message, messages.WARNING)


def _documents(queryset: QuerySet[Run]) -> list[dict[str, Any]]:
    runs = queryset.select_related("team").prefetch_related(Prefetch("messages", Message.objects.order_by("seq")))
    return [run_document(run, list(run.messages.all())) for run in runs.order_by("id")]


def _download(body: str, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@admin.action(description="Export the selected runs as JSON")
def export_json(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Run]) -> HttpResponse:
    docs = _documents(queryset)
    if len(docs) == 1:
        return _download(json.dumps(docs[0], indent=2), "application/json", f"run-{docs[0]['run']['id']}.json")
    return _download(json.dumps(docs, indent=2), "application/json", "runs.json")


@admin.action(description="Export the selected runs as Markdown")
def export_markdown(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Run]) -> HttpResponse:
    docs = _documents(queryset)
    name = f"run-{docs[0]['run']['id']}.md" if len(docs) == 1 else "runs.md"
    return _download("\n\n---\n\n".join(run_markdown(doc) for doc in docs), "text/markdown; charset=utf-8", name)


class EstimatedCountPaginator(Paginator):
    """Counts a list with no filter from PostgreSQL's statistics instead of COUNT(*): the exact count
    of a million messages took 190 ms of every page of the admin's list. Filtered lists count exactly."""

    @cached_property
    def count(self) -> int:
        query = getattr(self.object_list, "query", None)
        if connection.vendor == "postgresql" and query is not None and not query.where:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [query.model._meta.db_table]
                )
                row = cursor.fetchone()
            if row is not None and row[0] > 10_000:  # small tables (and never analysed ones, -1) count exactly
                return int(row[0])
        return int(super().count)


class QuickCheckbox(admin.ModelAdmin):
    """The action checkbox of each row as the same HTML written out: Django renders a form widget through
    the template engine for it, a third of rendering a page of 50 runs."""

    @admin.display(description=mark_safe('<input type="checkbox" id="action-toggle">'))
    def action_checkbox(self, obj: Any) -> SafeString:
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            label,
        )


class RunText(Func):
    """A run's task and error as one text, joined by a newline, which no search term holds (the admin's
    search box is one line). The run_text_trgm index holds this expression (runs/migrations/0012): a term
    is one LIKE the index answers, where a LIKE on each column, ORed, made PostgreSQL scan every run."""

    arg_joiner = " || chr(10) || "
    template = "(%(expressions)s)"
    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(F("task"), F("error"))

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, arg_joiner=" || char(10) || ", **extra_context)


INLINE_MESSAGES = 100  # a run with more shows a link to its messages' list instead (a 2,000-message inline took 5 s)


@admin.register(Run)
class RunAdmin(QuickCheckbox, QuickRowsAdmin, RelatedSearchAdmin, OwnedAdmin):
    list_display = ("id", "task_short", "status", "owner", "team", "created_at", "finished_at", "last_seq", "cost")
    list_filter = ("status", "owner", "created_at")
    list_select_related = ("owner", "team")
    # Over 10,000 runs every query of the list scans the table: one for the page, one for its count (not a
    # second one for the unfiltered total, nor two for a date hierarchy), and 50 rows to render, not 100.
    list_per_page = 50
    show_full_result_count = False
    # A term is found in the task or the error through one trigram index over both (runs.admin.RunText).
    search_fields = ("text", "=owner__username", "=team__name")
    search_expressions = {"text": RunText()}
    actions = [request_stop, retry, export_json, export_markdown]
    inlines = [MessageInline]
    readonly_fields = ["trace_summary", "cost_per_agent", "messages_link", *(f.name for f in Run._meta.fields)]

    def get_inlines(self, request: HttpRequest, obj: Run | None) -> list[type[admin.options.InlineModelAdmin]]:
        return list(self.inlines) if obj is None or obj.last_seq <= INLINE_MESSAGES else []

    @admin.display(description="messages")
    def messages_link(self, obj: Run) -> str:
        url = reverse("admin:runs_message_changelist") + f"?run__id__exact={obj.id}"
        return format_html('<a href="{}">{} messages</a>', url, obj.last_seq)

    @admin.display(description="task")
    def task_short(self, obj: Run) -> str:
        return obj.task[:80]

    @admin.display(description="cost (USD)")
    def cost(self, obj: Run) -> str:
        return _dollars((obj.usage or {}).get("cost"))

    @admin.display(description="cost per agent (USD)")
    def cost_per_agent(self, obj: Run) -> str:
        agents = (obj.usage or {}).get("per_agent") or {}
        if not agents:
            return "-"
        rows = ((name, _dollars(usage.get("cost"))) for name, usage in agents.items())
        return format_html("<table>{}</table>", format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows))

    @admin.display(description="trace")
    def trace_summary(self, obj: Run) -> str:
        from traces.selectors import run_spans, trace_summary

        summary = trace_summary(run_spans(obj)).as_dict()
        if not summary["spans"]:
            return "no spans recorded"
        rows = format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((k.replace("_", " "), v) for k, v in summary.items())
        )
        return format_html('<table>{}</table><p><a href="/runs/{}/">Waterfall on the run page</a></p>', rows, obj.id)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Run) -> None:
        services.runs_delete(runs=Run.objects.filter(id=obj.id))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        services.runs_delete(runs=queryset)


class MessageTypeFilter(admin.SimpleListFilter):
    """The engine's message types as the choices: Django's own filter read them with a SELECT DISTINCT over
    every message (160 ms at a million)."""

    title = "type"
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [(name, name) for name in MESSAGE_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Message]) -> QuerySet[Message]:
        return queryset.filter(type=self.value()) if self.value() else queryset


MESSAGE_TYPES = sorted(
    cls.__name__
    for cls in (
        events.TextMessage,
        events.MultiModalMessage,
        events.HandoffMessage,
        events.StopMessage,
        events.ToolCallSummaryMessage,
        events.ToolCallRequestEvent,
        events.ToolCallExecutionEvent,
        events.ToolApprovalEvent,
        events.SelectSpeakerEvent,
        events.UserInputRequestedEvent,
    )
)


@admin.register(Message)
class MessageAdmin(QuickCheckbox, MessageCost, QuickRowsAdmin, RelatedSearchAdmin, OwnedAdmin):
    owner_field = "run__owner"
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    list_per_page = 50  # like the run list: writing the rows is most of a page's time (100 rows: 111 ms p99)
    list_display = ("run", "seq", "source", "type", "partial", "created_at", "cost")
    list_filter = (MessageTypeFilter, "partial", "created_at")
    search_fields = ("source", "run__task")
    readonly_fields = ("run", "seq", "source", "type", "content", "models_usage", "metadata", "partial", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
