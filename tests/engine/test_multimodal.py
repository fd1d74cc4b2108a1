"""A task with files as each model reads it (no Django): image parts for vision only, text with names."""

from __future__ import annotations

from agents_app.engine import MultiModalMessage, message_from_wire
from agents_app.engine.context import agent_context, attached_names

IMAGE = {"id": 1, "name": "red.png", "content_type": "image/png", "size": 95, "kind": "image", "data": "iVBOR"}
NOTES = {"id": 2, "name": "notes.md", "content_type": "text/markdown", "size": 12, "kind": "text", "text": "# ship"}
NOTES_TEXT = "[attached: notes.md (text/markdown, 12 bytes)]\n# ship"
ZIP = {"id": 3, "name": "data.zip", "content_type": "application/zip", "size": 4096, "kind": "file"}


def task(*parts: dict[str, object]) -> MultiModalMessage:
    return MultiModalMessage(source="user", content="Look", attachments=list(parts))


def test_vision_model_gets_an_image_part_between_text_parts() -> None:
    (user,) = agent_context("a", "", [task(IMAGE, NOTES, ZIP)], vision=True)
    assert user["content"] == [
        {"type": "text", "text": "Look"},
        {"type": "text", "text": "[attached: red.png (image/png, 95 bytes)]"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
        {"type": "text", "text": f"{NOTES_TEXT}\n\n[attached: data.zip (application/zip, 4.0 KiB)]"},
    ]
    assert attached_names(user["content"]) == ["red.png", "notes.md", "data.zip"]


def test_other_models_get_one_string_naming_the_image() -> None:
    (user,) = agent_context("a", "", [task(IMAGE, NOTES)], vision=False)
    assert user["content"] == (
        "Look\n\n[attached: red.png (image/png, 95 bytes)]\n(not shown: this model does not accept images)\n\n"
        "[attached: notes.md (text/markdown, 12 bytes)]\n# ship"
    )


def test_wire_round_trip_keeps_descriptors_not_bodies() -> None:
    wire = task(IMAGE, NOTES).to_wire()
    assert wire["type"] == "MultiModalMessage" and wire["content"] == "Look"
    assert wire["attachments"][0] == {k: v for k, v in IMAGE.items() if k != "data"}
    assert "text" not in wire["attachments"][1]
    back = message_from_wire(wire)
    assert isinstance(back, MultiModalMessage) and back.to_text() == "Look\n[attached: red.png]\n[attached: notes.md]"


def test_autogen_shaped_content_list_is_read_as_its_text() -> None:
    message = message_from_wire(
        {"source": "user", "type": "MultiModalMessage", "content": ["Look", {"url": "/api/attachments/1"}]}
    )
    assert isinstance(message, MultiModalMessage) and message.content == "Look" and message.attachments == []
