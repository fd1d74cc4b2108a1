"""Files given with a task: checked, stored through Django's storage API, read back for the model.

A file is allowed by what its bytes are, sniffed with `filetype`, never by its name: an executable
named `.png` is refused. Text is UTF-8 without NUL bytes; a PDF's text is extracted once, on upload
(`pypdf`), so a run reads it from the database. Limits come from settings (ATTACHMENT_*). A refused
file raises AttachmentError naming it, before anything is stored.

A message's files travel as descriptors (`describe`): on its row (Message.attachments), on the wire
(runs.shapes adds each one's URL) and to the engine, which gets them resolved into plain content
parts (`engine_parts`): images with their bytes in base64, text and PDF text, other files by name.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import mimetypes
import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import filetype
from django.conf import settings
from django.core import signing
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Sum

from agents_app.config import AssistantAgentConfig, TeamConfigError, validate_team_config
from agents_app.engine.context import accepts_images
from runs.models import Attachment, AttachmentKind, Message

logger = logging.getLogger(__name__)

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})  # what vision models accept
NAME_MAX_CHARS = 255
# Text files whose name says nothing better are text/plain; these name-given types are kept.
_TEXT_LIKE = frozenset({"application/json", "application/xml", "application/javascript", "application/x-sh"})


@dataclass(frozen=True, slots=True)
class Upload:
    """A file as a client sent it: its name and its bytes (the declared type is not trusted)."""

    name: str
    data: bytes


class AttachmentError(ValueError):
    """A file refused: the message names it; `index` is its place in the request's files."""

    def __init__(self, name: str, problem: str, index: int | None = None) -> None:
        self.name = name
        self.index = index
        super().__init__(f"{name}: {problem}" if name else problem)


@dataclass(slots=True)
class Checked:
    """A file that passed every check, ready to store."""

    name: str
    data: bytes
    content_type: str
    kind: str
    text: str = ""


def upload_from_base64(name: str, content: str, index: int | None = None) -> Upload:
    """An AutoGen-shaped file (`content` in base64, a data: URL accepted too)."""
    if content.startswith("data:") and "," in content:
        content = content.split(",", 1)[1]
    try:
        data = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise AttachmentError(name or "file", "its content is not valid base64", index) from None
    return Upload(name=name, data=data)


def clean_name(name: str) -> str:
    """The file's own name, without any folder a client put before it."""
    name = posixpath.basename(name.replace("\\", "/")).replace("\x00", "").strip()
    return name[:NAME_MAX_CHARS]


# ------------------------------------------------------------------ checks


def check(*, owner_id: int, uploads: Sequence[Upload]) -> list[Checked]:
    """Every upload checked against the limits and sniffed; raises AttachmentError on the first refused."""
    max_files = settings.ATTACHMENT_MAX_FILES
    if len(uploads) > max_files:
        raise AttachmentError(
            "", f"{len(uploads)} files given; a task may carry at most {max_files} (ATTACHMENT_MAX_FILES)"
        )
    checked = [_check_one(upload, index) for index, upload in enumerate(uploads)]
    if checked:
        _check_quota(owner_id, checked)
    return checked


def _check_one(upload: Upload, index: int) -> Checked:
    name = clean_name(upload.name)
    if not name:
        raise AttachmentError(f"file {index + 1}", "a file needs a name", index)
    limit = settings.ATTACHMENT_MAX_BYTES
    if len(upload.data) > limit:
        raise AttachmentError(name, f"{len(upload.data)} bytes, over the limit of {_size(limit)} per file", index)
    try:
        content_type, kind, text = sniff(name, upload.data)
    except AttachmentError as exc:
        exc.index = index
        raise
    cap = settings.ATTACHMENT_TEXT_MAX_CHARS
    if len(text) > cap:
        text = f"{text[:cap]}\n[… cut here: the file's text has {len(text)} characters, the first {cap} are given]"
    return Checked(name=name, data=upload.data, content_type=content_type, kind=kind, text=text)


def _check_quota(owner_id: int, checked: list[Checked]) -> None:
    quota = settings.ATTACHMENT_QUOTA_BYTES
    used = Attachment.objects.filter(run__owner_id=owner_id).aggregate(total=Sum("size"))["total"] or 0
    for index, item in enumerate(checked):
        used += len(item.data)
        if used > quota:
            raise AttachmentError(
                item.name,
                f"your attachments would take {_size(used)}, over your quota of {_size(quota)}; "
                "delete sessions with files you no longer need",
                index,
            )


def sniff(name: str, data: bytes) -> tuple[str, str, str]:
    """(content type, kind, text) of a file, from its bytes; raises AttachmentError when not allowed."""
    guessed = filetype.guess_mime(data)
    if guessed is None:
        text = _as_text(data)
        if text is None:
            raise AttachmentError(
                name,
                "unrecognised binary content; allowed are text, images, PDF and the types in ATTACHMENT_ALLOWED_TYPES",
            )
        by_name = mimetypes.guess_type(name)[0] or ""
        content_type = by_name if by_name.startswith("text/") or by_name in _TEXT_LIKE else "text/plain"
        return content_type, AttachmentKind.TEXT.value, text
    if guessed not in settings.ATTACHMENT_ALLOWED_TYPES:
        raise AttachmentError(name, f"its content is {guessed}, which is not an allowed type")
    if guessed == "application/pdf":
        return guessed, AttachmentKind.PDF.value, pdf_text(name, data)
    if guessed in IMAGE_TYPES:
        return guessed, AttachmentKind.IMAGE.value, ""
    return guessed, AttachmentKind.FILE.value, ""


def _as_text(data: bytes) -> str | None:
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


def pdf_text(name: str, data: bytes) -> str:
    """A PDF's text, page after page; a PDF that cannot be read is refused."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise AttachmentError(name, "the PDF is encrypted; upload a copy without a password")
        pages = [page.extract_text() or "" for page in reader.pages]
    except AttachmentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise AttachmentError(name, f"not a readable PDF ({type(exc).__name__})") from None
    return "\n\n".join(p.strip() for p in pages if p.strip()).replace("\x00", "")


def _size(n: int) -> str:
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KiB"
    return f"{n / 1024 / 1024:.1f} MiB"


# ------------------------------------------------------------------ storing


def describe(attachment: Attachment) -> dict[str, Any]:
    """What a message row, the wire and the engine know of a file (runs.shapes adds its URL)."""
    return {
        "id": attachment.id,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "kind": str(attachment.kind),
    }


def store(*, run_id: int, message_id: int | None, files: Iterable[Checked]) -> list[Attachment]:
    """Save checked files in the default storage as attachments of a run's message.

    A failure midway deletes the files this call wrote. Storage is not transactional: a caller whose
    transaction fails after this returned deletes the returned attachments' files (`delete_files`).
    """
    stored: list[Attachment] = []
    try:
        for item in files:
            attachment = Attachment(
                run_id=run_id,
                message_id=message_id,
                name=item.name,
                content_type=item.content_type,
                size=len(item.data),
                kind=item.kind,
                text=item.text,
            )
            attachment.file.save(item.name, ContentFile(item.data), save=False)
            stored.append(attachment)
            attachment.save()
    except BaseException:
        delete_files(a.file.name for a in stored)
        raise
    return stored


def store_image(*, run_id: int, message_id: int | None, name: str, data: bytes) -> dict[str, Any]:
    """Store an image a run produced (an MCP tool's result, a model's image) as an attachment of its message.

    The public way in for code other than the task's ways in: the bytes are sniffed like any upload
    and must be an allowed image within ATTACHMENT_MAX_BYTES (AttachmentError otherwise). Returns the
    descriptor to put in the message's `attachments`; the caller stores the message.
    """
    checked = _check_one(Upload(name=name or "image", data=data), 0)
    if checked.kind != AttachmentKind.IMAGE:
        raise AttachmentError(checked.name, f"its content is {checked.content_type}, not an image")
    return describe(store(run_id=run_id, message_id=message_id, files=[checked])[0])


def store_tool_images(*, run_id: int, wire: dict[str, Any]) -> list[dict[str, Any]]:
    """Take the images out of a ToolCallExecutionEvent's results (`parts`: base64 from an MCP tool)
    and store each as an attachment of the run, not yet of a message: the message's row then keeps
    descriptors, each with its result's `call_id`, instead of the bytes. The results' text, which the
    model reads and which names each image, is left as it is. An image refused (not an allowed image,
    too big) is dropped with a warning; the caller links the rest (`link_to_message`) or `discard`s them.
    """
    descriptors: list[dict[str, Any]] = []
    try:
        for result in wire.get("content") or []:
            if not isinstance(result, dict):
                continue
            call_id, tool = str(result.get("call_id", "")), str(result.get("name", "")) or "tool"
            for i, part in enumerate(result.pop("parts", None) or [], start=1):
                if not isinstance(part, dict) or part.get("type") != "image":
                    continue
                extension = mimetypes.guess_extension(str(part.get("mime_type", ""))) or ""
                name = f"{tool}-{i}{extension}"
                try:
                    data = base64.b64decode(str(part.get("data", "")), validate=True)
                    descriptor = store_image(run_id=run_id, message_id=None, name=name, data=data)
                except (binascii.Error, AttachmentError) as exc:
                    logger.warning("run %s: tool %s returned an image that is not kept: %s", run_id, tool, exc)
                    continue
                descriptors.append({**descriptor, "call_id": call_id})
    except BaseException:
        discard(descriptors)
        raise
    return descriptors


def link_to_message(message_id: int, descriptors: Iterable[dict[str, Any]]) -> None:
    """Make attachments stored before their message (`store_tool_images`) that message's."""
    Attachment.objects.filter(id__in=[d["id"] for d in descriptors]).update(message_id=message_id)


def discard(descriptors: Iterable[dict[str, Any]]) -> None:
    """Delete attachments whose message was never stored: their rows, then their files."""
    Attachment.objects.filter(id__in=[d["id"] for d in descriptors]).delete()  # the files go with the rows


def attach_to_message(message: Message, descriptors: list[dict[str, Any]]) -> None:
    """Record descriptors on their message's row (a task's message turns MultiModalMessage)."""
    message.attachments = [*message.attachments, *descriptors]
    Message.objects.filter(id=message.id).update(attachments=message.attachments)


def delete_files(names: Iterable[str]) -> None:
    """Delete stored files; a file already gone is not an error."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete attachment file %s", name, exc_info=True)


def remove_file_after_commit(sender: Any, instance: Attachment, using: str, **kwargs: Any) -> None:
    """post_delete of an Attachment: delete its file once the deletion is committed (a rollback
    keeps the row, so it must keep the file)."""
    name = instance.file.name
    if name:
        transaction.on_commit(lambda: delete_files([name]), using=using)


def file_names(**filters: Any) -> list[str]:
    """The storage names of the attachments matching `filters` (e.g. run__session_id=...)."""
    return list(Attachment.objects.filter(**filters).values_list("file", flat=True))


# ------------------------------------------------------------------ to the engine


def vision_note(team_config: dict[str, Any], files: Iterable[Checked | Attachment]) -> str:
    """The note a task's message carries when some agent's model is not sent its images ("" if none)."""
    images = [f.name for f in files if f.kind == AttachmentKind.IMAGE]
    try:
        config = validate_team_config(team_config)
    except TeamConfigError:
        return ""  # the run fails with that error itself
    blind = [p.name for p in config.participants if isinstance(p, AssistantAgentConfig) and not accepts_images(p.model)]
    if not images or not blind:
        return ""
    return (
        f"Not shown to {', '.join(blind)}: {', '.join(images)}. Their model's config does not say it accepts "
        "images (model_info.vision), so they get each image's name and size with the task's text."
    )


def engine_parts(messages: Iterable[Message]) -> dict[int, list[dict[str, Any]]]:
    """The content parts of each message with files, by message id, for the Django-free engine:

    `{"kind": "image", "name", "content_type", "size", "data": <base64>}`,
    `{"kind": "text" | "pdf", ..., "text": <the text>}`, `{"kind": "file", ...}` (name and size only).
    A file missing from storage is given by name only, with a note.
    """
    wanted = {d["id"]: m.id for m in messages for d in m.attachments if isinstance(d, dict) and "id" in d}
    if not wanted:
        return {}
    parts: dict[int, list[dict[str, Any]]] = {}
    for attachment in Attachment.objects.filter(id__in=wanted).order_by("id"):
        parts.setdefault(wanted[attachment.id], []).append(_part(attachment))
    return parts


def _part(attachment: Attachment) -> dict[str, Any]:
    part = describe(attachment)
    if attachment.kind in (AttachmentKind.TEXT, AttachmentKind.PDF):
        part["text"] = attachment.text
    elif attachment.kind == AttachmentKind.IMAGE and settings.ATTACHMENT_MODEL_IMAGES == "signed":
        part["url"] = signed_url(attachment.id)
    elif attachment.kind == AttachmentKind.IMAGE:
        try:
            with attachment.file.open("rb") as handle:
                part["data"] = base64.b64encode(handle.read()).decode("ascii")
        except OSError:
            logger.warning("attachment %s: file missing from storage", attachment.id)
            part["missing"] = True
    return part


# ------------------------------------------------------------------ signed URLs for the model's server

_SIGNER_SALT = "runs.attachments.signed"


def signed_url(attachment_id: int) -> str:
    """An address the model's server fetches an image from without a login, valid for
    ATTACHMENT_SIGNED_URL_SECONDS (ATTACHMENT_MODEL_IMAGES=signed)."""
    token = signing.TimestampSigner(salt=_SIGNER_SALT).sign(str(attachment_id))
    return f"{settings.ATTACHMENT_PUBLIC_URL}/api/attachments/signed/{token}"


def attachment_for_token(token: str) -> Attachment:
    """The attachment a signed URL names; Attachment.DoesNotExist (a 404) when forged or expired."""
    try:
        value = signing.TimestampSigner(salt=_SIGNER_SALT).unsign(token, max_age=settings.ATTACHMENT_SIGNED_URL_SECONDS)
    except signing.BadSignature:
        raise Attachment.DoesNotExist("no such attachment, or the link has expired") from None
    return Attachment.objects.get(id=int(value), kind=AttachmentKind.IMAGE)
