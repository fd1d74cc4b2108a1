"""GET /api/attachments/{id}: a run's file, to the run's owner only (404 for everyone else).

Never a public media URL: every fetch checks ownership, except a signed link made for a model's server
(ATTACHMENT_MODEL_IMAGES=signed), which names one image and expires. Images are shown inline; any other file is
sent as a download, text always as text/plain, so nothing a user uploaded runs in this origin.
"""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from ninja import Router

from playground.errors import ApiError
from runs import attachments, selectors
from runs.models import Attachment, AttachmentKind

router = Router(tags=["attachments"])


@router.get("/{attachment_id}", response={200: None}, summary="Download an attachment")
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    return _file_response(selectors.attachment_get_owned(user=request.user, attachment_id=attachment_id))


@router.get("/signed/{token}", response={200: None}, auth=None, summary="An image by a signed link (for model servers)")
def attachment_signed(request: HttpRequest, token: str) -> FileResponse:
    """An image given to a model as a URL (ATTACHMENT_MODEL_IMAGES=signed): the link is the credential,
    for ATTACHMENT_SIGNED_URL_SECONDS; forged or expired links get 404."""
    return _file_response(attachments.attachment_for_token(token))


def _file_response(attachment: Attachment) -> FileResponse:
    attachment_id = attachment.id
    image = attachment.kind == AttachmentKind.IMAGE
    content_type = attachment.content_type if image or attachment.kind != AttachmentKind.TEXT else "text/plain"
    if attachment.kind == AttachmentKind.TEXT:
        content_type += "; charset=utf-8"
    try:
        handle = attachment.file.open("rb")
    except OSError:
        raise ApiError(404, f"the file of attachment {attachment_id} is missing from storage") from None
    response = FileResponse(handle, as_attachment=not image, filename=attachment.name, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
