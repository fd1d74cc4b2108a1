"""Every write to a run: status changes, messages, input requests.

A status moves only here, by a conditional UPDATE on its legal source states
(see runs.models.TRANSITIONS). Zero rows updated means another process moved
the run first; callers that expected a state get False back, and a move that
is illegal from where the run actually is raises RunStateError.
"""

from __future__ import annotations

import functools
import uuid
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import jsonschema
from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import F, Field, Q, QuerySet
from django.db.models.expressions import Col, Combinable
from django.utils import timezone

from providers.resolve import check_usable
from runs import attachments, snapshots
from runs.announce import announce_message_after_commit, announce_stop_after_commit
from runs.frames import DEFAULT_STOP_REASON
from runs.models import (
    ACTIVE_STATUSES,
    DRIVEN_STATUSES,
    INPUT,
    TERMINAL_STATUSES,
    TOOL_APPROVAL,
    TRANSITIONS,
    Attachment,
    Message,
    Run,
    RunStatus,
    Session,
    allowed_sources,
)
from traces import telemetry
from traces.usage import budget_refusal

MULTIMODAL = "MultiModalMessage"  # a message with files (AutoGen's type for text with images)


class RunStateError(Exception):
    """A status change that the run's state machine does not allow."""


def transition(
    *, run_id: int, to: str, expected: Iterable[str] | None = None, where: dict[str, Any] | None = None, **fields: Any
) -> bool:
    """Move a run to `to` if it is in one of `expected` (default: every legal source).

    Returns False when the run was not in an expected state (someone else moved
    it first) or did not match the extra `where` filter. Raises RunStateError
    for a move the state machine forbids.
    """
    sources = _sources(to, expected)
    if not sources:  # no state moves to `to` (created): nothing to update
        updated = 0
    elif where is None and not any(isinstance(value, Combinable) for value in fields.values()):
        # Written out (a start, a stop, a wait): compiling the ORM's UPDATE cost more CPU than running it.
        sql, params = _update_sql(run_id, to, sources, fields)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            updated = cursor.rowcount
    else:
        updated = Run.objects.filter(id=run_id, status__in=sources, **(where or {})).update(status=to, **fields)
    if updated:
        return True
    _explain_no_move(run_id, to, expected)
    return False


class IfUnset:
    """A value for `transition_returning` that only fills a column still NULL (COALESCE)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class Plus:
    """A value for `transition_returning` that adds to the column (a counter)."""

    def __init__(self, amount: int) -> None:
        self.amount = amount


def transition_returning(*, run_id: int, to: str, expected: Iterable[str], **fields: Any) -> Run | None:
    """`transition` as one `UPDATE ... RETURNING`: the moved run, or None when it was not in `expected`.

    For the moves every run makes once on the worker's hot path (claim, end), each followed by a read
    of the run: QuerySet.update() cannot return the row, and compiling the ORM's UPDATE and SELECT
    costs more CPU than running them. PostgreSQL and SQLite >= 3.35.
    """
    sql, params = _update_sql(run_id, to, _sources(to, expected), fields)
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} RETURNING {_run_columns(connection.vendor)}", params)
        row = cursor.fetchone()
    if row is not None:
        return _run_of_row(row)
    _explain_no_move(run_id, to, expected)
    return None


def _update_sql(run_id: int, to: str, sources: Iterable[str], fields: dict[str, Any]) -> tuple[str, list[Any]]:
    """The UPDATE moving the run to `to` from one of `sources`, setting `fields` (IfUnset, Plus or values)."""
    qn = connection.ops.quote_name
    assignments, params = [f"{qn('status')} = %s"], [to]
    for name, value in fields.items():
        field = cast("Field[Any, Any]", Run._meta.get_field(name))
        column = qn(field.column)
        if isinstance(value, IfUnset):
            assignments.append(f"{column} = COALESCE({column}, %s)")
            value = value.value
        elif isinstance(value, Plus):
            assignments.append(f"{column} = {column} + %s")
            value = value.amount
        else:
            assignments.append(f"{column} = %s")
        params.append(field.get_db_prep_save(value, connection))
    states = sorted(sources)
    sql = (
        f"UPDATE {qn(Run._meta.db_table)} SET {', '.join(assignments)} WHERE {qn('id')} = %s"
        f" AND {qn('status')} IN ({', '.join(['%s'] * len(states))})"
    )
    return sql, [*params, run_id, *states]


def _run_of_row(row: Sequence[Any]) -> Run:
    """A Run from a row of its concrete columns in order, converted as a queryset would (JSON decoded,
    SQLite's datetimes parsed): Run.objects.raw() resolves columns and converters on every call."""
    values = list(row)
    for index, column, converters in _run_converters(connections[connection.alias]):
        value = values[index]
        for convert in converters:
            value = convert(value, column, connection)
        values[index] = value
    return Run.from_db(connection.alias, _RUN_ATTNAMES, values)


_RUN_ATTNAMES = [f.attname for f in Run._meta.concrete_fields]


@functools.cache
def _run_columns(vendor: str) -> str:
    """RETURNING's column list (by vendor: each quotes names its own way)."""
    qn = connection.ops.quote_name
    return ", ".join(qn(f.column) for f in Run._meta.concrete_fields)


_converters: weakref.WeakKeyDictionary[BaseDatabaseWrapper, list[tuple[int, Col, list[Any]]]] = (
    weakref.WeakKeyDictionary()
)


def _run_converters(wrapper: BaseDatabaseWrapper) -> list[tuple[int, Col, list[Any]]]:
    """The converters of Run's columns for one thread's connection (the backend's bind to it)."""
    found = _converters.get(wrapper)
    if found is None:
        found = []
        for index, field in enumerate(Run._meta.concrete_fields):
            column = field.get_col(Run._meta.db_table)
            converters = wrapper.ops.get_db_converters(column) + column.get_db_converters(wrapper)
            if converters:
                found.append((index, column, converters))
        _converters[wrapper] = found
    return found


def _sources(to: str, expected: Iterable[str] | None) -> frozenset[str]:
    legal = allowed_sources(to)
    sources = legal if expected is None else frozenset(expected)
    if not sources <= legal:
        bad = ", ".join(sorted(sources - legal))
        raise RunStateError(f"a run cannot move from {bad} to {to}")
    return sources


def _explain_no_move(run_id: int, to: str, expected: Iterable[str] | None) -> None:
    """After an UPDATE that moved nothing: raise if the run is gone or the move is illegal from where it is."""
    current = Run.objects.filter(id=run_id).values_list("status", flat=True).first()
    if current is None:
        raise Run.DoesNotExist(f"run {run_id} does not exist")
    if expected is None and to not in TRANSITIONS[current]:
        raise RunStateError(f"run {run_id} is {current}; it cannot move to {to}")


# ------------------------------------------------------------------ creation


def session_create(*, owner: Any, name: str, team: Any = None, carry_context: bool = False) -> Session:
    return Session.objects.create(owner=owner, name=name, team=team, carry_context=carry_context)


def session_delete(*, session: Session) -> None:
    """Delete a session with its runs, their messages and their attachments' files in storage."""
    sessions_delete(sessions=Session.objects.filter(id=session.id))


def sessions_delete(*, sessions: QuerySet[Session]) -> None:
    # The attachments' files go after commit (runs.attachments.remove_file_after_commit, on post_delete).
    sessions.delete()


def runs_delete(*, runs: QuerySet[Run]) -> None:
    """Delete runs with their messages and their attachments' files (the admin's delete)."""
    runs.delete()


def run_create(
    *,
    owner: Any,
    team_config: dict[str, Any],
    team: Any = None,
    session: Session | None = None,
    task: str = "",
    team_version: int | None = None,
    model_override: dict[str, Any] | None = None,
) -> Run:
    """A `created` run; `team_config` is its snapshot (runs.snapshots chooses it). TeamConfigError when
    it names a model provider the owner cannot use (a shared team naming its owner's private one)."""
    check_usable(team_config, owner.pk)
    return Run.objects.create(
        owner=owner,
        team=team,
        team_config=team_config,
        team_version=team_version,
        model_override=model_override,
        session=session,
        task=task,
    )


def run_enqueue(*, run_id: int, task: str, files: Sequence[Attachment] = (), note: str = "") -> bool:
    """created -> queued with its task stored as message 1 (a MultiModalMessage with `files`, stored
    attachments of the run; `note` says which agents do not see its images); the caller dispatches after commit."""
    # No savepoint inside run_start's transaction: an error anywhere aborts the whole start anyway,
    # and each savepoint is two more round trips on every run's start.
    with transaction.atomic(savepoint=False):
        now = timezone.now()
        if not transition(run_id=run_id, to=RunStatus.QUEUED, expected=[RunStatus.CREATED], task=task, queued_at=now):
            return False
        message = message_append(
            run_id=run_id,
            source="user",
            type=MULTIMODAL if files else "TextMessage",
            content=task,
            metadata={"note": note} if note else None,
            attachments=[attachments.describe(a) for a in files],
        )
        if files:
            Attachment.objects.filter(id__in=[a.id for a in files]).update(message=message)
        traceparent = telemetry.run_queued(run_id, now)
        announce_message_after_commit(run_id, message, with_status=False)
        _dispatch_on_commit(run_id, traceparent)
    return True


class TooManyActiveRuns(Exception):
    """The user already has RUN_MAX_ACTIVE_PER_USER runs queued, running or waiting."""


class MonthlyBudgetSpent(TooManyActiveRuns):
    """The owner's monthly budget is spent: refused like a run past the cap (429), with its own message."""


def check_active_limit(run_id: int, *, queued: bool = False) -> None:
    """Raise TooManyActiveRuns when the run's owner is at the cap (one query). `queued`: this transaction
    has queued the run already, so the count includes it."""
    from django.conf import settings

    limit = settings.RUN_MAX_ACTIVE_PER_USER
    others = _count_owners_active_runs(run_id) - (1 if queued else 0)
    if others >= limit:
        raise TooManyActiveRuns(
            f"You already have {others} active runs (the limit is {limit}); stop one or wait for one to finish."
        )


def check_budget(run_id: int) -> None:
    """Raise MonthlyBudgetSpent when the owner's monthly budget is used up (one query, and a sum only
    when a budget applies)."""
    refusal = budget_refusal(run_id)
    if refusal is not None:
        raise MonthlyBudgetSpent(refusal)


def _count_owners_active_runs(run_id: int) -> int:
    """Active runs of the run's owner, in one raw SELECT: every run start pays for it on the web
    server's threads, and the ORM's subquery and count() cost several times the query itself.

    On PostgreSQL the owner's starts first queue on a lock held to the end of the transaction: two
    starts counting at once would each see room for one more and both pass the cap (12 simultaneous
    starts passed a cap of 10). SQLite writes one transaction at a time already."""
    qn, table = connection.ops.quote_name, connection.ops.quote_name(Run._meta.db_table)
    owner_of_run = f"(SELECT {qn('owner_id')} FROM {table} WHERE {qn('id')} = %s)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # a separate statement: the count's snapshot must follow the lock
            cursor.execute(
                f"SELECT pg_advisory_xact_lock(hashtextextended('run-start:' || {owner_of_run}, 0))", [run_id]
            )
        statuses = sorted(ACTIVE_STATUSES)
        cursor.execute(
            f"SELECT COUNT(*) FROM {table} WHERE {qn('owner_id')} = {owner_of_run}"
            f" AND {qn('status')} IN ({', '.join(['%s'] * len(statuses))})",
            [run_id, *statuses],
        )
        return int(cursor.fetchone()[0])


def run_start(
    *,
    run_id: int,
    task: str,
    team_config: dict[str, Any] | None = None,
    team_version: int | None = None,
    model_override: dict[str, Any] | None = None,
    files: Sequence[attachments.Upload] = (),
) -> None:
    """Start a created run with its task, first replacing its snapshot when asked: a config sent inline
    (ours or AutoGen's) or a version of its team, and/or a model override on top (runs.snapshots).
    `files` are checked (runs.attachments) before anything is written and stored with the task.

    Raises AttachmentError for a refused file, TeamConfigError for a bad config or choice,
    TooManyActiveRuns past the per-user cap, and RunStateError when the run was already started;
    the run then stays as it was and no file is kept.
    """
    checked = attachments.check(owner_id=_owner_id(run_id), uploads=files) if files else []
    stored: list[Attachment] = []
    try:
        # No row lock and no read of the run first: the conditional UPDATEs refuse a run that is not
        # `created` (two starts racing: one wins), and the reads are only for the error message.
        with transaction.atomic():
            check_budget(run_id)
            if team_config is not None or team_version is not None or model_override is not None:
                _choose_snapshot(
                    run_id, team_config=team_config, team_version=team_version, model_override=model_override
                )
            note = ""
            if checked:
                stored = attachments.store(run_id=run_id, message_id=None, files=checked)
                config = Run.objects.filter(id=run_id).values_list("team_config", flat=True).first() or {}
                note = attachments.vision_note(config, stored)
            if not run_enqueue(run_id=run_id, task=task, files=stored, note=note):
                status = Run.objects.filter(id=run_id).values_list("status", flat=True).first()
                if status is None:
                    raise Run.DoesNotExist(f"run {run_id} does not exist")
                raise RunStateError(f"run {run_id} was already started (it is {status})")
            # Last: on PostgreSQL the count waits for the owner's start lock, held to the commit, so
            # the owner's simultaneous starts queue for this count and the commit only, not the whole start.
            check_active_limit(run_id, queued=True)
    except BaseException:
        attachments.delete_files(a.file.name for a in stored)  # the rows rolled back; storage does not
        raise


def _owner_id(run_id: int) -> int:
    owner_id = Run.objects.filter(id=run_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        raise Run.DoesNotExist(f"run {run_id} does not exist")
    return owner_id


def _choose_snapshot(run_id: int, **choice: Any) -> None:
    """Replace the snapshot of a run that has not started yet (a `start` carrying a config or a version)."""
    run = Run.objects.select_related("team").get(id=run_id)
    current = snapshots.Snapshot(run.team_config, run.team_version, run.model_override)
    chosen = snapshots.choose(current=current, team=run.team, owner=run.owner_id, **choice)
    check_usable(chosen.config, run.owner_id)
    Run.objects.filter(id=run_id, status=RunStatus.CREATED).update(
        team_config=chosen.config, team_version=chosen.team_version, model_override=chosen.model_override
    )


def _dispatch_on_commit(run_id: int, traceparent: str = "") -> None:
    from runs import dispatch  # the one import cycle by design: the executor calls these services

    transaction.on_commit(lambda: dispatch.dispatch(run_id, traceparent))


# ------------------------------------------------------------------ forks


class ForkError(ValueError):
    """A fork the parent cannot give: `path` names the request field at fault."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(message)
        self.path = path


def run_fork(
    *,
    parent: Run,
    after_seq: int,
    team_config: dict[str, Any] | None = None,
    team_version: int | None = None,
    model_override: dict[str, Any] | None = None,
    edit_seq: int | None = None,
    edit_content: str | None = None,
) -> Run:
    """A new run whose transcript is a copy of the parent's messages 1..after_seq (one of them
    replaced by `edit_content` when `edit_seq` is given), queued at once: the executor resumes
    it from that transcript exactly as it resumes any run.

    The snapshot is the parent's unless a team version, an inline config or a model override is
    given (runs.snapshots). Raises ForkError, TeamConfigError and TooManyActiveRuns.
    """
    if not 1 <= after_seq <= parent.last_seq:
        raise ForkError("after_seq", f"run {parent.id} has messages 1 to {parent.last_seq}")
    with transaction.atomic():
        prefix = list(Message.objects.filter(run_id=parent.id, seq__lte=after_seq).order_by("seq"))
        if edit_seq is not None:
            _edit(prefix, after_seq, edit_seq, edit_content or "")
        current = snapshots.Snapshot(parent.team_config, parent.team_version, parent.model_override)
        chosen = snapshots.choose(
            current=current,
            team=parent.team,
            owner=parent.owner_id,
            team_config=team_config,
            team_version=team_version,
            model_override=model_override,
        )
        check_usable(chosen.config, parent.owner_id)
        run = Run.objects.create(
            owner_id=parent.owner_id,
            session_id=parent.session_id,
            team_id=parent.team_id,
            team_config=chosen.config,
            team_version=chosen.team_version,
            model_override=chosen.model_override,
            task=str(prefix[0].content) if prefix and isinstance(prefix[0].content, str) else parent.task,
            parent=parent,
            fork_after_seq=after_seq,
            fork_edited_seq=edit_seq,
            last_seq=after_seq,
        )
        Message.objects.bulk_create(_copy(message, run.id) for message in prefix)
        check_budget(run.id)
        check_active_limit(run.id)
        now = timezone.now()
        transition(run_id=run.id, to=RunStatus.QUEUED, expected=[RunStatus.CREATED], queued_at=now)
        _dispatch_on_commit(run.id, telemetry.run_queued(run.id, now))
    return run


def _edit(prefix: list[Message], after_seq: int, seq: int, content: str) -> None:
    if not 1 <= seq <= after_seq:
        raise ForkError("edit.seq", f"the edited message must be one the fork keeps (1 to {after_seq})")
    message = prefix[seq - 1]
    if not isinstance(message.content, str):
        raise ForkError("edit.seq", f"message {seq} is a {message.type}, not text; only text can be edited")
    message.content = content
    message.partial = False


def _copy(message: Message, run_id: int) -> Message:
    return Message(
        run_id=run_id,
        seq=message.seq,
        source=message.source,
        type=message.type,
        content=message.content,
        models_usage=message.models_usage,
        metadata=message.metadata,
        partial=message.partial,
        target=message.target,
        attachments=message.attachments,  # the parent's files: same owner, same session
    )


def run_retry(*, run: Run) -> Run:
    """Fork a failed or stopped run from its last complete message (a partial one is produced again)."""
    if run.status not in (RunStatus.ERROR, RunStatus.STOPPED):
        raise RunStateError(f"run {run.id} is {run.status}; only a failed or stopped run is retried")
    last = Message.objects.filter(run_id=run.id, partial=False).order_by("-seq").values_list("seq", flat=True).first()
    if last is None:
        raise RunStateError(f"run {run.id} has no complete message to start again from")
    return run_fork(parent=run, after_seq=last)


# ------------------------------------------------------------------ execution


def run_claim(*, run_id: int, worker: str, lease_seconds: float) -> Run | None:
    """queued -> running for one worker: the claimed run; a loser of the race gets None and walks away."""
    now = timezone.now()
    return transition_returning(
        run_id=run_id,
        to=RunStatus.RUNNING,
        expected=[RunStatus.QUEUED],
        lease_owner=worker,
        lease_expires_at=now + timedelta(seconds=lease_seconds),
        started_at=IfUnset(now),  # the first claim's time
        attempt=Plus(1),
    )


def run_renew_lease(*, run_id: int, worker: str, lease_seconds: float) -> bool:
    """Extend the lease while the worker still owns a live run (also while it is stopping)."""
    return bool(
        Run.objects.filter(id=run_id, lease_owner=worker, status__in=DRIVEN_STATUSES).update(
            lease_expires_at=timezone.now() + timedelta(seconds=lease_seconds)
        )
    )


def run_heartbeat(*, run_id: int, worker: str, lease_seconds: float) -> str | None:
    """Renew the lease; return the run's status, or None when this worker no longer owns the run."""
    if not run_renew_lease(run_id=run_id, worker=worker, lease_seconds=lease_seconds):
        return None
    return Run.objects.filter(id=run_id).values_list("status", flat=True).first()


# Every move that takes a run away from its worker (an end, a hand-back, a wait for input) drops the lease.
_NO_LEASE: dict[str, Any] = {"lease_owner": "", "lease_expires_at": None}


def run_recover_expired(*, run_id: int, max_attempts: int) -> str | None:
    """The sweep's move for a run whose worker's lease expired. Returns the new status, or None if raced.

    running -> queued to resume from the stored transcript, or -> error after
    `max_attempts`; stopping -> stopped (the stop was asked for; the worker died doing it).
    """
    now = timezone.now()
    expired = {"lease_expires_at__lt": now}
    if transition(
        run_id=run_id, to=RunStatus.STOPPED, expected=[RunStatus.STOPPING], where=expired, finished_at=now, **_NO_LEASE
    ):
        telemetry.ended_elsewhere(run_id, RunStatus.STOPPED)
        return RunStatus.STOPPED
    attempts = Run.objects.filter(id=run_id).values_list("recovery_attempts", flat=True).first() or 0
    if attempts >= max_attempts:
        error = f"The worker running this run stopped responding {attempts + 1} times; the run was given up."
        if transition(
            run_id=run_id,
            to=RunStatus.ERROR,
            expected=[RunStatus.RUNNING],
            where=expired,
            error=error,
            finished_at=now,
            **_NO_LEASE,
        ):
            telemetry.ended_elsewhere(run_id, RunStatus.ERROR, error)
            return RunStatus.ERROR
        return None
    with transaction.atomic():
        if transition(
            run_id=run_id,
            to=RunStatus.QUEUED,
            expected=[RunStatus.RUNNING],
            where=expired,
            recovery_attempts=F("recovery_attempts") + 1,
            queued_at=now,
            **_NO_LEASE,
        ):
            _dispatch_on_commit(run_id)
            return RunStatus.QUEUED
    return None


def run_redispatch(*, run_id: int, queued_before: datetime) -> bool:
    """Hand a queued run whose dispatch got lost (a restarted server, a lost broker message, a broker
    that refused it) out again.

    Claiming is conditional, so a duplicate dispatch is harmless: the loser returns.
    """
    with transaction.atomic():
        handed_out_before = Q(queued_at__lt=queued_before) | Q(queued_at__isnull=True)
        moved = bool(
            Run.objects.filter(handed_out_before, id=run_id, status=RunStatus.QUEUED).update(queued_at=timezone.now())
        )
        if moved:
            _dispatch_on_commit(run_id)
    return moved


def run_dispatch_failed(*, run_id: int) -> bool:
    """The broker did not take a queued run: it was never handed out, so the next sweep dispatches it."""
    return bool(Run.objects.filter(id=run_id, status=RunStatus.QUEUED).update(queued_at=None))


def run_release_lease(*, run_id: int, worker: str) -> bool:
    """A worker shutting down hands the run back to the queue so another one resumes it."""
    return transition(
        run_id=run_id,
        to=RunStatus.QUEUED,
        expected=[RunStatus.RUNNING],
        where={"lease_owner": worker},
        **_NO_LEASE,
        queued_at=timezone.now(),
    )


def run_await_input(
    *,
    run_id: int,
    prompt: str,
    source: str,
    deadline: datetime | None = None,
    usage: dict[str, Any] | None = None,
    kind: str = INPUT,
    data: dict[str, Any] | None = None,
) -> str | None:
    """running -> awaiting_input; stores the request and frees the worker. Returns the request id.

    `kind` is what the run waits for: a human's answer (INPUT), or a decision on the tool call
    described by `data` (TOOL_APPROVAL: agent, call_id, tool, server, arguments, schema)."""
    request_id = uuid.uuid4().hex
    extra = {"usage": usage} if usage is not None else {}
    moved = transition(
        run_id=run_id,
        to=RunStatus.AWAITING_INPUT,
        expected=[RunStatus.RUNNING],
        input_request_id=request_id,
        input_prompt=prompt,
        input_source=source,
        input_deadline=deadline,
        input_kind=kind,
        input_data=data,
        **_NO_LEASE,
        **extra,
    )
    return request_id if moved else None


def run_submit_input(*, run_id: int, response: str, request_id: str | None = None) -> Message:
    """Store the human's answer as the asking agent's message and queue the run to resume."""
    return _answer(run_id, request_id, INPUT, lambda run: {"type": "TextMessage", "content": response})


class ApprovalRefused(ValueError):
    """A decision that cannot be taken as sent (edited arguments that do not fit the tool's schema);
    `errors` name the paths. The request stays open."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e['path']}: {e['message']}" for e in errors))


def run_submit_approval(
    *,
    run_id: int,
    request_id: str | None,
    decision: str,
    by: str,
    arguments: dict[str, Any] | None = None,
    reason: str = "",
) -> Message:
    """Store a person's decision on the pending tool call as the agent's message and queue the run to
    resume (the call runs with `arguments` when they were edited; a rejection's reason is its result)."""

    def decided(run: Run) -> dict[str, Any]:
        call = run.input_data or {}
        edited = arguments is not None and decision == "approve" and arguments != call.get("arguments")
        if edited:
            _check_arguments(arguments, call.get("schema") or {})
        content = {
            "call_id": call.get("call_id", ""),
            "tool": call.get("tool", ""),
            "server": call.get("server", ""),
            "decision": decision,
            "arguments": arguments if edited else call.get("arguments", {}),
            "edited": edited,
            "reason": reason,
            "by": by,
            "at": timezone.now().isoformat(),
        }
        return {"type": "ToolApprovalEvent", "content": content}

    return _answer(run_id, request_id, TOOL_APPROVAL, decided)


def _check_arguments(arguments: Any, schema: dict[str, Any]) -> None:
    if not isinstance(arguments, dict):
        raise ApprovalRefused([{"path": "arguments", "message": "the arguments must be a JSON object"}])
    validator = jsonschema.Draft202012Validator(schema)
    problems = sorted(validator.iter_errors(arguments), key=lambda e: list(e.absolute_path))
    if problems:
        raise ApprovalRefused(
            [{"path": ".".join(["arguments", *map(str, e.absolute_path)]), "message": e.message} for e in problems]
        )


def _answer(run_id: int, request_id: str | None, kind: str, message: Callable[[Run], dict[str, Any]]) -> Message:
    """The one way a waiting run is answered (a human's text, a decision on a tool call): store the answer
    as the asking agent's message, queue the run, tell the watchers, then dispatch."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(id=run_id)
        if run.status != RunStatus.AWAITING_INPUT:
            raise RunStateError(f"run {run_id} is {run.status}; it is not waiting for input")
        if (run.input_kind or INPUT) != kind:
            waiting = "a tool call approval" if run.input_kind == TOOL_APPROVAL else "an answer"
            raise RunStateError(f"run {run_id} is waiting for {waiting}")
        if request_id and request_id != run.input_request_id:
            raise RunStateError("that input request is no longer pending")
        fields = message(run)  # may refuse the answer (ApprovalRefused): nothing moved yet
        source = run.input_source or "user"
        if not transition(
            run_id=run_id,
            to=RunStatus.QUEUED,
            expected=[RunStatus.AWAITING_INPUT],
            input_request_id="",
            input_prompt="",
            input_source="",
            input_deadline=None,
            input_kind="",
            input_data=None,
            queued_at=timezone.now(),
        ):
            raise RunStateError(f"run {run_id} is no longer waiting for input")
        stored = message_append(run_id=run_id, source=source, **fields)
        # Watchers see the answer before the resumed run's first frame: announce, then dispatch.
        announce_message_after_commit(run_id, stored, with_status=True)
        _dispatch_on_commit(run_id)
        return stored


def run_complete(*, run_id: int, stop_reason: str, usage: dict[str, Any]) -> Run | None:
    """running -> complete: the finished run, or None when it was no longer running (a stop came first)."""
    return transition_returning(
        run_id=run_id,
        to=RunStatus.COMPLETE,
        expected=[RunStatus.RUNNING],
        stop_reason=stop_reason,
        usage=usage,
        finished_at=timezone.now(),
        **_NO_LEASE,
    )


def run_fail(*, run_id: int, error: str, usage: dict[str, Any] | None = None) -> Run | None:
    """Any live state -> error: the failed run, or None if it had already finished."""
    fields: dict[str, Any] = {
        "error": error,
        "finished_at": timezone.now(),
        **_NO_LEASE,
    }
    if usage is not None:
        fields["usage"] = usage
    return transition_returning(
        run_id=run_id,
        to=RunStatus.ERROR,
        expected=allowed_sources(RunStatus.ERROR),
        **fields,
    )


def run_request_stop(*, run_id: int, reason: str) -> str:
    """Two-phase stop. Returns the status the run moved to ("stopping" or "stopped").

    A run with a worker goes to `stopping` (the worker finishes the stop); one
    that is created, queued or awaiting input has nothing to interrupt and stops
    directly. A finished run raises RunStateError.
    """
    reason = reason or DEFAULT_STOP_REASON
    status = _request_stop(run_id, reason)
    if status == RunStatus.STOPPED:  # nobody was driving it: its trace ends here
        telemetry.ended_elsewhere(run_id, status)
    announce_stop_after_commit(run_id, status)
    return status


def _request_stop(run_id: int, reason: str) -> str:
    now = timezone.now()
    direct = [RunStatus.CREATED, RunStatus.QUEUED, RunStatus.AWAITING_INPUT]
    if transition(
        run_id=run_id,
        to=RunStatus.STOPPED,
        expected=direct,
        stop_reason=reason,
        finished_at=now,
        input_request_id="",
        input_deadline=None,
    ):
        return RunStatus.STOPPED
    if transition(run_id=run_id, to=RunStatus.STOPPING, expected=[RunStatus.RUNNING], stop_reason=reason):
        return RunStatus.STOPPING
    current = Run.objects.filter(id=run_id).values_list("status", flat=True).get()
    if current == RunStatus.STOPPING:
        return RunStatus.STOPPING
    if current in TERMINAL_STATUSES:
        raise RunStateError(f"run {run_id} is already {current}")
    # It moved between our two updates (e.g. running -> awaiting_input): try again.
    return _request_stop(run_id, reason)


def run_finish_stopped(*, run_id: int, usage: dict[str, Any] | None = None) -> Run | None:
    """stopping -> stopped, by the worker once the stream is closed and the partial text stored."""
    fields: dict[str, Any] = {"finished_at": timezone.now(), **_NO_LEASE}
    if usage is not None:
        fields["usage"] = usage
    return transition_returning(run_id=run_id, to=RunStatus.STOPPED, expected=[RunStatus.STOPPING], **fields)


# ------------------------------------------------------------------ messages


class LeaseLost(Exception):
    """The worker no longer owns the run (the sweep gave it to another worker, or it finished)."""


def message_append(
    *,
    run_id: int,
    source: str,
    type: str,
    content: Any,
    models_usage: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    partial: bool = False,
    target: str = "",
    attachments: list[dict[str, Any]] | None = None,
    worker: str | None = None,
) -> Message:
    """Store a completed message under the run's next seq.

    The UPDATE of last_seq takes the run's row lock until commit, so concurrent
    appenders serialize on it and seqs stay unique and gapless. With `worker`,
    the append only happens while that worker holds the run's lease: a worker
    the sweep gave up on cannot write into the transcript its successor resumes.
    """
    message = Message(
        run_id=run_id,
        source=source,
        type=type,
        content=content,
        models_usage=models_usage,
        metadata=metadata or {},
        partial=partial,
        target=target,
        attachments=attachments or [],
        created_at=timezone.now(),
    )
    if connection.vendor == "postgresql":
        stored = _insert_next(message, worker)
    else:
        with transaction.atomic(savepoint=False):  # inside a caller's transaction: its all-or-nothing
            seq = _next_seq(run_id, worker)
            if seq is not None:
                message.seq = seq
                message.save(force_insert=True)
        stored = seq is not None
    if not stored:
        if worker is not None:
            raise LeaseLost(f"worker {worker} no longer holds run {run_id}")
        raise Run.DoesNotExist(f"run {run_id} does not exist")
    return message


def _lease_condition(worker: str | None) -> tuple[str, list[Any]]:
    """The WHERE clause an append adds for a worker: it still holds the lease of a run being driven."""
    if worker is None:
        return "", []
    qn, driven = connection.ops.quote_name, sorted(DRIVEN_STATUSES)
    sql = f" AND {qn('lease_owner')} = %s AND {qn('status')} IN ({', '.join(['%s'] * len(driven))})"
    return sql, [worker, *driven]


def _insert_next(message: Message, worker: str | None) -> bool:
    """Take the run's next seq and insert the message under it in one statement (False: no such run,
    or not held by `worker`): in autocommit that is one round trip where BEGIN, UPDATE, INSERT and
    COMMIT were four, each a wait for PostgreSQL on the store's path."""
    qn = connection.ops.quote_name
    fields = [f for f in Message._meta.concrete_fields if f.name not in ("id", "seq")]
    columns = ", ".join(qn(f.column) for f in fields)
    lease, lease_params = _lease_condition(worker)
    sql = (
        f"WITH next AS (UPDATE {qn(Run._meta.db_table)} SET {qn('last_seq')} = {qn('last_seq')} + 1"
        f" WHERE {qn('id')} = %s{lease} RETURNING {qn('last_seq')})"
        f" INSERT INTO {qn(Message._meta.db_table)} ({qn('seq')}, {columns})"
        f" SELECT {qn('last_seq')}, {', '.join(['%s'] * len(fields))} FROM next RETURNING {qn('id')}, {qn('seq')}"
    )
    values = [f.get_db_prep_save(getattr(message, f.attname), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, [message.run_id, *lease_params, *values])
        row = cursor.fetchone()
    if row is None:
        return False
    message.id, message.seq = row
    return True


def _next_seq(run_id: int, worker: str | None) -> int | None:
    """Take the run's next seq (None: no such run, or not held by `worker`), where `_insert_next`'s
    data-modifying WITH is not supported (SQLite >= 3.35 has `UPDATE ... RETURNING`)."""
    table, qn = Run._meta.db_table, connection.ops.quote_name
    lease, params = _lease_condition(worker)
    sql = f"UPDATE {qn(table)} SET {qn('last_seq')} = {qn('last_seq')} + 1 WHERE {qn('id')} = %s{lease}"
    with connection.cursor() as cursor:
        cursor.execute(sql + f" RETURNING {qn('last_seq')}", [run_id, *params])
        row = cursor.fetchone()
    return row[0] if row else None
