"""What an agent's model sees: stored messages turned into OpenAI chat messages.

As in AutoGen, other agents' tool traffic is private to them: an agent sees others'
chat messages as user messages (named), and its own messages and tool calls as the
assistant. Its own ToolCallSummary/Handoff right after its tool results add nothing the
results do not already say, and leaving them out keeps "assistant messages in context"
equal to "model replies so far": the scripted model relies on that to pick its next reply.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agents_app.config import AzureOpenAIModel, OpenAIModel, ScriptedModel
from agents_app.engine.events import (
    HandoffMessage,
    MultiModalMessage,
    StoredMessage,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
)


def agent_context(
    name: str, system_message: str, messages: Iterable[StoredMessage], *, vision: bool = False
) -> list[dict[str, Any]]:
    """`vision`: the agent's model accepts images (image content parts); otherwise it is told their names."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system_message}] if system_message else []
    messages = list(messages)
    executed = {r.call_id for m in messages if isinstance(m, ToolCallExecutionEvent) for r in m.content}
    after_own_results = False
    for m in messages:
        own = m.source == name
        if isinstance(m, ToolCallRequestEvent):
            # A request never answered (a cancelled run) would make the API reject the whole context.
            if own and all(c.id in executed for c in m.content):
                out.append({"role": "assistant", "content": None, "tool_calls": [_tool_call(c) for c in m.content]})
        elif isinstance(m, ToolCallExecutionEvent):
            if own:
                out.extend({"role": "tool", "tool_call_id": r.call_id, "content": r.content} for r in m.content)
                after_own_results = True
                continue
        elif m.is_chat:
            if not own:
                content = multimodal_content(m, vision) if isinstance(m, MultiModalMessage) else m.to_text()
                out.append({"role": "user", "content": content, "name": m.source})
            elif not (after_own_results and isinstance(m, ToolCallSummaryMessage | HandoffMessage)):
                out.append({"role": "assistant", "content": m.to_text()})
        after_own_results = False
    return out


def _tool_call(call: Any) -> dict[str, Any]:
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def history_text(messages: Iterable[StoredMessage]) -> str:
    """The selector's {history}: one "source: content" line per chat message."""
    return "\n".join(f"{m.source}: {m.to_text()}" for m in messages if m.is_chat)


# ------------------------------------------------------------------ files


def accepts_images(model: ScriptedModel | OpenAIModel | AzureOpenAIModel) -> bool:
    """Whether a model is sent images: only when its config says so (AutoGen's `model_info.vision`)."""
    info = getattr(model, "model_info", None)
    return bool(info is not None and info.vision)


ATTACHED = "[attached: "  # how a file is introduced to a model; the scripted model looks for it
NOT_SHOWN = "not shown: this model does not accept images"


def attachment_header(part: dict[str, Any]) -> str:
    return f"{ATTACHED}{part.get('name', 'file')} ({part.get('content_type', '')}, {_size(part.get('size'))})]"


def multimodal_content(message: MultiModalMessage, vision: bool) -> str | list[dict[str, Any]]:
    """A message with files as a model reads it: text parts for the task, each text file and each
    PDF's text (with its name), each other file's name and size; an image as an image part (its
    `url`, or a data URL of its `data`) when `vision`, else its name and a note. Without an image
    part, one string: every OpenAI-compatible server takes that."""
    texts = [message.content]
    parts: list[dict[str, Any]] = []
    for part in message.attachments:
        header = attachment_header(part)
        kind = part.get("kind")
        if kind == "image" and vision and (part.get("data") or part.get("url")):
            parts += [_text_part(texts), {"type": "text", "text": header}]
            url = part.get("url") or f"data:{part.get('content_type', 'image/png')};base64,{part['data']}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
            texts = []
        elif kind == "image":
            texts.append(f"{header}\n({NOT_SHOWN})" if not vision else f"{header}\n(the image is missing from storage)")
        elif kind in ("text", "pdf") and part.get("text") is not None:
            texts.append(f"{header}\n{part['text']}")
        else:
            texts.append(header)
    if not parts:
        return "\n\n".join(texts)
    if texts:
        parts.append(_text_part(texts))
    return [p for p in parts if p.get("text") != ""]


def _text_part(texts: list[str]) -> dict[str, Any]:
    return {"type": "text", "text": "\n\n".join(texts)}


def content_text(content: Any) -> str:
    """The text of a chat message's content: a string, or the text parts of a list of parts."""
    if isinstance(content, list):
        return "\n\n".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return str(content or "")


def attached_names(content: Any) -> list[str]:
    """The files introduced in a message's content (`attachment_header`), in order."""
    names = []
    for line in content_text(content).splitlines():
        if line.startswith(ATTACHED) and line.endswith("]"):
            names.append(line[len(ATTACHED) : -1].rsplit(" (", 1)[0])
    return names


def _size(size: Any) -> str:
    if not isinstance(size, int):
        return "size unknown"
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"
