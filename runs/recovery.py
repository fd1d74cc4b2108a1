"""Crash recovery and input deadlines: the sweep (Celery beat in production, a timer in embedded mode)."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from agents_app.config import TeamConfigError, validate_team_config
from metrics import registry as metrics
from runs import services
from runs.announce import announce_outcome_after_commit
from runs.db import db_call
from runs.models import TOOL_APPROVAL, Run, RunStatus

logger = logging.getLogger(__name__)
# The run_status reason watchers see the moment the sweep finds a run's worker gone.
RECOVERING = "The worker running this run stopped responding; another worker resumes it from its stored messages."


def sweep() -> dict[str, int]:
    """One pass: recover expired leases, re-dispatch lost queued runs, apply passed input deadlines."""
    now = timezone.now()
    counts = {"recovered": 0, "failed": 0, "stopped": 0, "redispatched": 0, "deadlines": 0}
    expired = Run.objects.filter(
        status__in=[RunStatus.RUNNING, RunStatus.STOPPING], lease_expires_at__lt=now
    ).values_list("id", flat=True)
    for run_id in list(expired):
        outcome = services.run_recover_expired(run_id=run_id, max_attempts=settings.RUN_MAX_RECOVERY_ATTEMPTS)
        if outcome is None:
            continue
        key = {"queued": "recovered", "error": "failed", "stopped": "stopped"}[str(outcome)]
        counts[key] += 1
        metrics.sweep_recovered(key)
        logger.warning("run %s: worker lease expired; run is now %s", run_id, outcome)
        announce_outcome_after_commit(run_id, outcome, RECOVERING)
    stale_before = now - timedelta(seconds=max(60.0, 4 * settings.RUN_SWEEP_INTERVAL_SECONDS))
    handed_out_before = Q(queued_at__lt=stale_before) | Q(queued_at__isnull=True)  # null: the broker refused it
    lost = Run.objects.filter(handed_out_before, status=RunStatus.QUEUED).values_list("id", flat=True)
    for run_id in list(lost):
        if services.run_redispatch(run_id=run_id, queued_before=stale_before):
            counts["redispatched"] += 1
    for run in Run.objects.filter(status=RunStatus.AWAITING_INPUT, input_deadline__lt=now):
        if _apply_deadline(run):
            counts["deadlines"] += 1
    return counts


def _apply_deadline(run: Run) -> bool:
    if run.input_kind == TOOL_APPROVAL:
        # A tool call nobody approved in time does not run: it is rejected and the model is told why.
        try:
            services.run_submit_approval(
                run_id=run.id,
                request_id=run.input_request_id,
                decision="reject",
                reason="No decision before the deadline",
                by="deadline",
            )
        except services.RunStateError:
            return False
        return True
    try:
        policy = validate_team_config(run.team_config).human_input
    except TeamConfigError:
        policy = None
    try:
        if policy is not None and policy.on_deadline == "default_response":
            services.run_submit_input(run_id=run.id, response=policy.default_response, request_id=run.input_request_id)
        else:
            services.run_request_stop(run_id=run.id, reason="No answer before the input deadline")
    except services.RunStateError:
        return False  # answered or stopped at the same moment
    return True


def redispatch_queued_at_startup() -> int:
    """Inline mode: queued runs of a previous server process have no task; hand them out again."""
    count = 0
    for run_id in list(Run.objects.filter(status=RunStatus.QUEUED).values_list("id", flat=True)):
        if services.run_redispatch(run_id=run_id, queued_before=timezone.now()):
            count += 1
    return count


async def sweep_forever() -> None:
    """Embedded mode: sweep at startup and then on a timer, on the server's loop."""
    await db_call(redispatch_queued_at_startup)()
    while True:
        try:
            await db_call(sweep)()
        except Exception:
            logger.exception("sweep failed")
        await asyncio.sleep(settings.RUN_SWEEP_INTERVAL_SECONDS)
