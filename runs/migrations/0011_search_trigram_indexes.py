"""Trigram indexes for the admin's substring search (icontains, which Django writes as UPPER(col) LIKE
UPPER('%term%')) on runs' task and error and messages' source: PostgreSQL only; SQLite has no
pg_trgm and scans, as before. Built concurrently so that a deployment's writes go on meanwhile."""

import logging

from django.db import DatabaseError, migrations

logger = logging.getLogger(__name__)

INDEXES = {
    "run_task_trgm": ("runs_run", 'UPPER("task"::text)'),
    "run_error_trgm": ("runs_run", 'UPPER("error"::text)'),
    "message_source_trgm": ("runs_message", 'UPPER("source"::text)'),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:  # a role that may not create extensions: searches work, unindexed, as before
        logger.warning("pg_trgm unavailable (%s): the admin's substring search stays without trigram indexes", exc)
        return
    for name, (table, expression) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" USING gin (({expression}) gin_trgm_ops)'
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY may not run inside a transaction

    dependencies = [
        ("runs", "0010_message_run_index_is_the_seq_index"),
    ]

    operations = [migrations.RunPython(create, drop)]
