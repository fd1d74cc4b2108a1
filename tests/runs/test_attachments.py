"""Attachments: each way in (REST JSON with base64, REST multipart, the WebSocket's start `files`), the
refusals (oversize, too many, disguised type, quota), privacy (404 for others), session delete, replay."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from agents_app.models import Team
from runs import attachments, services
from runs.models import Attachment, Message, Run, Session
from tests.runs.conftest import create_run, gallery_config
from tests.runs.test_api import api, wait_for
from tests.runs.wsclient import connect, receive, receive_until
from tests.support import files

ALLOWED = "allowed are text, images, PDF and the types in ATTACHMENT_ALLOWED_TYPES"
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("embedded_runtime")]


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def team(alice: Any) -> Team:
    config = gallery_config("writer_critic")
    return Team.objects.create(owner=alice, name=config["name"], config=config)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def stored_files(media: Path) -> list[Path]:
    return [p for p in media.rglob("*") if p.is_file()] if media.exists() else []


# ------------------------------------------------------------------ REST


def test_json_base64_files_are_stored_with_the_task(alice_token: str, team: Team, media: Path) -> None:
    client = api(alice_token)
    body = {
        "team_id": team.id,
        "task": "Describe the picture and sum the CSV",
        "files": [
            {"name": "red.png", "type": "image/png", "content": b64(files.png())},
            {"name": "numbers.csv", "type": "text/csv", "content": b64(b"a,b\n1,2\n")},
        ],
    }
    response = client.post("/api/runs", body, content_type="application/json")
    assert response.status_code == 201, response.content
    run = wait_for(response.json()["id"], {"complete"})
    task = Message.objects.get(run=run, seq=1)
    assert task.type == "MultiModalMessage" and task.content == "Describe the picture and sum the CSV"
    assert [(a["name"], a["content_type"], a["kind"]) for a in task.attachments] == [
        ("red.png", "image/png", "image"),
        ("numbers.csv", "text/csv", "text"),
    ]
    assert len(stored_files(media)) == 2
    # The AutoGen shape: the text, then each image by URL; every file in `attachments`.
    shown = client.get(f"/api/runs/{run.id}/messages").json()["items"][0]
    image = shown["attachments"][0]
    assert shown["content"] == ["Describe the picture and sum the CSV", {"url": image["url"], "alt": "red.png"}]
    assert image["url"] == f"/api/attachments/{image['id']}" and image["size"] == len(files.png())
    download = client.get(image["url"])
    assert download.status_code == 200 and b"".join(download.streaming_content) == files.png()
    assert download["Content-Type"] == "image/png" and download["X-Content-Type-Options"] == "nosniff"
    csv = client.get(shown["attachments"][1]["url"])
    assert csv["Content-Type"] == "text/plain; charset=utf-8" and "attachment" in csv["Content-Disposition"]
    # The scripted writer acknowledges both files.
    writer = Message.objects.get(run=run, seq=2)
    assert "Received 2 attachments: red.png, numbers.csv" in writer.content


def test_multipart_request_with_files(alice_token: str, team: Team, media: Path) -> None:
    client = api(alice_token)
    response = client.post(
        "/api/runs",
        {
            "team_id": str(team.id),
            "task": "42",  # a text field stays text, even when it looks like a number
            "files": [
                SimpleUploadedFile("report.pdf", files.pdf("Revenue rose 12 percent"), "application/pdf"),
                SimpleUploadedFile("notes.md", b"# Notes\nship on Friday\n", "text/markdown"),
            ],
        },
    )
    assert response.status_code == 201, response.content
    run = wait_for(response.json()["id"], {"complete"})
    assert run.task == "42"
    stored = list(Attachment.objects.filter(run=run).order_by("id"))
    assert [(a.name, a.kind) for a in stored] == [("report.pdf", "pdf"), ("notes.md", "text")]
    assert stored[0].text == "Revenue rose 12 percent" and stored[1].message_id is not None
    assert len(stored_files(media)) == 2


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        ("big.txt", b"x" * 2049, "2049 bytes, over the limit of 2.0 KiB per file"),
        ("cat.png", files.elf(), "its content is application/x-executable, which is not an allowed type"),
        (
            "blob.bin",
            b"\x00\x01\x02\xff" * 8,
            "unrecognised binary content; allowed are text, images, PDF and the types in ATTACHMENT_ALLOWED_TYPES",
        ),
    ],
)
def test_refused_file_is_named_and_no_run_is_created(
    alice_token: str, team: Team, media: Path, settings: Any, name: str, data: bytes, problem: str
) -> None:
    settings.ATTACHMENT_MAX_BYTES = 2048
    ok = {"name": "fine.txt", "content": b64(b"fine")}
    body = {"team_id": team.id, "task": "Keep this task", "files": [ok, {"name": name, "content": b64(data)}]}
    response = api(alice_token).post("/api/runs", body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()
    assert error["detail"] == f"File refused: {name}: {problem}"
    assert error["errors"] == [{"path": "files[1]", "message": f"{name}: {problem}"}]
    assert not Run.objects.exists() and not Attachment.objects.exists()
    assert stored_files(media) == []


def test_too_many_files_refused(alice_token: str, team: Team, settings: Any) -> None:
    settings.ATTACHMENT_MAX_FILES = 2
    body = {"team_id": team.id, "task": "t", "files": [{"name": f"{i}.txt", "content": b64(b"x")} for i in range(3)]}
    response = api(alice_token).post("/api/runs", body, content_type="application/json")
    assert response.status_code == 400
    assert "3 files given; a task may carry at most 2" in response.json()["detail"]
    assert not Run.objects.exists()


def test_quota_counts_what_the_user_already_stored(
    alice: Any, alice_token: str, team: Team, settings: Any, media: Path
) -> None:
    settings.ATTACHMENT_QUOTA_BYTES = 100
    client = api(alice_token)
    first = {"team_id": team.id, "task": "one", "files": [{"name": "a.txt", "content": b64(b"a" * 60)}]}
    assert client.post("/api/runs", first, content_type="application/json").status_code == 201
    second = {"team_id": team.id, "task": "two", "files": [{"name": "b.txt", "content": b64(b"b" * 60)}]}
    response = client.post("/api/runs", second, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("b.txt: your attachments would take 120 bytes")
    assert Run.objects.count() == 1 and len(stored_files(media)) == 1


def test_bad_base64_is_named(alice_token: str, team: Team) -> None:
    body = {"team_id": team.id, "task": "t", "files": [{"name": "x.png", "content": "not base64!"}]}
    response = api(alice_token).post("/api/runs", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "files[0]"
    assert "x.png: its content is not valid base64" in response.json()["detail"]


def test_files_without_a_task_are_refused(alice_token: str, team: Team) -> None:
    body = {"team_id": team.id, "files": [{"name": "a.txt", "content": b64(b"a")}]}
    response = api(alice_token).post("/api/runs", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["errors"][0]["path"] == "task"


def test_another_user_gets_404_for_an_attachment(alice_token: str, bob_token: str, team: Team) -> None:
    body = {"team_id": team.id, "task": "t", "files": [{"name": "red.png", "content": b64(files.png())}]}
    run_id = api(alice_token).post("/api/runs", body, content_type="application/json").json()["id"]
    attachment = Attachment.objects.get(run_id=run_id)
    assert api(alice_token).get(f"/api/attachments/{attachment.id}").status_code == 200
    assert api(bob_token).get(f"/api/attachments/{attachment.id}").status_code == 404
    assert Client().get(f"/api/attachments/{attachment.id}").status_code == 401
    assert api(bob_token).get("/api/attachments/999999").status_code == 404


def test_session_delete_removes_the_files_from_storage(alice: Any, alice_token: str, team: Team, media: Path) -> None:
    client = api(alice_token)
    session = services.session_create(owner=alice, name="with files", team=team)
    body = {"session_id": session.id, "task": "t", "files": [{"name": "red.png", "content": b64(files.png())}]}
    run_id = client.post("/api/runs", body, content_type="application/json").json()["id"]
    wait_for(run_id, {"complete"})
    name = Attachment.objects.get(run_id=run_id).file.name
    assert default_storage.exists(name)
    assert client.delete(f"/api/sessions/{session.id}").status_code == 204
    assert not Session.objects.exists() and not Attachment.objects.exists()
    assert not default_storage.exists(name) and stored_files(media) == []


def test_deleting_a_user_removes_their_files_after_commit(
    alice: Any, alice_token: str, team: Team, media: Path
) -> None:
    client = api(alice_token)
    body = {"team_id": team.id, "task": "t", "files": [{"name": "red.png", "content": b64(files.png())}]}
    run_id = client.post("/api/runs", body, content_type="application/json").json()["id"]
    wait_for(run_id, {"complete"})
    name = Attachment.objects.get(run_id=run_id).file.name
    with pytest.raises(RuntimeError), transaction.atomic():
        type(alice).objects.get(id=alice.id).delete()
        raise RuntimeError("rolled back")
    assert Attachment.objects.filter(run_id=run_id).exists() and default_storage.exists(name)  # kept with its row
    type(alice).objects.get(id=alice.id).delete()  # the account: its runs and their attachments go by cascade
    assert not Run.objects.exists() and not Attachment.objects.exists()
    assert not default_storage.exists(name) and stored_files(media) == []


def test_store_image_for_a_run_message(alice: Any, team: Team) -> None:
    run_id = create_run(alice, gallery_config("writer_critic"))
    message = services.message_append(run_id=run_id, source="tool", type="TextMessage", content="a chart")
    descriptor = attachments.store_image(run_id=run_id, message_id=message.id, name="chart.png", data=files.png())
    assert descriptor["kind"] == "image" and Attachment.objects.get(id=descriptor["id"]).message_id == message.id
    with pytest.raises(attachments.AttachmentError, match="not an image"):
        attachments.store_image(run_id=run_id, message_id=message.id, name="x.png", data=b"text")


# ------------------------------------------------------------------ WebSocket


async def test_start_frame_files_are_stored_and_replayed(alice: Any, alice_token: str, media: Path) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    start = {
        "type": "start",
        "task": "What is in the picture?",
        "files": [{"name": "red.png", "type": "image/png", "content": b64(files.png())}],
    }
    await comm.send_json_to(start)
    frames: list[dict[str, Any]] = []
    await receive_until(comm, {"result", "completion"}, keep=frames)
    task = next(f for f in frames if f["type"] == "message" and f["seq"] == 1)["data"]
    assert task["type"] == "MultiModalMessage"
    url = task["attachments"][0]["url"]
    assert task["content"] == ["What is in the picture?", {"url": url, "alt": "red.png"}]
    await comm.disconnect()
    # Reconnecting replays the task with its files.
    again = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(again)
    replayed = await receive(again)
    assert replayed["seq"] == 1 and replayed["data"]["attachments"] == task["attachments"]
    await again.disconnect()
    assert len(stored_files(media)) == 1


async def test_refused_start_file_keeps_the_run_startable(alice: Any, alice_token: str, media: Path) -> None:
    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    bad = {"type": "start", "task": "t", "files": [{"name": "cat.png", "content": b64(files.elf())}]}
    await comm.send_json_to(bad)
    error = await receive(comm)
    assert error["type"] == "error" and error["file"] == "cat.png"
    assert error["error"].startswith("file refused: cat.png: its content is application/x-executable")
    assert (await Run.objects.aget(id=run_id)).status == "created" and stored_files(media) == []
    await comm.send_json_to({"type": "start", "task": "t"})  # the same task without the file: it runs
    result = await receive_until(comm, {"result", "completion"})
    assert result["type"] == "result"
    await comm.disconnect()


async def test_big_frames_only_for_a_start_with_files(alice: Any, alice_token: str, settings: Any) -> None:
    settings.WS_MAX_FRAME_BYTES = 1024
    run_id = await sync_to_async(create_run)(alice, gallery_config("writer_critic"))
    comm = await connect(f"/runs/{run_id}?token={alice_token}")
    await receive(comm)
    await comm.send_json_to({"type": "input_response", "response": "x" * 2000})
    assert "frame too large (limit 1024 bytes without files)" in (await receive(comm))["error"]
    start = {"type": "start", "task": "t", "files": [{"name": "a.txt", "content": b64(b"a" * 2000)}]}
    await comm.send_json_to(start)
    frames: list[dict[str, Any]] = []
    await receive_until(comm, {"result", "completion"}, keep=frames)
    assert next(f for f in frames if f["type"] == "message")["data"]["attachments"][0]["name"] == "a.txt"
    await comm.disconnect()


def test_export_carries_the_files(alice_token: str, team: Team) -> None:
    client = api(alice_token)
    body = {"team_id": team.id, "task": "See the files", "files": [{"name": "red.png", "content": b64(files.png())}]}
    run_id = client.post("/api/runs", body, content_type="application/json").json()["id"]
    wait_for(run_id, {"complete"})
    doc = client.get(f"/api/runs/{run_id}/export").json()
    (attachment,) = doc["messages"][0]["attachments"]
    assert attachment["name"] == "red.png" and attachment["url"] == f"/api/attachments/{attachment['id']}"
    markdown = client.get(f"/api/runs/{run_id}/export?format=markdown").content.decode()
    assert "### 1 · user (MultiModalMessage)\n\nSee the files\n\n- Attachment: [red.png](/api/attachments/" in markdown
    assert "> Not shown to writer, critic: red.png." in markdown


def test_admin_deletes_remove_the_files_too(alice: Any, alice_token: str, team: Team, media: Path) -> None:
    from django.contrib import admin as django_admin

    from runs.admin import RunAdmin, SessionAdmin

    client = api(alice_token)
    session = services.session_create(owner=alice, name="s", team=team)
    body = {"session_id": session.id, "task": "t", "files": [{"name": "a.txt", "content": b64(b"a")}]}
    in_session = client.post("/api/runs", body, content_type="application/json").json()["id"]
    body = {"team_id": team.id, "task": "t", "files": [{"name": "b.txt", "content": b64(b"b")}]}
    alone = client.post("/api/runs", body, content_type="application/json").json()["id"]
    wait_for(in_session, {"complete"})
    wait_for(alone, {"complete"})
    assert len(stored_files(media)) == 2
    RunAdmin(Run, django_admin.site).delete_queryset(None, Run.objects.filter(id=alone))  # type: ignore[arg-type]
    assert len(stored_files(media)) == 1 and Run.objects.filter(id=alone).count() == 0
    SessionAdmin(Session, django_admin.site).delete_model(None, session)  # type: ignore[arg-type]
    assert stored_files(media) == [] and not Attachment.objects.exists()
