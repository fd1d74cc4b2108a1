"""The usage page's chart, the run page's trace waterfall and costs, and the cost termination in the team editor."""

from __future__ import annotations

import json
import re
from pathlib import Path
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


PRICED_TEAM = {
    "name": "Priced calculator",
    "kind": "round_robin",
    "participants": [
        {
            "kind": "assistant",
            "name": "calc",
            "tools": ["calculator"],
            "model": {
                "provider": "scripted",
                "tokens_per_second": 0,
                "loop": False,
                "replies": [{"tool_calls": [{"name": "calculator", "arguments": {"expression": "6*7"}}]}, "It is 42."],
            },
        }
    ],
    "termination": {"type": "max_message", "max_messages": 3},  # the task, the tool summary, the answer
}
# The run is driven by manage.py run_team with the scripted model priced by an override ($1 per 1000 tokens).
PRICED_RUN = """
from django.conf import settings
from django.core.management import call_command
settings.MODEL_PRICES = {{"scripted": {{"input": 1000, "output": 1000}}}}
call_command("run_team", {path!r}, "What is 6*7?", user={user!r})
"""


def test_run_page_shows_the_trace_waterfall_and_what_the_run_cost(page: Any, server: Server, tmp_path: Path) -> None:
    team_file = tmp_path / "priced.json"
    team_file.write_text(json.dumps(PRICED_TEAM))
    out = server.manage("shell", "-c", PRICED_RUN.format(path=str(team_file), user=DEMO_USER))
    match = re.search(r"Run (\d+) ", out)
    assert match, out
    login(page)
    page.goto(f"/runs/{match.group(1)}/")
    run = page.locator("article.run")
    expect(run.get_by_test_id("run-status")).to_have_text("completed")

    # Cost in the footer, per agent, and on each message that came from a model call.
    expect(run.get_by_test_id("run-stats")).to_contain_text(re.compile(r"tokens \(.*\) · \$0\.0\d+"))
    per_agent = run.get_by_test_id("per-agent")
    per_agent.locator("summary").click()
    expect(per_agent.locator("[data-agent=calc]")).to_contain_text(re.compile(r"calc: \d+ tokens · \$0\.0\d+"))
    expect(run.locator(".msg .tokens").last).to_contain_text(re.compile(r"\d+ tok · \$0\.0\d+"))

    # The waterfall: the run's tree, a model call's attributes, and the message it produced.
    trace = page.get_by_test_id("trace")
    expect(trace.get_by_test_id("trace-summary")).to_contain_text(re.compile(r"2 model calls · 1 tool call.*cost \$"))
    rows = trace.locator(".span-row")
    expect(rows.first).to_have_attribute("data-kind", "run")
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(rows.count())]
    assert {"run", "enqueue", "queue", "execution", "turn", "model", "tool"} <= set(kinds), kinds
    tool = trace.locator(".span-row[data-kind=tool]")
    expect(tool.locator(".span-name")).to_contain_text("execute_tool calculator")
    model = trace.locator(".span-row[data-kind=model]").last
    expect(model.locator(".span-tokens")).to_contain_text("tok")
    model.locator(".span-button").click()
    expect(model.locator(".span-button")).to_have_attribute("aria-expanded", "true")
    detail = trace.get_by_test_id("span-detail")
    expect(detail.get_by_role("row", name=re.compile("gen_ai.request.model"))).to_contain_text("scripted")
    expect(detail.get_by_role("row", name=re.compile("playground.cost_usd"))).to_be_visible()
    detail.get_by_test_id("span-message").click()
    expect(run.locator(".msg.flash")).to_contain_text("It is 42.")
    screenshot(page, "run-trace")


def test_team_editor_sets_a_cost_termination(page: Any) -> None:
    login(page)
    page.goto("/teams/")
    page.get_by_role("button", name="New team").click()
    page.get_by_label("Termination", exact=True).select_option(label="when it has cost N US dollars")
    dollars = page.get_by_label("Stop when the model calls have cost (US dollars)")
    dollars.fill("0.25")
    expect(page.get_by_test_id("validity")).to_have_text("Valid (our format)")
    page.get_by_role("tab", name="JSON").click()
    config = json.loads(page.get_by_label("Team config (JSON)").input_value())
    assert config["termination"] == {"type": "cost", "max_cost": 0.25}
    page.get_by_role("tab", name="Form").click()
    dollars = page.get_by_label("Stop when the model calls have cost (US dollars)")
    expect(dollars).to_have_value("0.25")
    dollars.fill("0")
    expect(page.locator("#error-list")).to_contain_text("termination.max_cost")
