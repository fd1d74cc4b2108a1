"""A system check that every PLAYGROUND_RUN_HOOKS entry imports to a callable."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, register
from django.utils.module_loading import import_string


@register("ops")
def run_hooks_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors = []
    for path in settings.PLAYGROUND_RUN_HOOKS:
        try:
            hook = import_string(path)
        except ImportError as exc:
            errors.append(Error(f"PLAYGROUND_RUN_HOOKS: cannot import {path!r}: {exc}", id="ops.E001"))
            continue
        if not callable(hook):
            errors.append(Error(f"PLAYGROUND_RUN_HOOKS: {path!r} is not callable", id="ops.E002"))
    return errors
