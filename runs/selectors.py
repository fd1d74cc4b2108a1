"""Reads of sessions and their runs, owner-scoped once (superusers read all), and a watcher's replay."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any

from django.db import connection
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.base import ModelState

from playground.scoping import readable_by, writable_by
from runs import events
from runs.models import TERMINAL_STATUSES, Attachment, Message, Run, RunStatus, Session
from runs.shapes import MESSAGE_COLUMNS
from traces.models import Span


def visible_sessions(user: Any) -> QuerySet[Session]:
    return readable_by(Session.objects.select_related("team").annotate(cost=session_cost_column()), user)


def session_cost_column() -> Subquery:
    """US dollars of the session's model calls (their spans carry each call's price), None if none is priced."""
    calls = Span.objects.filter(run__session=OuterRef("pk"), kind="model").order_by()
    return Subquery(calls.values("run__session").annotate(total=Sum("cost")).values("total")[:1])


def session_cost(session: Session) -> Decimal | None:
    return Span.objects.filter(run__session=session, kind="model").aggregate(total=Sum("cost"))["total"]


def session_get_visible(*, user: Any, session_id: int) -> Session:
    """Session.DoesNotExist (a 404) for missing and not-yours alike."""
    return visible_sessions(user).get(id=session_id)


def session_get_writable(*, user: Any, session_id: int) -> Session:
    return writable_by(Session.objects.select_related("team"), user).get(id=session_id)


def session_runs(*, session: Session, with_messages: bool = False) -> QuerySet[Run]:
    """The session's runs oldest first (the order a chat reads); `with_messages`: each with its messages
    by seq, in one more query for the whole page, however many runs there are."""
    runs = Run.objects.filter(session=session).order_by("created_at", "id")
    if with_messages:
        runs = runs.prefetch_related(Prefetch("messages", queryset=Message.objects.order_by("seq")))
    return runs


def visible_runs(user: Any) -> QuerySet[Run]:
    return readable_by(Run.objects.all(), user)


def run_get_visible(*, user: Any, run_id: int) -> Run:
    """Run.DoesNotExist (a 404) for missing and not-yours alike."""
    return visible_runs(user).get(id=run_id)


def owned_runs(user: Any) -> QuerySet[Run]:
    return writable_by(Run.objects.all(), user)


def run_get_writable(*, user: Any, run_id: int) -> Run:
    """Only the owner starts, stops or answers a run."""
    return owned_runs(user).get(id=run_id)


def attachment_get_owned(*, user: Any, attachment_id: int) -> Attachment:
    """Attachment.DoesNotExist (a 404) for missing and not-yours alike: files are private to the run's
    owner, superusers included (they manage other people's runs in the admin)."""
    return writable_by(Attachment.objects.all(), user, owner_field="run__owner").get(id=attachment_id)


def run_for_socket(*, user: Any, run_id: int) -> tuple[Run | None, bool]:
    """The run a socket's user may watch and drive, and whether the run exists at all.

    Its owner's only, as for every write: a socket starts, stops and answers the run. One query
    when it is yours; a second tells someone else's run (4003) from no run (4004).
    """
    try:
        return run_get_writable(user=user, run_id=run_id), True
    except Run.DoesNotExist:
        return None, Run.objects.filter(id=run_id).exists()


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a run has got, for a watcher to tell whether it missed anything (WatchFilter.behind)."""

    last_seq: int
    terminal: bool
    request_id: str  # the input or approval request it waits on, or ""


def run_progress(*, run_id: int) -> Progress | None:
    """One small read of the run (None: it is gone), instead of a replay's run and messages."""
    row = Run.objects.filter(id=run_id).values_list("status", "last_seq", "input_request_id").first()
    if row is None:
        return None
    status, last_seq, request_id = row
    waiting = status == RunStatus.AWAITING_INPUT
    return Progress(last_seq, status in TERMINAL_STATUSES, request_id if waiting else "")


@dataclass
class Replay:
    run: Run
    frames: list[dict[str, Any]]
    last_seq: int


def run_replay(*, run_id: int, after_seq: int, upto_seq: int | None = None) -> Replay:
    """What a watcher that has seen up to `after_seq` is missing: the stored messages after it (up to
    `upto_seq`), then a pending input request or the final frame (its task_result lists every message:
    read in the same query)."""
    run = Run.objects.get(id=run_id)
    final = upto_seq is None and run.is_terminal
    rows = message_rows(run_id=run_id, after_seq=0 if final else after_seq, upto_seq=upto_seq)
    frames = [events.message_frame(row) for row in rows if row["seq"] > after_seq]
    last = frames[-1]["seq"] if frames else after_seq
    if upto_seq is None:
        if run.input_request_id and run.status == RunStatus.AWAITING_INPUT:
            frames.append(events.input_request_frame(run))
        elif final:
            frames.append(events.final_frame(run, rows))
    return Replay(run=run, frames=frames, last_seq=last)


def run_messages_after(*, run: Run, after_seq: int) -> QuerySet[Message]:
    return Message.objects.filter(run=run, seq__gt=after_seq).order_by("seq")


MAX_SEQ = 2**31 - 1
# A message row as one JSON object built by PostgreSQL: psycopg then decodes a run's whole transcript
# in one json.loads instead of four per message (its JSON columns) plus a model instance each; for
# 2,000 messages 14 ms instead of 62 (docs/benchmarks.md).
_ROW_OBJECT = "json_build_object({})".format(
    ", ".join(f"'{name}', {connection.ops.quote_name(name)}" for name in ("id", *MESSAGE_COLUMNS))
)


def message_rows(*, run_id: int, after_seq: int = 0, upto_seq: int | None = None) -> list[dict[str, Any]]:
    """A run's messages after `after_seq` (up to `upto_seq`) by seq, as dicts of `id` and
    runs.shapes.MESSAGE_COLUMNS (JSON columns decoded, `created_at` a datetime): one query."""
    upto = MAX_SEQ if upto_seq is None else upto_seq
    if connection.vendor != "postgresql":
        messages = Message.objects.filter(run_id=run_id, seq__gt=after_seq, seq__lte=upto).order_by("seq")
        return list(messages.values("id", *MESSAGE_COLUMNS))
    table = connection.ops.quote_name(Message._meta.db_table)
    # Aggregated from an ordered subquery (the (run_id, seq) index's order): PostgreSQL 15 sorts an
    # aggregate's own ORDER BY, which spilled to disk at 20,000 messages. The order of the aggregate's
    # input is usual, not promised, hence the sort after (linear on sorted input).
    sql = (
        f"SELECT coalesce(json_agg(m.row), '[]')::text FROM (SELECT {_ROW_OBJECT} AS row FROM {table} "
        "WHERE run_id = %s AND seq > %s AND seq <= %s ORDER BY seq) AS m"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id, after_seq, upto])
        rows: list[dict[str, Any]] = json.loads(cursor.fetchone()[0])
    rows.sort(key=itemgetter("seq"))
    for row in rows:
        row["created_at"] = datetime.fromisoformat(row["created_at"]).astimezone(UTC)
    return rows


def run_transcript(*, run_id: int) -> list[Message]:
    """A run's stored messages by seq: a worker reads it at every claim, on the loop's GIL. Instances made
    from message_rows without Model.__init__, which cost 15 µs a message (a quarter of loading 2,000)."""
    db = connection.alias
    messages = []
    for row in message_rows(run_id=run_id):
        message = Message.__new__(Message)
        message.__dict__.update(row)
        message._state = ModelState()
        message._state.adding, message._state.db = False, db
        messages.append(message)
    return messages
