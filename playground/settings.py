"""One settings module, driven by the environment alone.

Nothing set: SQLite, the in-memory channel layer and in-process (inline) run
execution, DEBUG on. `DATABASE_URL` selects a database; `REDIS_URL` switches on
channels_redis, the Celery broker and the Celery executor. `.env.example`
lists every variable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"{name}={value!r} is not a boolean (use true/false)")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not an integer") from None


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


def env_json(name: str, default: Any) -> Any:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        return json.loads(value)
    except ValueError as exc:
        raise ValueError(f"{name} is not valid JSON: {exc}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "playground",
    "accounts",
    "agents_app",
    "runs",
    "ops",
    "traces",
    "webhooks",
    "providers",
    "mcp_servers",
]

MIDDLEWARE = [
    "playground.middleware.pooled_requests",  # first: requests run on the process's pool of request threads
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "playground.schemas.keep_multipart_body",  # before anything reads a multipart form (CSRF)
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "playground.middleware.sync_middleware_chain",  # last: the middleware above runs in sync mode, on one thread
]

# Requests inside Django at once per process: the threads of its request pool (playground/middleware.py),
# each keeping a database connection. 0: a thread and a connection made for each request (Django's default).
WEB_MAX_CONCURRENT_REQUESTS = env_int("WEB_MAX_CONCURRENT_REQUESTS", 16)

ROOT_URLCONF = "playground.urls"
ASGI_APPLICATION = "playground.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- database: SQLite unless DATABASE_URL names another one
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    # Persistent connections: runs touch the database from a worker thread many times a second
    # at startup, and a new PostgreSQL connection per query was the largest cost measured there.
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
    if env_bool("DB_PREPARED_STATEMENTS", True):
        # Parameters bound by the server, so psycopg prepares a statement a connection ran 5 times: a
        # run's few dozen statements skip PostgreSQL's parse and plan (docs/benchmarks.md). Off behind a
        # transaction-pooling PgBouncer older than 1.21, which cannot keep a session's prepared statements.
        DATABASES["default"].setdefault("OPTIONS", {}).update(server_side_binding=True, prepare_threshold=5)
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            # Runs append messages from an event loop while the web side reads;
            # a busy timeout turns short write contention into waiting, not errors.
            "OPTIONS": {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL;"},
            # A file, not Django's shared-cache in-memory default: runs write from other
            # threads during tests, and shared-cache tables lock instead of waiting.
            "TEST": {"NAME": env_str("SQLITE_TEST_PATH", str(BASE_DIR / "var" / "test-db.sqlite3"))},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- channel layer, broker and executor: Redis switches all three
REDIS_URL = env_str("REDIS_URL")
CHANNEL_LAYER_BACKEND = env_str(
    "CHANNEL_LAYER_BACKEND",
    "playground.layers.PlaygroundPubSubChannelLayer" if REDIS_URL else "channels.layers.InMemoryChannelLayer",
)
if CHANNEL_LAYER_BACKEND == "channels.layers.InMemoryChannelLayer":
    CHANNEL_LAYERS = {"default": {"BACKEND": CHANNEL_LAYER_BACKEND, "CONFIG": {"capacity": 10_000}}}
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": CHANNEL_LAYER_BACKEND,
            "CONFIG": {"hosts": [REDIS_URL], "prefix": env_str("CHANNEL_LAYER_PREFIX", "asgi")},
        }
    }

RUN_EXECUTOR = env_str("RUN_EXECUTOR", "celery" if REDIS_URL else "inline")
if RUN_EXECUTOR not in {"inline", "celery"}:
    raise ValueError(f"RUN_EXECUTOR={RUN_EXECUTOR!r} must be 'inline' or 'celery'")

# Celery workers drive all their runs on one shared event loop ("shared") or one loop per task ("per_task").
RUN_WORKER_LOOP = env_str("RUN_WORKER_LOOP", "shared")
if RUN_WORKER_LOOP not in {"shared", "per_task"}:
    raise ValueError(f"RUN_WORKER_LOOP={RUN_WORKER_LOOP!r} must be 'shared' or 'per_task'")

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # kombu's Redis transport with a restore that survives a lost connection (playground/broker.py).
    CELERY_BROKER_TRANSPORT = "playground.broker:Transport"
CELERY_RESULT_BACKEND = None
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "playground")
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# A worker takes a task only when a pool thread is free to start it: runs ack early (runs/tasks.py),
# so a prefetch count alone would let a busy worker hold a second pool's worth of runs waiting.
CELERY_WORKER_DISABLE_PREFETCH = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_POOL_LIMIT = env_int("CELERY_BROKER_POOL_LIMIT", 10)
# Workers log through LOGGING below (run id on every line, LOG_FORMAT=json), not Celery's own handler.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- the run engine
# A killed worker's runs resume within lease + sweep interval (+ a claim): 9 + 2 s, under the 15 s
# a watcher should wait. The lease is renewed every third of it, so two missed renewals in a row
# (a database hiccup) are survived; the sweep is three indexed queries.
RUN_LEASE_SECONDS = env_float("RUN_LEASE_SECONDS", 9.0)
RUN_SWEEP_INTERVAL_SECONDS = env_float("RUN_SWEEP_INTERVAL_SECONDS", 2.0)
RUN_MAX_RECOVERY_ATTEMPTS = env_int("RUN_MAX_RECOVERY_ATTEMPTS", 3)
RUN_MAX_ACTIVE_PER_USER = env_int("RUN_MAX_ACTIVE_PER_USER", 10)
# Run starts admitted while the event loop keeps up (runs/admission.py); burst 0 turns it off.
RUN_START_TICK_MS = env_float("RUN_START_TICK_MS", 5.0)
RUN_START_MAX_LAG_MS = env_float("RUN_START_MAX_LAG_MS", 5.0)
RUN_START_BURST = env_int("RUN_START_BURST", 4)
RUN_START_MAX_WAIT_MS = env_float("RUN_START_MAX_WAIT_MS", 100.0)
WS_MAX_FRAME_BYTES = env_int("WS_MAX_FRAME_BYTES", 64 * 1024)
PLAYGROUND_TOOL_MODULES = env_list("PLAYGROUND_TOOL_MODULES")

# --- attachments (runs/attachments.py): files given with a task, stored through STORAGES["default"]
# (MEDIA_ROOT on this disk by default; any django-storages backend in production). Served only through
# /api/attachments/<id> to the run's owner, never as public media.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
ATTACHMENT_MAX_BYTES = env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024)
ATTACHMENT_MAX_FILES = env_int("ATTACHMENT_MAX_FILES", 10)
ATTACHMENT_QUOTA_BYTES = env_int("ATTACHMENT_QUOTA_BYTES", 200 * 1024 * 1024)
# Text and PDF text handed to the model, per file; the rest is cut with a note saying so.
ATTACHMENT_TEXT_MAX_CHARS = env_int("ATTACHMENT_TEXT_MAX_CHARS", 100_000)
# Content types allowed besides text (UTF-8 without NUL bytes), as sniffed from the bytes, never from the name.
ATTACHMENT_ALLOWED_TYPES = env_list(
    "ATTACHMENT_ALLOWED_TYPES",
    "image/png,image/jpeg,image/gif,image/webp,application/pdf,application/zip,application/gzip,"
    "audio/mpeg,audio/x-wav,video/mp4",
)
# How images reach a vision model: "data" (data URLs in the request) or "signed" (short-lived signed URLs
# under ATTACHMENT_PUBLIC_URL, the address the model's server reaches this one at).
ATTACHMENT_MODEL_IMAGES = env_str("ATTACHMENT_MODEL_IMAGES", "data")
ATTACHMENT_PUBLIC_URL = env_str("ATTACHMENT_PUBLIC_URL").rstrip("/")
ATTACHMENT_SIGNED_URL_SECONDS = env_int("ATTACHMENT_SIGNED_URL_SECONDS", 3600)
if ATTACHMENT_MODEL_IMAGES not in {"data", "signed"}:
    raise ValueError(f"ATTACHMENT_MODEL_IMAGES={ATTACHMENT_MODEL_IMAGES!r} must be 'data' or 'signed'")
if ATTACHMENT_MODEL_IMAGES == "signed" and not ATTACHMENT_PUBLIC_URL:
    raise ValueError("ATTACHMENT_MODEL_IMAGES=signed needs ATTACHMENT_PUBLIC_URL (e.g. https://playground.example.com)")
# A start frame carrying files may be this large (base64 makes a file a third larger); other frames
# keep WS_MAX_FRAME_BYTES. A request body (JSON with base64 files, or multipart) likewise.
WS_MAX_START_FRAME_BYTES = env_int("WS_MAX_START_FRAME_BYTES", 16 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int(
    "API_MAX_BODY_BYTES", ATTACHMENT_MAX_FILES * ATTACHMENT_MAX_BYTES * 4 // 3 + 1024 * 1024
)
PLAYGROUND_DEMO_USERNAME = env_str("PLAYGROUND_DEMO_USERNAME", "demo")
PLAYGROUND_DEMO_PASSWORD = env_str("PLAYGROUND_DEMO_PASSWORD")

# --- after-run work (webhooks/): run hooks, team webhooks
PLAYGROUND_RUN_HOOKS = env_list("PLAYGROUND_RUN_HOOKS")
WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 5)
WEBHOOK_BACKOFF_SECONDS = env_float("WEBHOOK_BACKOFF_SECONDS", 2.0)
WEBHOOK_BACKOFF_MAX_SECONDS = env_float("WEBHOOK_BACKOFF_MAX_SECONDS", 300.0)
WEBHOOK_TIMEOUT_SECONDS = env_float("WEBHOOK_TIMEOUT_SECONDS", 10.0)

# --- model endpoints in team configs (agents_app/endpoints.py): base_url / azure_endpoint on loopback, private
# or link-local addresses (a local Ollama) refused unless true; default on with DEBUG (embedded `make run`).
MODEL_ALLOW_PRIVATE_ADDRESSES = env_bool("MODEL_ALLOW_PRIVATE_ADDRESSES", DEBUG)

# --- model providers (providers/): per-user endpoints and keys
# Keys are encrypted with a Fernet key derived from each of these secrets: the first encrypts, every one
# decrypts (rotate: put a new secret first, run `manage.py rotate_provider_keys`, then drop the old one).
# Default: SECRET_KEY (then SECRET_KEY_FALLBACKS).
PROVIDER_KEY_SECRETS = env_list("PROVIDER_KEY_SECRETS")
# Provider URLs on loopback or private addresses (a local Ollama); allowed by default in the embedded mode,
# where the server runs on the user's own machine.
PROVIDER_ALLOW_PRIVATE_ADDRESSES = env_bool("PROVIDER_ALLOW_PRIVATE_ADDRESSES", RUN_EXECUTOR == "inline")
PROVIDER_TEST_TIMEOUT_SECONDS = env_float("PROVIDER_TEST_TIMEOUT_SECONDS", 10.0)
PROVIDER_MODELS_CACHE_SECONDS = env_float("PROVIDER_MODELS_CACHE_SECONDS", 60.0)
# Where the playground's first-run banner looks for a local Ollama (only when private addresses are allowed).
PROVIDER_OLLAMA_URL = env_str("PROVIDER_OLLAMA_URL", "http://127.0.0.1:11434/v1")

# --- operations (ops/): worker heartbeats, health, version
WORKER_HEARTBEAT_INTERVAL_SECONDS = env_float("WORKER_HEARTBEAT_INTERVAL_SECONDS", 15.0)
HEALTH_HEARTBEAT_MAX_AGE_SECONDS = env_float("HEALTH_HEARTBEAT_MAX_AGE_SECONDS", 60.0)
HEALTH_REQUIRE_WORKER = env_bool("HEALTH_REQUIRE_WORKER", False)
HEALTH_CHECK_TIMEOUT_SECONDS = env_float("HEALTH_CHECK_TIMEOUT_SECONDS", 3.0)
GIT_COMMIT = env_str("GIT_COMMIT")

# --- traces, metrics and cost (traces/, metrics/)
# Spans of every run stored with it (GET /api/runs/{id}/trace); exported over OTLP/HTTP only when the
# standard OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set (traces/export.py).
TRACING_ENABLED = env_bool("TRACING_ENABLED", True)
# Prometheus metrics at /metrics (web) and METRICS_WORKER_PORT (each Celery worker); metrics/registry.py.
METRICS_ENABLED = env_bool("METRICS_ENABLED", True)
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_PUBLIC = env_bool("METRICS_PUBLIC", False)
METRICS_WORKER_PORT = env_int("METRICS_WORKER_PORT", 0)
METRICS_WORKER_ADDRESS = env_str("METRICS_WORKER_ADDRESS", "127.0.0.1")
# Model prices in US dollars per million tokens, overriding genai-prices per model (or provider:model):
# {"llama3.1:8b": {"input": 0, "output": 0}, "gpt-4o": {"input": 2, "output": 8, "cached_input": 1}}
MODEL_PRICES = env_json("MODEL_PRICES", {})
# Every user's monthly budget in US dollars (empty = none); an admin can set one per user (Monthly budgets).
USER_MONTHLY_BUDGET_USD: float | None = (
    env_float("USER_MONTHLY_BUDGET_USD", 0.0) if env_str("USER_MONTHLY_BUDGET_USD") else None
)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
# Hashed, compressed names need `collectstatic` first, so they are opt-in (tests and the
# integration stack run with DEBUG off and no collectstatic); the Deploy section turns them on.
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST and not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
if env_bool("SECURE_PROXY_SSL_HEADER", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ValueError(f"LOG_FORMAT={LOG_FORMAT!r} must be 'plain' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # ops.logs.RunContextFilter adds the run id (set in runs.execution.drive) to every record.
    "filters": {"run_context": {"()": "ops.logs.RunContextFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s%(run_tag)s %(message)s"},
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["run_context"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "openai": {"level": "WARNING"},
    },
}
