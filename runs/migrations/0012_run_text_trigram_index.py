"""One trigram index over a run's task and error together (runs.admin.RunText, which Django's icontains
writes as UPPER((task || chr(10) || error)::text) LIKE UPPER('%term%')): the admin's search then finds
each term with one index condition, where a LIKE on each column, ORed, made PostgreSQL scan every run
(10,000 runs: 15-16 ms for the page and again for its count). PostgreSQL only, as 0011."""

import logging

from django.db import DatabaseError, migrations

logger = logging.getLogger(__name__)

NAME = "run_text_trgm"
EXPRESSION = """UPPER(("task" || chr(10) || "error")::text)"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError as exc:  # as in 0011: the search works unindexed
        logger.warning("pg_trgm unavailable (%s): the admin's run search stays without its trigram index", exc)
        return
    schema_editor.execute(
        f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{NAME}" ON "runs_run" USING gin (({EXPRESSION}) gin_trgm_ops)'
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{NAME}"')


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY may not run inside a transaction

    dependencies = [
        ("runs", "0011_search_trigram_indexes"),
    ]

    operations = [migrations.RunPython(create, drop)]
