"""Reads of sessions and their runs, owner-scoped once (superusers read all)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from playground.scoping import readable_by, writable_by
from runs.models import Message, Run, Session


def visible_sessions(user: Any) -> QuerySet[Session]:
    return readable_by(Session.objects.select_related("team"), user)


def session_get_visible(*, user: Any, session_id: int) -> Session:
    """Session.DoesNotExist (a 404) for missing and not-yours alike."""
    return visible_sessions(user).get(id=session_id)


def session_get_writable(*, user: Any, session_id: int) -> Session:
    return writable_by(Session.objects.select_related("team"), user).get(id=session_id)


def session_runs_with_messages(*, session: Session) -> QuerySet[Run]:
    """The session's runs oldest first (the order a chat reads), each with its messages by seq.

    One query for the runs page and one for all their messages, however many runs there are.
    """
    return (
        Run.objects.filter(session=session)
        .order_by("created_at", "id")
        .prefetch_related(Prefetch("messages", queryset=Message.objects.order_by("seq")))
    )


def visible_runs(user: Any) -> QuerySet[Run]:
    return readable_by(Run.objects.all(), user)


def run_get_visible(*, user: Any, run_id: int) -> Run:
    """Run.DoesNotExist (a 404) for missing and not-yours alike."""
    return visible_runs(user).get(id=run_id)


def run_get_writable(*, user: Any, run_id: int) -> Run:
    """Only the owner starts, stops or answers a run."""
    return writable_by(Run.objects.all(), user).get(id=run_id)


def run_messages_after(*, run: Run, after_seq: int) -> QuerySet[Message]:
    return Message.objects.filter(run=run, seq__gt=after_seq).order_by("seq")
