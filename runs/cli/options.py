"""Command-line options both terminal commands share (`run_team`, `playground_client`)."""

from __future__ import annotations

from argparse import ArgumentParser, ArgumentTypeError
from typing import Any

from django.core.management.base import CommandError


def add_model_options(parser: ArgumentParser) -> None:
    parser.add_argument("--provider", help="run every agent on this stored provider (yours or shared), by name")
    parser.add_argument("--model", help="the model to call instead of the team's (needed with --provider)")


def add_version_option(parser: ArgumentParser) -> None:
    parser.add_argument(
        "--team-version", type=_version_number, metavar="N", help="run version N of the team instead of its current one"
    )


def _version_number(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise ArgumentTypeError(f"a version number is 1 or more, not {text!r}")
    return int(text)


def model_override(options: dict[str, Any]) -> dict[str, Any] | None:
    """The run's model override from --provider/--model, or None (the team's own models)."""
    provider, model = options.get("provider"), options.get("model")
    if provider and not model:
        raise CommandError("--provider needs --model: which of the provider's models to run")
    if not model:
        return None
    return {"model": model, "provider_ref": provider} if provider else {"model": model}
