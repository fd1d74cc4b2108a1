"""Seed a user's history with many finished runs and messages: for load tests and `make bench`.

    python manage.py seed_history --username alice --sessions 100 --runs 10000 --messages 1000000
    python manage.py seed_history --username alice --long-run 2000 --team-config team.json

Rows are written in batches (bulk_create), so a million messages take a minute or two on
PostgreSQL; nothing is started or published. `--long-run N` adds one run waiting for a human
answer after N stored messages, ready to be resumed. Prints the ids it made as JSON.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from runs.models import Message, Run, RunStatus, Session

BATCH = 5_000
DEFAULT_CONFIG: dict[str, Any] = {
    "kind": "round_robin",
    "name": "seeded",
    "participants": [{"kind": "assistant", "name": "assistant", "model": {"provider": "scripted"}}],
    "termination": {"type": "max_message", "max_messages": 2},
}


class Command(BaseCommand):
    help = "Seed a user's history with finished runs and messages (load tests, make bench)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", required=True, help="created if missing")
        parser.add_argument("--sessions", type=int, default=0, help="sessions the runs are spread over (0: none)")
        parser.add_argument("--runs", type=int, default=0, help="finished runs")
        parser.add_argument("--messages", type=int, default=0, help="messages in all, spread evenly over the runs")
        parser.add_argument("--long-run", type=int, default=0, help="one run awaiting input after N messages")
        parser.add_argument("--team-config", type=Path, help="JSON team config of the seeded runs")

    def handle(self, *args: Any, **options: Any) -> None:
        runs, total = options["runs"], options["messages"]
        if min(runs, total, options["sessions"], options["long_run"]) < 0:
            raise CommandError("--sessions, --runs, --messages and --long-run must not be negative")
        if total and not runs:
            raise CommandError("--messages needs --runs to spread them over")
        config = DEFAULT_CONFIG
        if options["team_config"] is not None:
            try:
                config = json.loads(options["team_config"].read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"--team-config {options['team_config']}: {exc}") from None
        user, _ = get_user_model().objects.get_or_create(username=options["username"])
        sessions = seed_sessions(user, options["sessions"])
        run_ids = seed_runs(user, sessions, runs, total, config)
        out: dict[str, Any] = {"user_id": user.id, "sessions": [s.id for s in sessions], "runs": len(run_ids)}
        if run_ids:
            out["first_run"], out["last_run"] = run_ids[0], run_ids[-1]
        if options["long_run"]:
            out["long_run"] = seed_long_run(user, options["long_run"], config)
        self.stdout.write(json.dumps(out))


def seed_sessions(user: Any, count: int) -> list[Session]:
    return Session.objects.bulk_create(
        [Session(owner=user, name=f"seeded session {i + 1}") for i in range(count)], batch_size=BATCH
    )


def _messages(run: Run, count: int, first_seq: int = 1) -> list[Message]:
    return [
        Message(
            run=run,
            seq=seq,
            source="user" if seq == 1 else "assistant",
            content=f"seeded message {seq} of run {run.id}: " + "lorem ipsum dolor sit amet " * 4,
            models_usage=None if seq == 1 else {"prompt_tokens": 10 * seq, "completion_tokens": 30},
        )
        for seq in range(first_seq, first_seq + count)
    ]


def seed_runs(user: Any, sessions: list[Session], runs: int, total: int, config: dict[str, Any]) -> list[int]:
    """`runs` completed runs, `total` messages between them; each batch is one transaction."""
    ids: list[int] = []
    now = timezone.now()
    per_run, extra = divmod(total, runs) if runs else (0, 0)
    for start in range(0, runs, BATCH // max(1, per_run) or 1):
        end = min(runs, start + max(1, BATCH // max(1, per_run)))
        with transaction.atomic():
            batch = []
            for i in range(start, end):
                count = per_run + (1 if i < extra else 0)
                batch.append(
                    Run(
                        owner=user,
                        session=sessions[i % len(sessions)] if sessions else None,
                        team_config=config,
                        task=f"seeded task {i + 1}",
                        status=RunStatus.COMPLETE,
                        stop_reason="Maximum number of messages reached",
                        started_at=now - timedelta(seconds=2),
                        finished_at=now,
                        last_seq=count,
                    )
                )
            made = Run.objects.bulk_create(batch)
            Message.objects.bulk_create([m for run in made for m in _messages(run, run.last_seq)], batch_size=BATCH)
            ids.extend(run.id for run in made)
    return ids


def seed_long_run(user: Any, count: int, config: dict[str, Any]) -> int:
    """One run that has stored `count` messages and waits for a human answer (resumable)."""
    with transaction.atomic():
        run = Run.objects.create(
            owner=user,
            team_config=config,
            task="seeded long run",
            status=RunStatus.AWAITING_INPUT,
            started_at=timezone.now(),
            last_seq=count,
            input_request_id="seeded",
            input_prompt="Your answer?",
            input_source="user",
        )
        for first in range(1, count + 1, BATCH):
            Message.objects.bulk_create(_messages(run, min(BATCH, count - first + 1), first))
    return run.id
