"""Moved to webhooks.services; this re-export keeps runs.execution's import working until it points there."""

from webhooks.services import has_after_work, run_finished

__all__ = ["has_after_work", "run_finished"]
