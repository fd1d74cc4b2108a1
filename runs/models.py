"""Sessions, runs and their messages. The run is a durable state machine.

`Run.status` is written only by runs/services.py, through a conditional UPDATE
on the legal source states declared in TRANSITIONS below.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models


class RunStatus(models.TextChoices):
    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    AWAITING_INPUT = "awaiting_input"
    STOPPING = "stopping"
    COMPLETE = "complete"
    ERROR = "error"
    STOPPED = "stopped"


S = RunStatus
# Legal moves, as data. RUNNING -> QUEUED is crash recovery (an expired lease
# re-dispatched); AWAITING_INPUT -> QUEUED is an answered input request.
TRANSITIONS: dict[str, frozenset[str]] = {
    S.CREATED: frozenset({S.QUEUED, S.STOPPED, S.ERROR}),
    S.QUEUED: frozenset({S.RUNNING, S.STOPPED, S.ERROR}),
    S.RUNNING: frozenset({S.AWAITING_INPUT, S.STOPPING, S.COMPLETE, S.ERROR, S.QUEUED}),
    S.AWAITING_INPUT: frozenset({S.QUEUED, S.STOPPED, S.ERROR}),
    S.STOPPING: frozenset({S.STOPPED, S.ERROR}),
    S.COMPLETE: frozenset(),
    S.ERROR: frozenset(),
    S.STOPPED: frozenset(),
}
TERMINAL_STATUSES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
ACTIVE_STATUSES = frozenset({S.QUEUED, S.RUNNING, S.AWAITING_INPUT, S.STOPPING})
DRIVEN_STATUSES = frozenset({S.RUNNING, S.STOPPING})  # a worker holds the lease and streams


# What an awaiting_input run waits for (Run.input_kind).
INPUT = "input"
TOOL_APPROVAL = "tool_approval"


def allowed_sources(target: str) -> frozenset[str]:
    return frozenset(source for source, targets in TRANSITIONS.items() if target in targets)


class Session(models.Model):
    """A chat thread: each task sent in it is a Run."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_sessions")
    team = models.ForeignKey("agents_app.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(max_length=200)
    carry_context = models.BooleanField(
        default=False, help_text="Give each new run the transcripts of the earlier runs in this session."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class Run(models.Model):
    session = models.ForeignKey(Session, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="runs")
    team = models.ForeignKey("agents_app.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    team_config = models.JSONField(help_text="Snapshot of the team config, frozen when the run was created.")
    team_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The team version the snapshot was taken from (null: a config sent inline)."
    )
    model_override = models.JSONField(
        null=True, blank=True, help_text="The model override applied to the snapshot when the run was started."
    )
    # A fork starts from a copy of its parent's messages 1..fork_after_seq (fork_edited_seq: one replaced).
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="forks")
    fork_after_seq = models.PositiveIntegerField(null=True, blank=True)
    fork_edited_seq = models.PositiveIntegerField(null=True, blank=True)
    task = models.TextField(blank=True, default="")
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.CREATED, db_index=True)
    stop_reason = models.TextField(blank=True, default="")
    error = models.TextField(blank=True, default="")
    usage = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="Last time the run was handed to an executor.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Crash recovery: the worker driving the run holds a lease and renews it.
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True, db_index=True)
    recovery_attempts = models.PositiveIntegerField(default=0)
    # Executions so far (each claim adds one): streamed chunks carry it, so a watcher can tell a
    # message regenerated from its start by a resumed run from the text it was shown before.
    attempt = models.PositiveIntegerField(default=0)
    # The pending human input request, if the run is awaiting_input.
    input_request_id = models.CharField(max_length=64, blank=True, default="")
    input_prompt = models.TextField(blank=True, default="")
    input_source = models.CharField(max_length=200, blank=True, default="")
    input_deadline = models.DateTimeField(null=True, blank=True)
    # What the pending request asks for: a human's answer (input), or a decision on a tool call
    # (tool_approval, whose agent, tool, server, arguments and argument schema are in input_data).
    input_kind = models.CharField(max_length=20, blank=True, default="")
    input_data = models.JSONField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        # A user's run list and a session's runs read these in order: an index seek per page, not a sort
        # of the whole history (10,000 runs: docs/benchmarks.md).
        indexes = [
            models.Index(fields=["owner", "status"]),
            models.Index(fields=["owner", "-created_at", "-id"], name="run_owner_newest"),
            models.Index(fields=["session", "created_at", "id"], name="run_session_oldest"),
        ]

    def __str__(self) -> str:
        return f"Run {self.pk} ({self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def input_request(self) -> dict[str, Any] | None:
        """The pending human input request, while the run is waiting for one."""
        if self.status != RunStatus.AWAITING_INPUT or not self.input_request_id:
            return None
        return {
            "id": self.input_request_id,
            "prompt": self.input_prompt,
            "source": self.input_source,
            "deadline": self.input_deadline,
            "kind": self.input_kind or INPUT,
            "tool_call": self.input_data if self.input_kind == TOOL_APPROVAL else None,
        }

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class Message(models.Model):
    """One completed message of a run; `seq` is its place in the run, unique and gapless."""

    # No index of its own: unique_seq_per_run's (run_id, seq) serves every lookup by run, in seq order.
    # PostgreSQL preferred the smaller run_id index and sorted a long run's rows (on disk at 20,000).
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="messages", db_index=False)
    seq = models.PositiveIntegerField()
    source = models.CharField(max_length=200)
    type = models.CharField(max_length=64, default="TextMessage")
    content = models.JSONField()
    models_usage = models.JSONField(null=True, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    partial = models.BooleanField(default=False, help_text="Text kept from a stream cut short by a stop.")
    target = models.CharField(
        max_length=200, blank=True, default="", help_text="Whom a HandoffMessage hands over to; empty otherwise."
    )
    # The files of a MultiModalMessage, as descriptors (runs.attachments.describe): kept on the row so
    # showing a message never costs a query; the Attachment rows hold the files.
    attachments = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="unique_seq_per_run")]

    def __str__(self) -> str:
        return f"{self.run_id}#{self.seq} {self.source}: {self.type}"


def attachment_path(attachment: Attachment, filename: str) -> str:
    # A random name: the user's file name is kept in `name`, never trusted as a path.
    return f"attachments/{attachment.run_id}/{uuid.uuid4().hex}"


class AttachmentKind(models.TextChoices):
    IMAGE = "image"
    TEXT = "text"
    PDF = "pdf"
    FILE = "file"  # any other allowed type: the model is told its name and size


class Attachment(models.Model):
    """A file given with a run's message (the task, or an image a tool returned), in the default storage."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="attachments")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=attachment_path, max_length=300)
    name = models.CharField(max_length=255, help_text="The file's name as the user gave it.")
    content_type = models.CharField(max_length=100, help_text="Sniffed from the content, not taken from the name.")
    size = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=8, choices=AttachmentKind.choices)
    text = models.TextField(blank=True, default="", help_text="A text file's text, or a PDF's extracted text.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run_id", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.content_type}, run {self.run_id})"
