"""Attachments reach the model: the request bodies the local OpenAI-compatible server received.

One run of two agents on the fake server, the task with an image, a text file and a PDF sent as
multipart: the agent whose config says `model_info.vision` gets the image as an image part, the other
gets its name and a note (and the task's message says so); both get the text file and the PDF's text.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from agents_app.models import Team
from runs.models import Message
from tests.runs.test_api import api, wait_for
from tests.support import files
from tests.support.fake_openai import FakeOpenAIThread

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]


@pytest.fixture(scope="module")
def fake_openai() -> Iterator[FakeOpenAIThread]:
    with FakeOpenAIThread() as server:
        yield server


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = str(tmp_path / "media")


def agent(name: str, server: FakeOpenAIThread, vision: bool) -> dict[str, Any]:
    model = {"provider": "openai", "model": f"fake-{name}", "base_url": server.base_url, "max_retries": 0}
    if vision:
        model["model_info"] = {"vision": True}
    return {"kind": "assistant", "name": name, "model": model, "model_client_stream": True}


def test_images_only_to_vision_models_text_and_pdf_to_all(
    alice: Any, alice_token: str, fake_openai: FakeOpenAIThread
) -> None:
    config = {
        "name": "eyes and ears",
        "kind": "round_robin",
        "participants": [agent("seer", fake_openai, vision=True), agent("reader", fake_openai, vision=False)],
        "max_turns": 2,
    }
    team = Team.objects.create(owner=alice, name="eyes and ears", config=config)
    picture = files.png(3, 2)
    response = api(alice_token).post(
        "/api/runs",
        {
            "team_id": str(team.id),
            "task": "Compare the picture with the notes",
            "files": [
                SimpleUploadedFile("red.png", picture, "image/png"),
                SimpleUploadedFile("notes.txt", b"The square is red.\n", "text/plain"),
                SimpleUploadedFile("report.pdf", files.pdf("Quarterly revenue rose 12 percent"), "application/pdf"),
            ],
        },
    )
    assert response.status_code == 201, response.content
    run = wait_for(response.json()["id"], {"complete", "error"})
    assert run.status == "complete", run.error

    (seer,) = fake_openai.server.chat_requests("fake-seer")[-1:]
    (reader,) = fake_openai.server.chat_requests("fake-reader")[-1:]
    task_to_seer = next(m for m in seer.body["messages"] if m["role"] == "user")["content"]
    task_to_reader = next(m for m in reader.body["messages"] if m.get("name") == "user")["content"]

    # The vision model: text parts and the image as a data URL of the very bytes uploaded.
    assert isinstance(task_to_seer, list)
    images = [p for p in task_to_seer if p["type"] == "image_url"]
    assert images == [{"type": "image_url", "image_url": {"url": f"data:image/png;base64,{b64(picture)}"}}]
    seer_text = "\n".join(p["text"] for p in task_to_seer if p["type"] == "text")
    assert "Compare the picture with the notes" in seer_text and "[attached: red.png (image/png, " in seer_text
    assert "[attached: notes.txt (text/plain, 19 bytes)]\nThe square is red." in seer_text
    assert "[attached: report.pdf (application/pdf, " in seer_text and "Quarterly revenue rose 12 percent" in seer_text

    # The other model: one string, no image part, the image named with a note; text and PDF text present.
    assert isinstance(task_to_reader, str)
    assert "image_url" not in str(reader.body) and b64(picture) not in str(reader.body)
    assert "[attached: red.png (image/png, " in task_to_reader and "this model does not accept images" in task_to_reader
    assert "The square is red." in task_to_reader and "Quarterly revenue rose 12 percent" in task_to_reader

    task = Message.objects.get(run=run, seq=1)
    assert task.metadata["note"].startswith("Not shown to reader: red.png.")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_signed_urls_instead_of_data_urls_when_configured(
    alice: Any, alice_token: str, fake_openai: FakeOpenAIThread, settings: Any
) -> None:
    settings.ATTACHMENT_MODEL_IMAGES = "signed"
    settings.ATTACHMENT_PUBLIC_URL = "http://testserver"
    config = {"name": "eyes", "kind": "round_robin", "participants": [agent("eyes", fake_openai, True)], "max_turns": 1}
    team = Team.objects.create(owner=alice, name="eyes", config=config)
    picture = files.png(5, 5)
    body = {"team_id": team.id, "task": "What colour?", "files": [{"name": "red.png", "content": b64(picture)}]}
    run_id = api(alice_token).post("/api/runs", body, content_type="application/json").json()["id"]
    assert wait_for(run_id, {"complete", "error"}).status == "complete"
    request = fake_openai.server.chat_requests("fake-eyes")[-1]
    content = next(m for m in request.body["messages"] if m["role"] == "user")["content"]
    (image,) = [p for p in content if p["type"] == "image_url"]
    url = image["image_url"]["url"]
    assert url.startswith("http://testserver/api/attachments/signed/") and b64(picture) not in str(request.body)
    # The link is the credential: no login needed, the bytes uploaded; a forged or expired one is a 404.
    anonymous = Client()
    fetched = anonymous.get(url.removeprefix("http://testserver"))
    assert fetched.status_code == 200 and b"".join(fetched.streaming_content) == picture
    assert anonymous.get(url.removeprefix("http://testserver") + "x").status_code == 404
    settings.ATTACHMENT_SIGNED_URL_SECONDS = -1
    assert anonymous.get(url.removeprefix("http://testserver")).status_code == 404
