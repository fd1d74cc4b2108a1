"""Team documents in and out of the API: size limit, JSON parsing, format detection, export.

Kept apart from the views so the same rules serve the JSON body, the file upload and the
validate endpoint alike.
"""

from __future__ import annotations

import json
import os
from typing import Any, Literal

from django.core.files.uploadedfile import UploadedFile

from agents_app.autogen import export_team, parse_team_config
from agents_app.config import REDACTED_KEY, ConfigErrorItem, TeamConfig
from playground.errors import ApiError
from providers.resolve import adopt_providers, unusable_warnings

# A team is a few kilobytes; 1 MiB leaves room for long prompts and scripted replies while
# keeping a hostile upload from costing the server real memory or parse time.
MAX_TEAM_BYTES = 1024 * 1024
Format = Literal["native", "autogen"]


def too_big() -> ApiError:
    return ApiError(400, f"The team document is larger than {MAX_TEAM_BYTES} bytes (1 MiB).")


def read_upload(file: UploadedFile) -> Any:
    """The uploaded file's JSON value; a 400 naming the problem if it is too big or not JSON."""
    if file.size is None or file.size > MAX_TEAM_BYTES:
        raise too_big()
    raw = file.read(MAX_TEAM_BYTES + 1)
    if len(raw) > MAX_TEAM_BYTES:
        raise too_big()
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ApiError(400, "The file is not UTF-8 text; upload a .json team file.") from None
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise ApiError(400, "The file is not valid JSON.", [{"path": "", "message": where}]) from None


def parse_document(data: Any, importer: Any = None) -> tuple[TeamConfig, Format, list[ConfigErrorItem]]:
    """Our format or AutoGen component JSON, detected by shape. Raises TeamConfigError with paths.
    An AutoGen team's model clients are pointed at the `importer`'s providers with the same endpoint, and a
    provider_ref the importer cannot use is a warning (runs of it by them would be refused)."""
    warnings: list[ConfigErrorItem] = []
    config, fmt = parse_team_config(data, warnings=warnings)
    if fmt == "autogen" and importer is not None:
        config, adopted = adopt_providers(config, importer.pk)
        warnings += adopted
    if importer is not None:
        warnings += unusable_warnings(config.model_dump(mode="json"), importer.pk)
    return config, fmt, warnings


def unwrap(data: Any) -> Any:
    """Accept `{"config": {...}, "name": ...}` where a bare document is expected.

    An AutoGen component also has a `config` key, but always beside `provider`; ours never
    has a top-level `config`. So a `config` object without `provider` is our wrapper.
    """
    if isinstance(data, dict) and isinstance(data.get("config"), dict) and "provider" not in data:
        return data["config"]
    return data


# Header and field names whose values are credentials. Our config never stores a key
# (models name an environment variable instead), but default_headers can carry one.
_SECRET_NAMES = {
    "api_key",
    "api-key",
    "x-api-key",
    "authorization",
    "azure_ad_token",
    "password",
    "secret",
    "client_secret",
    "access_token",
    "ocp-apim-subscription-key",
}


def redact(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (REDACTED_KEY if str(k).lower() in _SECRET_NAMES and v else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


def _env_secrets() -> list[str]:
    names = [n for n in os.environ if n.endswith(("_API_KEY", "_TOKEN", "_SECRET")) or n == "SECRET_KEY"]
    return [os.environ[n] for n in names if len(os.environ[n]) >= 8]


def export_document(config: TeamConfig, fmt: Format, flavor: Literal["0.7", "0.5"] = "0.7") -> dict[str, Any]:
    doc = config.model_dump(mode="json") if fmt == "native" else export_team(config, flavor=flavor)
    return scrub_secrets(redact(doc))


def scrub_secrets(doc: Any) -> Any:
    """Last line of defence: a key from the server's environment must never leave in an export,
    wherever in the document it ended up (a prompt, a header, a description, a model's reply)."""
    text = json.dumps(doc)
    leaked = [s for s in _env_secrets() if s in text]
    if not leaked:
        return doc
    for secret in leaked:
        text = text.replace(json.dumps(secret)[1:-1], REDACTED_KEY)
    return json.loads(text)
