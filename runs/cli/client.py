"""The terminal client: watch and drive a run over the WebSocket protocol, with rich rendering.

Connects (authenticating with an `auth` frame, so the token never sits in a URL), starts the
run with a task, renders every frame, answers input requests at the prompt, and on a dropped
connection reconnects with `?after_seq=<last seen>` (stored messages are deduplicated by seq,
so a replay prints nothing twice). Ctrl-C sends `stop` with a reason; twice quits at once.
Exit status: 0 complete, 1 error, 2 stopped, 3 could not connect or not allowed.
"""

from __future__ import annotations

import asyncio
import base64
import json
import mimetypes
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI

from runs.cli.terminal import Renderer, ainput, exit_code
from runs.frames import (
    CLOSE_REASONS,
    AuthFrame,
    FileIn,
    Frame,
    InputResponseFrame,
    PingFrame,
    StartFrame,
    StopFrame,
    ToolApprovalFrame,
)

EXIT_CONNECT = 3
COMMANDS_HELP = "commands: ping, stop [reason], quit"


class ClientError(Exception):
    pass


@dataclass
class Options:
    server: str
    token: str
    team: str | None = None  # an id or a name
    task: str | None = None
    interactive: bool = False
    stop_reason: str = "Stopped from the terminal client (Ctrl-C)"
    max_reconnects: int = 20
    files: list[FileIn] = field(default_factory=list)  # sent with the first task
    model_override: dict[str, Any] | None = None  # sent with `start` (--provider/--model)
    team_version: int | None = None  # the team's version to run (--team-version)


def read_file(path: str) -> FileIn:
    """A local file as a start frame carries it (AutoGen's shape); the server checks it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ClientError(f"cannot read {path}: {exc.strerror or exc}") from None
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return FileIn(name=Path(path).name, type=kind, content=base64.b64encode(data).decode("ascii"))


def create_run(
    server: str,
    token: str,
    team: str,
    *,
    task: str | None = None,
    files: list[FileIn] | None = None,
    model_override: dict[str, Any] | None = None,
    team_version: int | None = None,
) -> str:
    """POST /api/runs for the team (an id, or a team's name); the run's WebSocket URL. With `task`
    the run starts at once, with its files: the server checks them before it creates the run, so a
    refused file leaves no run behind."""
    parts = urlsplit(server)
    base = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
    headers = {"Authorization": f"Bearer {token}"}
    body: dict[str, Any] = {"team_version": team_version}
    if task is not None:
        body |= {"task": task, "files": [f.model_dump() for f in files or []], "model_override": model_override}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=httpx.Timeout(60.0), trust_env=False) as http:
            team_id = int(team) if team.isdigit() else _team_named(http, team)
            response = http.post("/api/runs", json={"team_id": team_id, **body})
    except httpx.HTTPError as exc:
        raise ClientError(f"cannot reach {base}: {exc}") from None
    if response.status_code != 201:
        raise ClientError(f"creating the run failed ({response.status_code}): {_detail(response)}")
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((ws_scheme, parts.netloc, response.json()["ws_url"], "", ""))


def _team_named(http: httpx.Client, name: str) -> int:
    """The id of the one team of that name the token's user can use (GET /api/teams, page by page)."""
    ids: list[int] = []
    offset, count = 0, 1
    while offset < count:
        response = http.get("/api/teams", params={"limit": 200, "offset": offset})
        if response.status_code != 200:
            raise ClientError(f"listing teams failed ({response.status_code}): {_detail(response)}")
        page = response.json()
        count, items = page["count"], page["items"]
        ids += [team["id"] for team in items if team["name"] == name]
        offset += len(items) or count
    if not ids:
        raise ClientError(f"no team named {name!r} that you can use")
    if len(ids) > 1:
        raise ClientError(f"{len(ids)} teams are named {name!r} (ids {', '.join(map(str, ids))}): give an id")
    return ids[0]


def _detail(response: httpx.Response) -> str:
    """The error's detail and each field it names ("team_version: team 3 has no version 9")."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    errors = body.get("errors") if isinstance(body, dict) else None
    fields = [f"{e.get('path')}: {e.get('message')}" for e in errors or [] if isinstance(e, dict)]
    detail = str(body.get("detail", response.text)) if isinstance(body, dict) else response.text[:200]
    return "; ".join([detail, *fields])


class PlaygroundClient:
    def __init__(self, options: Options, console: Console | None = None) -> None:
        self.options = options
        self.console = console or Console()
        self.renderer = Renderer(self.console)
        self.conn: ClientConnection | None = None
        self.run_status = ""
        self.started = False
        self.quit = False
        self.interrupts = 0
        self.pending: list[dict[str, Any]] = []  # frames to send once (re)connected
        self.asked_request = ""
        self.approval: dict[str, Any] | None = None  # the tool call waiting for a decision, asked about
        self._prompt: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # ------------------------------------------------------------ main loop

    async def main(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self._interrupt)
        self.renderer.live.start()
        try:
            while True:
                code = await self._one_run(await self._run_url())
                if code is None or not self._another_run():
                    return code if code is not None else 0
                next_task = await self._ask("Next task (empty to quit): ")
                if not next_task or next_task.strip() in ("", "quit"):
                    return code
                self._reset(next_task)
        except ClientError as exc:
            self.console.print(Text(str(exc), style="bold red"))
            return EXIT_CONNECT
        finally:
            self.renderer.live.stop()
            loop.remove_signal_handler(signal.SIGINT)
            for task in self._tasks:
                task.cancel()

    def _another_run(self) -> bool:
        return self.options.interactive and self.options.team is not None and not self.quit

    def _reset(self, task: str) -> None:
        self.options.task = task
        self.options.files = []  # the files went with the first task
        self.renderer.live.stop()
        self.renderer = Renderer(self.console)
        self.renderer.live.start()
        self.started, self.run_status, self.asked_request = False, "", ""

    async def _run_url(self) -> str:
        options = self.options
        if options.team is not None and options.files:
            # Files go with the task in the request that creates the run (checked first: a refused
            # file creates nothing), so an interactive client asks for the task before it.
            while options.interactive and not options.task:
                options.task = await self._ask("Task: ")
                if options.task is None:
                    raise ClientError("no task given: no run was created")
            if options.task:
                url = await asyncio.to_thread(
                    create_run,
                    options.server,
                    options.token,
                    options.team,
                    task=options.task,
                    files=options.files,
                    model_override=options.model_override,
                    team_version=options.team_version,
                )
                self.started, options.files = True, []
                return url
        if options.team is not None:
            return await asyncio.to_thread(
                create_run, options.server, options.token, options.team, team_version=options.team_version
            )
        parts = urlsplit(self.options.server)
        if parts.scheme not in ("ws", "wss") or "/runs/" not in parts.path:
            raise ClientError("--server must be ws://HOST/runs/<id>, or http://HOST together with --team")
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    async def _one_run(self, url: str) -> int | None:
        """Watch one run to its end; reconnects after drops. None when the user quit."""
        failures = 0
        while True:
            query = urlencode({"after_seq": self.renderer.last_seq})
            try:
                async with connect(f"{url}?{query}", proxy=None, max_size=2**24, open_timeout=10) as conn:
                    self.conn = conn
                    failures = 0
                    await self._session(conn)
            except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
                failures += 1
                if failures > self.options.max_reconnects:
                    raise ClientError(f"cannot connect to {url}: {exc}") from None
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd else None
                if code in CLOSE_REASONS:
                    raise ClientError(f"the server closed the connection: {CLOSE_REASONS[code]} ({code})") from None
            finally:
                self.conn = None
            if self.quit:
                return None
            status = self.renderer.final_status
            if status is not None:
                return exit_code(status)
            delay = min(5.0, 0.25 * 2 ** min(failures, 5))
            self.console.print(
                Text(f"connection lost; reconnecting after seq {self.renderer.last_seq}…", style="yellow")
            )
            await asyncio.sleep(delay)

    async def _session(self, conn: ClientConnection) -> None:
        await conn.send(json.dumps(AuthFrame(token=self.options.token).wire()))
        while self.pending:
            await conn.send(json.dumps(self.pending[0]))
            self.pending.pop(0)
        async for raw in conn:
            frame = json.loads(raw)
            kind = frame.get("type")
            if kind == "error" and frame.get("file"):  # a refused file: the run was not started
                raise ClientError(str(frame.get("error")))
            self.renderer.frame(frame)
            if kind == "system":
                self.run_status = (frame.get("run") or {}).get("status", "")
                await self._maybe_start()
            elif kind == "run_status":
                self.run_status = frame.get("status", "")
            elif kind == "input_request":
                self._answer_later(frame)
            elif kind == "tool_approval_request":
                self._decide_later(frame)
            elif kind == "error" and str(frame.get("error", "")).startswith("tool approval refused"):
                self._decide_later(self.approval, again=True)  # the request is still open: ask again
            elif kind in ("result", "completion"):
                await conn.close()
                return
            if self.quit:
                await conn.close()
                return

    # ------------------------------------------------------------ actions

    def _frame(self, kind: type[Frame], **fields: Any) -> dict[str, Any] | None:
        """A frame to send, or None (saying why) when what was typed breaks one of the protocol's limits."""
        try:
            return kind(**fields).wire()
        except ValidationError as exc:
            problem = exc.errors()[0]
            self.console.print(Text(f"Not sent: {'.'.join(map(str, problem['loc']))}: {problem['msg']}", style="red"))
            return None

    async def send(self, frame: dict[str, Any] | None) -> None:
        """Send now, or after the next reconnect if the connection is down."""
        if frame is None:
            return
        conn = self.conn
        if conn is None:
            self.pending.append(frame)
            return
        try:
            await conn.send(json.dumps(frame))
        except ConnectionClosed:
            self.pending.append(frame)

    async def _maybe_start(self) -> None:
        if self.started or self.run_status != "created":
            return
        self.started = True
        if self.options.task:
            await self.send(
                self._frame(
                    StartFrame,
                    task=self.options.task,
                    files=self.options.files,
                    model_override=self.options.model_override,
                    team_version=self.options.team_version,
                )
            )
        elif self.options.interactive:
            self._prompt = self._spawn(self._ask_task())  # frames (a pong) keep flowing while we ask
        else:
            self.console.print(Text("The run has not started; give a task with -m or use -i.", style="yellow"))
            self.quit = True

    async def _ask_task(self) -> None:
        task = None
        while not task:
            task = await self._command_or_text("Task: ")
            if task is None:
                return
        await self.send(
            self._frame(
                StartFrame,
                task=task,
                files=self.options.files,
                model_override=self.options.model_override,
                team_version=self.options.team_version,
            )
        )

    def _answer_later(self, frame: dict[str, Any]) -> None:
        request_id = str(frame.get("request_id", ""))
        if request_id == self.asked_request:
            return  # re-sent on reconnect while we are already asking
        self.asked_request = request_id
        prompt = str(frame.get("prompt") or "Your answer: ")
        self._prompt = self._spawn(self._answer(prompt, request_id))

    async def _answer(self, prompt: str, request_id: str) -> None:
        answer = await self._command_or_text(prompt)
        if answer is None:
            return
        await self.send(self._frame(InputResponseFrame, response=answer, request_id=request_id))

    def _decide_later(self, frame: dict[str, Any] | None, again: bool = False) -> None:
        if frame is None:
            return
        request_id = str(frame.get("request_id", ""))
        if request_id == self.asked_request and not again:
            return  # re-sent on reconnect while we are already asking
        self.asked_request, self.approval = request_id, frame
        self._prompt = self._spawn(self._decide(frame, request_id))

    async def _decide(self, frame: dict[str, Any], request_id: str) -> None:
        """a: approve (with the arguments as edited), r: reject with a reason, e: edit the arguments (JSON)."""
        where = f" on {frame['server']}" if frame.get("server") else ""
        call = (
            f"{frame.get('agent')} wants to call {frame.get('tool')}{where} with {json.dumps(frame.get('arguments'))}"
        )
        self.console.print(Text(call, style="bold yellow"))
        arguments: dict[str, Any] | None = None
        while True:
            choice = await self._command_or_text("[a]pprove, [r]eject or [e]dit the arguments? ")
            if choice is None:
                return
            letter = choice.strip().lower()[:1]
            if letter == "a":
                fields = {"arguments": arguments} if arguments is not None else {}
                await self.send(self._frame(ToolApprovalFrame, request_id=request_id, decision="approve", **fields))
                return
            if letter == "r":
                reason = await self._command_or_text("Reason (the model reads it): ")
                if reason is None:
                    return
                await self.send(self._frame(ToolApprovalFrame, request_id=request_id, decision="reject", reason=reason))
                return
            if letter == "e":
                arguments = await self._edited_arguments() or arguments
                continue
            self.console.print(Text("Type a, r or e.", style="dim"))

    async def _edited_arguments(self) -> dict[str, Any] | None:
        text = await self._command_or_text("Arguments as JSON: ")
        if text is None:
            return None
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            self.console.print(Text(f"Not JSON: {exc}", style="red"))
            return None
        if not isinstance(parsed, dict):
            self.console.print(Text("The arguments are a JSON object.", style="red"))
            return None
        return parsed

    async def _command_or_text(self, prompt: str) -> str | None:
        """Read a line; handle ping/stop/quit (in interactive mode) and return other text, None if handled."""
        while True:
            line = await self._ask(prompt)
            if line is None:
                await self.send(self._frame(StopFrame, reason="No input: the terminal's input ended"))
                return None
            word, _, rest = line.strip().partition(" ")
            if self.options.interactive and word in ("ping", "quit", "stop", "help"):
                if word == "ping":
                    await self.send(self._frame(PingFrame))
                elif word == "quit":
                    self.quit = True
                    if self.conn is not None:
                        await self.conn.close()
                    return None
                elif word == "stop":
                    await self.send(self._frame(StopFrame, reason=rest or self.options.stop_reason))
                    return None
                else:
                    self.console.print(Text(COMMANDS_HELP, style="dim"))
                continue
            return line

    async def _ask(self, prompt: str) -> str | None:
        self.renderer.pause()
        try:
            return await ainput(prompt, self.console)
        finally:
            self.renderer.resume()

    def _interrupt(self) -> None:
        self.interrupts += 1
        if self.interrupts > 1 or self.renderer.final is not None:
            self.console.print(Text("Quitting.", style="red"))
            os._exit(130)
        self.console.print(Text("Stopping the run… (Ctrl-C again to quit at once)", style="yellow"))
        self._spawn(self.send(self._frame(StopFrame, reason=self.options.stop_reason)))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task
