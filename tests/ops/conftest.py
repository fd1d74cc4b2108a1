from __future__ import annotations

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a manage.py/daphne subprocess that shares this test run's database."""
    import os

    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST", "DJANGO_SETTINGS"))}
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        env.pop("DATABASE_URL", None)
        env["SQLITE_PATH"] = str(db["NAME"])
    else:
        env["DATABASE_URL"] = (
            f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
        )
    env.update(PYTHONUNBUFFERED="1", OPENAI_API_KEY="test-key", **extra)
    return env
