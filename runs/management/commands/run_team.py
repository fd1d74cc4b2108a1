"""`manage.py run_team <team id | team.json> "task" [--file PATH]`: run a team here, live in the terminal.

The run is stored like any other (run_create + run_start), then driven here with
runs.execution.drive under asyncio.run: the on-commit dispatch only notes the run
(runs.loops.driven_here), and this process drives it, again after each answer typed at the prompt.
Frames are rendered from the run's group on the channel layer, joined in the same loop.
Exit status: 0 complete, 1 error, 2 stopped (Ctrl-C stops the run with a reason; press
it twice to quit at once).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.text import Text

from agents_app.autogen import parse_team_config
from agents_app.config import ConfigErrorItem, TeamConfigError
from agents_app.selectors import visible_teams
from providers.resolve import adopt_providers
from runs import attachments, events, execution, loops, services
from runs.cli.options import add_model_options, add_version_option, model_override
from runs.cli.terminal import Renderer, ainput, exit_code
from runs.models import Message, Run, RunStatus
from webhooks import background

FLUSH = "local.flush"


class Command(BaseCommand):
    help = "Run a team (a saved team's id, or a team JSON file: ours or AutoGen Studio's) on a task, here."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("team", help="team id, or path to a team JSON file (our format or AutoGen Studio's)")
        parser.add_argument("task", help="the task for the team")
        parser.add_argument("--user", help=f"owner of the run (default: {settings.PLAYGROUND_DEMO_USERNAME})")
        parser.add_argument(
            "--file", action="append", default=[], metavar="PATH", help="attach a file to the task (repeatable)"
        )
        parser.add_argument(
            "--stop-reason",
            default="Interrupted at the terminal (Ctrl-C)",
            help="stop reason stored when you press Ctrl-C",
        )
        add_model_options(parser)
        add_version_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        console = Console()
        user = self._user(options["user"])
        config, team = self._team(options["team"], user, console)
        files = [self._file(path) for path in options["file"]]
        run = services.run_create(owner=user, team=team, team_config=config)
        console.print(Text(f"Run {run.id} ({config.get('name', 'team')}) as {user.get_username()}", style="dim"))
        local = LocalRun(run.id, console, options["stop_reason"])
        # This process drives the run itself: a dispatch (start, each answer) only notes it, and its
        # hooks run here too, so they are waited for inside the block.
        with loops.driven_here(local.note_dispatch):
            try:
                services.run_start(
                    run_id=run.id,
                    task=options["task"],
                    files=files,
                    team_version=options["team_version"],
                    model_override=model_override(options),
                )
            except (services.TooManyActiveRuns, attachments.AttachmentError) as exc:
                run.delete()  # nothing was started: leave no empty run behind
                raise CommandError(str(exc)) from None
            except TeamConfigError as exc:
                run.delete()
                raise CommandError(f"cannot start the run: {exc}") from None
            status = asyncio.run(local.main())
            if not background.wait_idle(timeout=60):
                console.print(Text("Some hooks or webhook retries were still pending at exit.", style="yellow"))
        code = exit_code(status)
        if code:
            raise SystemExit(code)

    def _user(self, username: str | None) -> Any:
        name = username or settings.PLAYGROUND_DEMO_USERNAME
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise CommandError(f"no user {name!r}: pass --user NAME (create one with `manage.py createsuperuser`)")
        return user

    def _file(self, path: str) -> attachments.Upload:
        try:
            return attachments.Upload(name=Path(path).name, data=Path(path).read_bytes())
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None

    def _team(self, ref: str, user: Any, console: Console) -> tuple[dict[str, Any], Any]:
        path = Path(ref)
        if ref.isdigit() and not path.exists():
            team = visible_teams(user).filter(id=int(ref)).first()
            if team is None:
                raise CommandError(f"no team {ref} that {user.get_username()} can use")
            return team.config, team
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise CommandError(f"cannot read {ref}: {exc}") from None
        except ValueError as exc:
            raise CommandError(f"{ref} is not JSON: {exc}") from None
        warnings: list[ConfigErrorItem] = []
        try:
            config, kind = parse_team_config(data, warnings=warnings)
            if kind == "autogen":
                config, adopted = adopt_providers(config, user.pk)
                warnings += adopted
        except TeamConfigError as exc:
            lines = "\n".join(f"  {e.path or '$'}: {e.message}" for e in exc.errors)
            raise CommandError(f"{ref} is not a valid team config:\n{lines}") from None
        for item in warnings:
            console.print(Text(f"warning: {item.path or '$'}: {item.message}", style="yellow"))
        return config.model_dump(mode="json"), None


class LocalRun:
    def __init__(self, run_id: int, console: Console, stop_reason: str) -> None:
        self.run_id = run_id
        self.console = console
        self.stop_reason = stop_reason
        self.renderer = Renderer(console)
        self.finished = asyncio.Event()
        self.flushed = asyncio.Event()
        self.interrupts = 0
        self.dispatched: list[int] = []
        self._tasks: set[asyncio.Task[Any]] = set()

    def note_dispatch(self, run_id: int) -> None:
        self.dispatched.append(run_id)

    async def main(self) -> str:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.run_group(self.run_id), channel)
        listener = asyncio.create_task(self._listen(layer, channel))
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupt)
        try:
            for frame in await database_sync_to_async(self._stored_frames)():
                self.renderer.frame(frame)
            with self.renderer:
                status = await self._drive_until_done(layer, channel)
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            listener.cancel()
            await asyncio.gather(listener, *self._tasks, return_exceptions=True)
            await layer.group_discard(events.run_group(self.run_id), channel)
            await loops.aclose_loop_resources()
        return status

    def _stored_frames(self) -> list[dict[str, Any]]:
        return [events.message_frame(m) for m in Message.objects.filter(run_id=self.run_id).order_by("seq")]

    async def _drive_until_done(self, layer: Any, channel: str) -> str:
        while True:
            while self.dispatched:
                self.dispatched.remove(self.run_id)
                await execution.drive(self.run_id)
            await self._flush(layer, channel)
            run = await Run.objects.aget(id=self.run_id)
            if run.is_terminal:
                return run.status
            if run.status == RunStatus.AWAITING_INPUT:
                await self._ask(run)
            elif not self.dispatched:
                await asyncio.sleep(0.1)  # stopping or queued elsewhere: wait for the outcome

    async def _ask(self, run: Run) -> None:
        self.renderer.pause()
        reader = asyncio.ensure_future(ainput(f"{run.input_prompt or 'Your answer: '}", self.console))
        done = asyncio.ensure_future(self.finished.wait())
        try:
            await asyncio.wait({reader, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            done.cancel()
            self.renderer.resume()
        if not reader.done():
            reader.cancel()
            return  # stopped while we were asking
        answer = reader.result()
        if answer is None:
            await self._stop("No input: the terminal's input ended")
            return
        try:
            await database_sync_to_async(services.run_submit_input)(
                run_id=self.run_id, response=answer, request_id=run.input_request_id
            )
        except services.RunStateError as exc:
            self.console.print(Text(str(exc), style="red"))

    async def _listen(self, layer: Any, channel: str) -> None:
        while True:
            message = await layer.receive(channel)
            if message.get("type") == FLUSH:
                self.flushed.set()
                continue
            frame = message.get("frame")
            if not isinstance(frame, dict):
                continue  # not a run frame (the layer saying it reconnected)
            self.renderer.frame(frame)
            if frame.get("type") in ("result", "completion"):
                self.finished.set()

    async def _flush(self, layer: Any, channel: str) -> None:
        """Wait until every frame published so far has been rendered (the channel is FIFO)."""
        self.flushed.clear()
        await layer.send(channel, {"type": FLUSH})
        await self.flushed.wait()

    def _interrupt(self) -> None:
        self.interrupts += 1
        if self.interrupts > 1:
            self.console.print(Text("Quitting without waiting; the run is stopped by the sweep.", style="red"))
            os._exit(130)
        self.console.print(Text("Stopping the run… (Ctrl-C again to quit at once)", style="yellow"))
        task = asyncio.get_running_loop().create_task(self._stop(self.stop_reason))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _stop(self, reason: str) -> None:
        try:
            await database_sync_to_async(services.run_request_stop)(run_id=self.run_id, reason=reason)
        except services.RunStateError:
            pass  # it finished meanwhile
