"""What a user's runs used and cost: per day, team and model, and the monthly budget that can refuse a run.

Sums over model-call spans (traces.models.Span), which carry each call's tokens and its price at
the time of the call, so a later change of prices never rewrites history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from runs.models import Run
from traces.models import MonthlyBudget, Span

_SUMS = {
    "calls": Count("id"),
    "input_tokens": Sum("input_tokens"),
    "output_tokens": Sum("output_tokens"),
    "cached_tokens": Sum("cached_tokens"),
    "cost": Sum("cost"),
}


def _model_calls(user: Any, since: datetime) -> QuerySet[Span]:
    return Span.objects.filter(kind="model", run__owner_id=user.pk, started_at__gte=since)


def _row(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "calls": values["calls"] or 0,
        "input_tokens": values["input_tokens"] or 0,
        "output_tokens": values["output_tokens"] or 0,
        "cached_tokens": values["cached_tokens"] or 0,
        "cost": float(values["cost"]) if values["cost"] is not None else 0.0,
    }


def usage_report(user: Any, *, days: int = 30) -> dict[str, Any]:
    """Tokens and cost per day for the last `days` days (every day listed, oldest first), per team and per model."""
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    since = datetime.combine(first, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    calls = _model_calls(user, since)
    by_day = {v["day"]: _row(v) for v in calls.annotate(day=TruncDate("started_at")).values("day").annotate(**_SUMS)}
    daily = []
    for offset in range(days):
        day = first + timedelta(days=offset)
        daily.append({"date": day.isoformat(), **by_day.get(day, _row(dict.fromkeys(_SUMS)))})
    teams = [
        {"team_id": v["run__team_id"], "team": v["run__team__name"] or "(a config sent with the run)", **_row(v)}
        for v in calls.values("run__team_id", "run__team__name").annotate(**_SUMS).order_by("-cost", "run__team_id")
    ]
    models = [
        {"model": v["model"], **_row(v)} for v in calls.values("model").annotate(**_SUMS).order_by("-cost", "model")
    ]
    totals = _row(calls.aggregate(**_SUMS))
    return {"days": daily, "teams": teams, "models": models, "totals": totals, "budget": budget_status(user)}


# ------------------------------------------------------------------ the monthly budget


@dataclass(frozen=True)
class BudgetStatus:
    limit: Decimal | None
    spent: Decimal
    month_start: date
    resets_on: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "limit": float(self.limit) if self.limit is not None else None,
            "spent": float(self.spent),
            "month_start": self.month_start.isoformat(),
            "resets_on": self.resets_on.isoformat(),
        }


def monthly_limit(user_id: int) -> Decimal | None:
    """The user's own limit if an admin set one (empty = none), else USER_MONTHLY_BUDGET_USD (None = none)."""
    own = MonthlyBudget.objects.filter(user_id=user_id).values_list("limit", flat=True)
    for limit in own:
        return limit
    default = settings.USER_MONTHLY_BUDGET_USD
    return Decimal(str(default)) if default is not None else None


def _month(now: datetime) -> tuple[datetime, date]:
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    following = (start + timedelta(days=32)).replace(day=1)
    return start, following.date()


def budget_status(user: Any) -> dict[str, Any]:
    return _status(user.pk, monthly_limit(user.pk)).as_dict()


def _status(user_id: int, limit: Decimal | None) -> BudgetStatus:
    start, resets_on = _month(timezone.now())
    spent = Span.objects.filter(kind="model", run__owner_id=user_id, started_at__gte=start).aggregate(s=Sum("cost"))
    return BudgetStatus(limit, spent["s"] or Decimal(0), start.date(), resets_on)


def budget_refusal(run_id: int) -> str | None:
    """Why a new run of this owner is refused (their monthly budget is spent), or None.

    Called at every run start: the owner and their own limit are one raw SELECT (as the active-run
    count beside it), and the month's spend is summed only when a limit applies.
    """
    qn = connection.ops.quote_name
    runs, budgets = qn(Run._meta.db_table), qn(MonthlyBudget._meta.db_table)
    sql = (
        f"SELECT r.{qn('owner_id')}, b.{qn('id')}, b.{qn('limit')} FROM {runs} r"
        f" LEFT JOIN {budgets} b ON b.{qn('user_id')} = r.{qn('owner_id')} WHERE r.{qn('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [run_id])
        row = cursor.fetchone()
    if row is None:
        return None
    owner_id, own_budget, own_limit = row
    default = settings.USER_MONTHLY_BUDGET_USD
    limit = (
        (Decimal(str(own_limit)) if own_limit is not None else None)
        if own_budget is not None
        else (Decimal(str(default)) if default is not None else None)
    )
    if limit is None:
        return None
    status = _status(owner_id, limit)
    if status.spent < limit:
        return None
    return (
        f"Your monthly budget of ${limit:.2f} is used up (${status.spent:.2f} spent since "
        f"{status.month_start:%B} 1); new runs can start on {status.resets_on:%B %-d}, or when an admin raises it."
    )
