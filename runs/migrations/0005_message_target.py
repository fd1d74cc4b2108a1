"""Message.target becomes a column, and `partial` and `target` leave `metadata`.

A hand-off's target used to be stored as metadata["target"], and the engine's wire dict once
carried partial text as metadata["partial"] == "true". Both are fields now, in the database and
on every wire.
"""

from typing import Any

from django.db import migrations, models

BATCH = 500


def fields_out_of_metadata(apps: Any, schema_editor: Any) -> None:
    Message = apps.get_model("runs", "Message")
    moved = Message.objects.filter(models.Q(metadata__has_key="target") | models.Q(metadata__has_key="partial"))
    batch = []
    for message in moved.iterator(chunk_size=BATCH):
        metadata = dict(message.metadata)
        target = metadata.pop("target", None)
        if target is not None:
            message.target = str(target)[:200]
        if str(metadata.pop("partial", "")).lower() == "true":
            message.partial = True
        message.metadata = metadata
        batch.append(message)
        if len(batch) == BATCH:
            Message.objects.bulk_update(batch, ["target", "partial", "metadata"])
            batch = []
    Message.objects.bulk_update(batch, ["target", "partial", "metadata"])


def target_into_metadata(apps: Any, schema_editor: Any) -> None:
    Message = apps.get_model("runs", "Message")
    batch = []
    for message in Message.objects.exclude(target="").iterator(chunk_size=BATCH):
        message.metadata = {**message.metadata, "target": message.target}
        batch.append(message)
        if len(batch) == BATCH:
            Message.objects.bulk_update(batch, ["metadata"])
            batch = []
    Message.objects.bulk_update(batch, ["metadata"])


class Migration(migrations.Migration):
    dependencies = [("runs", "0004_run_forks_and_model_override")]

    operations = [
        migrations.AddField(
            model_name="message",
            name="target",
            field=models.CharField(
                blank=True, default="", help_text="Whom a HandoffMessage hands over to; empty otherwise.", max_length=200
            ),
        ),
        migrations.RunPython(fields_out_of_metadata, target_into_metadata),
    ]
