"""Rich rendering of run frames for the terminal commands (`run_team`, `playground_client`).

One `Live` region shows the message being streamed, growing in place; each completed
message is printed above it as a panel (tool calls and results get their own look). Frames go
through the same filter as the server's socket (runs.watch): stored messages are deduplicated
by `seq` and streamed text by offset, so a replay after a reconnect prints nothing twice.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

from runs.watch import WatchFilter

PALETTE = ["cyan", "magenta", "green", "yellow", "blue", "bright_red", "bright_cyan", "bright_magenta"]
EXIT_COMPLETE, EXIT_ERROR, EXIT_STOPPED = 0, 1, 2


def exit_code(status: str) -> int:
    return {"complete": EXIT_COMPLETE, "error": EXIT_ERROR}.get(status, EXIT_STOPPED)


class Renderer:
    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.live = Live(console=self.console, transient=True, refresh_per_second=12, auto_refresh=True)
        self.watch = WatchFilter(_chunk_frame)
        self.streaming: dict[int, tuple[str, str]] = {}
        self.attempts: dict[int, int] = {}  # the attempt each streaming message's text is from
        self.colors: dict[str, str] = {}
        self.final: dict[str, Any] | None = None
        self.input_request: dict[str, Any] | None = None
        self.status = ""

    def __enter__(self) -> Renderer:
        self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.stop()

    def pause(self) -> None:
        self.live.stop()

    def resume(self) -> None:
        self.live.start()

    def color(self, source: str) -> str:
        return self.colors.setdefault(source, PALETTE[len(self.colors) % len(PALETTE)])

    # ------------------------------------------------------------ frames

    @property
    def last_seq(self) -> int:
        """The last stored message shown: a reconnect asks for what comes after it."""
        return self.watch.last_seq

    def frame(self, frame: dict[str, Any]) -> None:
        admitted = self.watch.admit(frame)
        if not isinstance(admitted, dict):
            return  # shown already (a Gap never comes back: frames that are not live are never ahead)
        frame = admitted
        kind = frame.get("type")
        if kind == "message":
            self._message(frame)
        elif kind == "message_chunk":
            self._chunk(frame)
        elif kind == "input_request":
            self.input_request = frame
        elif kind in ("result", "completion"):
            self._final(frame)
        elif kind == "run_status":
            self.status = frame.get("status", "")
            if frame.get("reason"):  # the server moved the run itself (a worker lost)
                self.console.print(Text(str(frame["reason"]), style="yellow"))
        elif kind == "system":
            run = frame.get("run") or {}
            self.status = run.get("status", "")
        elif kind == "error":
            self.console.print(Text(f"server: {frame.get('error')}", style="bold red"))
        elif kind == "pong":
            self.console.print(Text("pong", style="dim"))

    def _chunk(self, frame: dict[str, Any]) -> None:
        seq = int(frame.get("seq", 0))
        data = frame.get("data") or {}
        source, text = self.streaming.get(seq, (str(data.get("source", "")), ""))
        attempt = int(frame.get("attempt", 0))
        if attempt != self.attempts.setdefault(seq, attempt):
            # A resumed run streams the message again from its start (the filter let through only a
            # newer attempt): what was shown of it goes.
            self.attempts[seq], text = attempt, ""
        self.streaming[seq] = (source, text + str(data.get("content", "")))
        self._refresh_live()

    def _message(self, frame: dict[str, Any]) -> None:
        seq = int(frame.get("seq", 0))
        self.streaming = {s: v for s, v in self.streaming.items() if s > seq}
        self.input_request = None
        self._refresh_live(now=True)  # drop the streamed copy first, or printing above the live region repaints it
        self.console.print(self.message_panel(frame.get("data") or {}))

    def _refresh_live(self, now: bool = False) -> None:
        panels = [
            Panel(Text(text), title=f"{source} …", title_align="left", border_style=self.color(source))
            for _, (source, text) in sorted(self.streaming.items())
        ]
        self.live.update(Group(*panels) if panels else Text(""), refresh=now)

    def _final(self, frame: dict[str, Any]) -> None:
        if self.final is not None:
            return
        self.final = frame
        self.streaming = {}
        self._refresh_live(now=True)
        data = frame.get("data") or {}
        status = self.final_status or ""
        reason = (data.get("task_result") or {}).get("stop_reason") or ""
        usage = data.get("usage") or {}
        style = {"complete": "bold green", "error": "bold red"}.get(status, "bold yellow")
        line = Text(f"Run {status}", style=style)
        if reason:
            line.append(f": {reason}", style="")
        if isinstance(usage, dict) and usage.get("prompt_tokens") is not None:
            tokens = f"  (tokens: {usage['prompt_tokens']} prompt, {usage.get('completion_tokens')} completion)"
            line.append(tokens, style="dim")
        self.console.print(line)

    @property
    def final_status(self) -> str | None:
        if self.final is None:
            return None
        return (
            "complete"
            if self.final.get("type") == "result"
            else ("error" if self.final.get("status") == "error" else "stopped")
        )

    # ------------------------------------------------------------ one message

    def message_panel(self, data: dict[str, Any]) -> RenderableType:
        source = str(data.get("source", ""))
        kind = str(data.get("type", "TextMessage"))
        content = data.get("content")
        color = self.color(source)
        subtitle = "partial: stopped mid-stream" if data.get("partial") else None
        if kind == "ToolCallRequestEvent" and isinstance(content, list):
            body = Text()
            for call in content:
                body.append("🔧 ", style="")
                body.append(str(call.get("name", "?")), style="bold")
                body.append(f"({_compact(call.get('arguments', ''))})\n")
            return Panel(body, title=f"{source} · tool call", title_align="left", border_style="yellow")
        if kind == "ToolCallExecutionEvent" and isinstance(content, list):
            body = Text()
            for result in content:
                style = "red" if result.get("is_error") else "green"
                body.append(f"↳ {result.get('name') or result.get('call_id', '')}: ", style=f"bold {style}")
                body.append(f"{result.get('content', '')}\n")
            return Panel(body, title=f"{source} · tool result", title_align="left", border_style="yellow")
        if kind == "HandoffMessage":
            target = data.get("target") or "?"
            return Panel(
                Text(str(content)),
                title=f"{source} → {target} (handoff)",
                title_align="left",
                border_style=color,
                subtitle=subtitle,
            )
        files = data.get("attachments") or []
        if files and isinstance(content, list):  # a MultiModalMessage: its text, then its files by name
            text = next((item for item in content if isinstance(item, str)), "")
            names = ", ".join(f"📎 {f.get('name')} ({f.get('content_type')}, {f.get('size')} bytes)" for f in files)
            note = (data.get("metadata") or {}).get("note")
            body = Text(text + "\n")
            body.append(names, style="cyan")
            if note:
                body.append(f"\n{note}", style="yellow")
            return Panel(body, title=source, title_align="left", border_style=color, subtitle=subtitle)
        text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
        return Panel(Text(text), title=source, title_align="left", border_style=color, subtitle=subtitle)


def _chunk_frame(seq: int, source: str, content: str, offset: int, attempt: int) -> dict[str, Any]:
    data = {"source": source, "content": content}
    return {"type": "message_chunk", "seq": seq, "offset": offset, "attempt": attempt, "data": data}


def _compact(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            return json.dumps(json.loads(arguments), ensure_ascii=False)
        except ValueError:
            return arguments
    return json.dumps(arguments, ensure_ascii=False)


def _resolve(future: asyncio.Future[str | None], value: str | None) -> None:
    if not future.done():
        future.set_result(value)


async def ainput(prompt: str, console: Console) -> str | None:
    """Read a line without blocking the loop; None at end of input. A daemon thread, so a pending
    read never keeps the process alive once the run is over."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str | None] = loop.create_future()

    def read() -> None:
        try:
            console.print(Text(prompt, style="bold"), end="")
            sys.stdout.flush()
            line = sys.stdin.readline()
            value: str | None = line.rstrip("\n") if line else None
        except Exception:
            value = None
        loop.call_soon_threadsafe(_resolve, future, value)

    threading.Thread(target=read, name="terminal-input", daemon=True).start()
    return await future
