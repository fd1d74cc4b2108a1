"""The usage page's chart and the run page's trace waterfall, in Chromium."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.ui.conftest import DEMO_USER, Server, login, screenshot

# Model calls for the demo user: two teams, two models, today and four days ago.
SEED = f"""
import time
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from agents_app.engine import Tracer
from agents_app.models import Team
from runs import services
from traces import recording
from traces.models import Span
from tests.factories import SCRIPTED_TEAM

user = get_user_model().objects.get(username={DEMO_USER!r})
team, _ = Team.objects.get_or_create(owner=user, name="Usage chart team", defaults={{"config": SCRIPTED_TEAM}})
calls = ((0, "gpt-4o-mini", 0.12, True), (0, "gpt-4o", 0.5, False), (4, "gpt-4o", 0.3, True))
for days_ago, model, cost, with_team in calls:
    run = services.run_create(owner=user, team_config=SCRIPTED_TEAM, team=team if with_team else None, task="usage")
    trace = recording.resume_trace(run_id=run.id, worker="seed", queued_at=None, answer_seq=None, context=None)
    tracer = Tracer(trace.execution.span_id)
    call = tracer.start("model", "chat " + model, **{{"gen_ai.request.model": model, "gen_ai.usage.input_tokens": 1200,
                        "gen_ai.usage.output_tokens": 300, "playground.cost_usd": cost}})
    tracer.end(call)
    for event in tracer.drain():
        trace.add(event)
    trace.end(status="complete")
    Span.objects.filter(run=run).update(started_at=timezone.now() - timedelta(days=days_ago))
"""


def test_usage_page_charts_tokens_and_cost_per_day(page: Any, server: Server) -> None:
    server.manage("shell", "-c", SEED)
    login(page)
    page.get_by_role("link", name="Usage").click()
    page.wait_for_url("**/usage/")
    usage = page.get_by_test_id("usage")
    expect(page.get_by_test_id("usage-totals")).to_contain_text("model calls")
    charts = usage.locator("svg.chart")
    expect(charts).to_have_count(2)
    tokens, cost = charts.nth(0), charts.nth(1)
    expect(tokens.locator("g.day")).to_have_count(30)
    today = tokens.locator("g.day").last
    assert today.locator("rect").count() == 2  # input and output, stacked
    assert float(today.locator("rect").first.get_attribute("height") or 0) > 0
    assert "$0.62" in (cost.locator("g.day").last.locator("title").text_content() or "")
    four_days_ago = cost.locator("g.day").nth(25)
    assert float(four_days_ago.locator("rect").get_attribute("height") or 0) > 0
    expect(usage.get_by_role("cell", name="Usage chart team")).to_be_visible()
    expect(usage.get_by_role("cell", name="gpt-4o-mini")).to_be_visible()
    expect(page.get_by_test_id("budget")).to_contain_text("spent")
    screenshot(page, "usage-chart")
