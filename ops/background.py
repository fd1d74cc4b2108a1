"""Moved to webhooks.background; this re-export keeps run_team's import working until it points there."""

from webhooks.background import submit, wait_idle

__all__ = ["submit", "wait_idle"]
