"""/api/runs/{id}/export and /api/runs/compare: a run as a file, and runs side by side.

Owner-scoped like every run read: another user's run is a 404 here too.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from playground.errors import ApiError
from runs import selectors
from runs.compare import MAX_RUNS, MIN_RUNS, compare_document
from runs.export import run_document, run_markdown
from runs.models import Message

review_router = Router(tags=["runs"])


class ExportQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    format: Literal["json", "markdown"] = "json"


@review_router.get(
    "/{run_id}/export",
    response={200: dict[str, Any]},
    openapi_extra={"responses": {200: {"content": {"text/markdown": {"schema": {"type": "string"}}}}}},
)
def run_export(request: HttpRequest, run_id: int, query: Query[ExportQuery]) -> Any:
    """The run with its messages, usage, config snapshot and team version, as a JSON or Markdown file."""
    run = selectors.run_get_visible(user=request.user, run_id=run_id)
    doc = run_document(run, list(run.messages.order_by("seq")))
    if query.format == "markdown":
        response = HttpResponse(run_markdown(doc), content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="run-{run.id}.md"'
        return response
    response = HttpResponse(json.dumps(doc, indent=2), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="run-{run.id}.json"'
    return response


class CompareQuery(Schema):
    model_config = ConfigDict(extra="forbid")
    ids: str = Field(description=f"{MIN_RUNS} to {MAX_RUNS} run ids, comma-separated", examples=["7,9"])


@review_router.get("/compare", response=dict[str, Any])
def run_compare(request: HttpRequest, query: Query[CompareQuery]) -> dict[str, Any]:
    """Runs side by side: each with its messages (aligned by `seq`, the turn), outcome, duration,
    tokens and cost when known; `team_diffs` lists what each run's config changed from the first's."""
    ids = _parse_ids(query.ids)
    runs = selectors.visible_runs(request.user).filter(id__in=ids).select_related("team")
    found = {run.id: run for run in runs.prefetch_related(Prefetch("messages", Message.objects.order_by("seq")))}
    if len(found) != len(ids):
        raise ApiError(404, "Not found.")
    return compare_document([(found[i], list(found[i].messages.all())) for i in ids])


def _parse_ids(raw: str) -> list[int]:
    try:
        ids = [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        ids = []
    if not MIN_RUNS <= len(ids) <= MAX_RUNS or len(set(ids)) != len(ids) or min(ids, default=0) < 1:
        message = f"give {MIN_RUNS} to {MAX_RUNS} different run ids, comma-separated"
        raise ApiError(422, "The request does not match the schema.", [{"path": "query.ids", "message": message}])
    return ids
