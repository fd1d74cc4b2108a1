"""A run as a document: JSON (messages, usage, config snapshot, team version) and Markdown.

The JSON is built from the same REST shapes as GET /api/runs/{id} and its messages, so a reader
of the API reads an export without a second schema. Both formats pass through the secret
scrubber team exports use: a server key never leaves, wherever a model might have echoed it.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils import timezone

from agents_app.team_io import redact, scrub_secrets
from runs.models import Message, Run
from runs.shapes import message_json, run_json

FORMAT = "agent-playground.run"
FORMAT_VERSION = 1


def run_document(run: Run, messages: list[Message]) -> dict[str, Any]:
    team_name = run.team.name if run.team_id and run.team else str(run.team_config.get("name") or "")
    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "run": {**run_json(run), "duration": run.duration},
        "team": {"id": run.team_id, "name": team_name, "version": run.team_version},
        "model_override": run.model_override,
        "fork": fork_point(run),
        "team_config": redact(run.team_config),
        "messages": [message_json(m) for m in messages],
    }
    return scrub_secrets(doc)  # type: ignore[no-any-return]


def fork_point(run: Run) -> dict[str, Any] | None:
    if run.parent_id is None and run.fork_after_seq is None:
        return None
    return {"parent_id": run.parent_id, "after_seq": run.fork_after_seq, "edited_seq": run.fork_edited_seq}


def run_markdown(doc: dict[str, Any]) -> str:
    """The JSON document as Markdown: a header of facts, every message in order, the config last."""
    run, team = doc["run"], doc["team"]
    title = (run["task"].strip().splitlines() or [""])[0][:120] or f"Run {run['id']}"
    lines = [f"# Run {run['id']}: {title}", ""]
    outcome = run["status"] + (f" ({run['stop_reason']})" if run["stop_reason"] else "")
    facts = [("Status", outcome)]
    if run["error"]:
        facts.append(("Error", run["error"]))
    version = f" (version {team['version']})" if team["version"] else ""
    facts.append(("Team", f"{team['name'] or 'inline config'}{version}"))
    if doc["model_override"]:
        facts.append(("Model override", json.dumps(doc["model_override"])))
    if doc["fork"]:
        fork = doc["fork"]
        edited = f" (message {fork['edited_seq']} edited)" if fork["edited_seq"] else ""
        facts.append(("Forked from", f"run {fork['parent_id']} after message {fork['after_seq']}{edited}"))
    facts.append(("Created", run["created_at"]))
    if run.get("duration") is not None:
        facts.append(("Duration", f"{run['duration']:.1f} s"))
    usage = run.get("usage") or {}
    if usage:
        prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        facts.append(("Tokens", f"{prompt} prompt, {completion} completion"))
    lines += [f"- **{name}:** {value}" for name, value in facts]
    lines += ["", "## Messages", ""]
    for message in doc["messages"]:
        lines += _message_lines(message)
    lines += ["## Team config", "", *_fenced(json.dumps(doc["team_config"], indent=2), "json"), ""]
    return "\n".join(lines)


def _message_lines(message: dict[str, Any]) -> list[str]:
    head = f"### {message['seq']} · {message['source']}"
    if message["type"] != "TextMessage":
        head += f" ({message['type']})"
    if message["partial"]:
        head += " (stopped while streaming)"
    content = message["content"]
    files = message.get("attachments") or []
    if files and isinstance(content, list) and content and isinstance(content[0], str):
        content = content[0]  # a MultiModalMessage: its text, then its files as links
    body = [content] if isinstance(content, str) else _fenced(json.dumps(content, indent=2), "json")
    if files:
        body.append("")
        body += [f"- Attachment: [{f['name']}]({f['url']}) ({f['content_type']}, {f['size']} bytes)" for f in files]
    note = message["metadata"].get("note")
    if note:
        body += ["", f"> {note}"]
    return [head, "", *body, ""]


def _fenced(text: str, lang: str) -> list[str]:
    fence = "```"
    while fence in text:  # a longer fence than any run of backticks inside keeps the block closed
        fence += "`"
    return [f"{fence}{lang}", text, fence]
