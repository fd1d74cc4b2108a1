"""`manage.py playground_client`: a terminal client for a running Agent Playground server.

    playground_client --server ws://HOST/runs/<id> --token T -m "task"
    playground_client --server http://HOST --team N --token T -m "task"   # creates the run first
    playground_client --server http://HOST --team "Writer and critic (offline)" --token T -i  # by name, at a prompt
    playground_client --server http://HOST --team N --token T -m "What is in it?" --file photo.png --file notes.md

See runs/cli/client.py for the behaviour and exit status.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runs.cli.client import ClientError, Options, PlaygroundClient, read_file
from runs.cli.options import add_model_options, add_version_option, model_override


class Command(BaseCommand):
    help = "Watch and drive a run from the terminal over the WebSocket protocol."
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--server", required=True, help="ws://HOST/runs/<id>, or http(s)://HOST with --team")
        parser.add_argument(
            "--token", default=os.environ.get("PLAYGROUND_TOKEN", ""), help="API token (default: $PLAYGROUND_TOKEN)"
        )
        parser.add_argument("--team", help="create a run of this team (its id or its name) over REST first")
        parser.add_argument("-m", "--message", help="the task to start the run with")
        parser.add_argument("-i", "--interactive", action="store_true", help="type tasks and answers at a prompt")
        parser.add_argument("--stop-reason", default="Stopped from the terminal client (Ctrl-C)")
        parser.add_argument("--max-reconnects", type=int, default=20, help="consecutive failed reconnects allowed")
        parser.add_argument("--file", action="append", default=[], metavar="PATH",
                            help="attach a file to the task (repeatable)")  # fmt: skip
        add_model_options(parser)
        add_version_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["token"]:
            raise CommandError("an API token is required: --token or $PLAYGROUND_TOKEN")
        try:
            files = [read_file(path) for path in options["file"]]
        except ClientError as exc:
            raise CommandError(str(exc)) from None
        client = PlaygroundClient(
            Options(
                server=options["server"],
                token=options["token"],
                team=options["team"],
                task=options["message"],
                interactive=options["interactive"],
                stop_reason=options["stop_reason"],
                max_reconnects=options["max_reconnects"],
                files=files,
                model_override=model_override(options),
                team_version=options["team_version"],
            )
        )
        code = asyncio.run(client.main())
        if code:
            raise SystemExit(code)
