"""Gauges read from the database at scrape time: how many runs are in each live state, how many wait for a person.

They describe the whole deployment, not one process, so every web process reports the same values:
aggregate them with max(), not sum(). Counting transitions in each process instead would drift
whenever a process dies mid-run.
"""

from __future__ import annotations

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from runs.models import ACTIVE_STATUSES, TOOL_APPROVAL, Run, RunStatus


class RunStateCollector(Collector):
    def collect(self) -> Iterator[GaugeMetricFamily]:
        counts = dict.fromkeys(sorted(ACTIVE_STATUSES), 0)
        rows = Run.objects.filter(status__in=ACTIVE_STATUSES).values("status").annotate(n=Count("id")).order_by()
        for row in rows:
            counts[row["status"]] = row["n"]
        active = GaugeMetricFamily(
            "playground_runs_active", "Runs queued, running, waiting or stopping.", labels=["status"]
        )
        for status, count in counts.items():
            active.add_metric([status], count)
        yield active
        pending = GaugeMetricFamily(
            "playground_pending_requests", "Runs waiting for a person, by what they wait for.", labels=["kind"]
        )
        approvals = Run.objects.filter(status=RunStatus.AWAITING_INPUT, input_kind=TOOL_APPROVAL).count()
        pending.add_metric(["input"], counts[RunStatus.AWAITING_INPUT] - approvals)
        pending.add_metric(["approval"], approvals)
        yield pending
