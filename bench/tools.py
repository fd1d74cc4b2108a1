"""`python bench/tools.py`: what an MCP tool call adds to a run (make bench's tool scenario).

Embedded mode (Daphne, SQLite, inline executor): 50 concurrent runs, each an assistant whose
scripted model asks for one call of the stdio test server's `echo` tool per turn (it answers at
once), for `--turns` turns. Per call it reports the added latency from the tool call stored (the
model's request received) to the tool result stored, read from the stored messages' timestamps
(microseconds), and the CPU per call of the server process and its MCP child together. A control
runs the same turns calling the built-in calculator, so "MCP minus built-in" is what MCP adds. The
floor, a bare SDK round trip to the same server from one client, is printed beside it.

    python bench/tools.py [--runs 50] [--turns 10] [--json var/bench-tools.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench.procs import Cluster, cpu_seconds  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SERVER = "benchtools"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def team(turns: int, builtin: bool = False) -> dict[str, Any]:
    """`builtin`: the control, the same turns calling the registered calculator instead of the MCP server."""
    call = (
        {"name": "calculator", "arguments": {"expression": "1 + 1"}}
        if builtin
        else {"name": "echo", "arguments": {"text": "ping"}}
    )
    model = {"provider": "scripted", "replies": [{"tool_calls": [call]}], "tokens_per_second": 0}
    agent = {"kind": "assistant", "name": "caller", "model": model}
    agent |= {"tools": ["calculator"]} if builtin else {"mcp_servers": [SERVER]}
    # Each turn: the model's tool call, the call, its result, a summary; `turns` calls per run.
    return {"kind": "round_robin", "name": "tools bench", "participants": [agent], "max_turns": turns}


def children_cpu(pid: int) -> float:
    total = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                total += cpu_seconds(int(child))
            except OSError:
                continue
    return total


async def sdk_floor(calls: int) -> list[float]:
    from agents_app.engine.mcp import McpServerSpec, McpSessions

    spec = McpServerSpec(
        name="floor", transport="stdio", command=sys.executable, args=("-m", "tests.support.mcp_test_server"),
        env=(("PYTHONPATH", str(ROOT)),),
    )  # fmt: skip
    sessions = McpSessions()
    try:
        await sessions.tools(spec)
        times = []
        for _ in range(calls):
            started = time.perf_counter()
            await sessions.call(spec, "echo", {"text": "ping"})
            times.append((time.perf_counter() - started) * 1000)
        return times
    finally:
        await sessions.aclose()


def stored_latencies(db: Path, run_ids: list[int]) -> list[float]:
    """Per call: result stored minus request stored, in ms, from the messages' own timestamps."""
    con = sqlite3.connect(db)
    marks = ",".join("?" * len(run_ids))
    rows = con.execute(
        f"SELECT run_id, seq, type, created_at FROM runs_message WHERE run_id IN ({marks}) ORDER BY run_id, seq",
        run_ids,
    ).fetchall()
    con.close()
    out, asked = [], None
    for _, _, kind, created in rows:
        when = datetime.fromisoformat(str(created))
        if kind == "ToolCallRequestEvent":
            asked = when
        elif kind == "ToolCallExecutionEvent" and asked is not None:
            out.append((when - asked).total_seconds() * 1000)
            asked = None
    return out


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--json", type=Path, default=Path("var/bench-tools.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.sqlite3"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "RUN_EXECUTOR", "DEBUG")}
        env.update(SQLITE_PATH=str(db), DEBUG="true", PYTHONPATH=str(ROOT), RUN_MAX_ACTIVE_PER_USER=str(args.runs + 10))
        cluster = Cluster(env=env, logdir=Path(tmp))
        cluster.manage("migrate", "--noinput", "-v0")
        cluster.manage(
            "mcp_server",
            "add",
            SERVER,
            "--command",
            f"{sys.executable} -m tests.support.mcp_test_server",
            "--share-all",
        )
        cluster.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model; get_user_model().objects.create_user('bench')",
        )
        token = cluster.manage("create_api_token", "bench").strip().split()[-1]
        daphne = cluster.daphne()
        try:
            result = await measure(daphne.port, daphne.pid, token, db, args, builtin=False)
            control = await measure(daphne.port, daphne.pid, token, db, args, builtin=True)
            result["control_builtin_tool"] = control
            result["mcp_minus_builtin_p50_ms"] = round(
                result["added_latency_p50_ms"] - control["added_latency_p50_ms"], 3
            )
            result["mcp_minus_builtin_p99_ms"] = round(
                result["added_latency_p99_ms"] - control["added_latency_p99_ms"], 3
            )
            result["mcp_minus_builtin_cpu_ms_per_call"] = round(
                result["server_cpu_ms_per_call"] - control["server_cpu_ms_per_call"], 3
            )
        finally:
            for proc in cluster.procs:
                proc.popen.terminate()
                proc.popen.wait(15)
    floor = await sdk_floor(500)
    result |= {
        "sdk_round_trip_p50_ms": round(percentile(floor, 0.5), 3),
        "sdk_round_trip_p99_ms": round(percentile(floor, 0.99), 3),
    }
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    return 0


async def measure(port: int, pid: int, token: str, db: Path, args: argparse.Namespace, builtin: bool) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
        # One warm-up run starts the server's MCP child: its start-up is not a call's latency.
        warm = (await http.post("/api/runs", json={"team_config": team(1, builtin), "task": "warm up"})).json()["id"]
        await wait_done(http, [warm])
        config = team(args.turns, builtin)
        ids = [(await http.post("/api/runs", json={"team_config": config})).json()["id"] for _ in range(args.runs)]
        cpu_before = cpu_seconds(pid) + children_cpu(pid)
        started = time.monotonic()
        await asyncio.gather(*(http.post(f"/api/runs/{i}/start", json={"task": "call"}) for i in ids))
        statuses = await wait_done(http, ids)
        elapsed = time.monotonic() - started
        cpu = cpu_seconds(pid) + children_cpu(pid) - cpu_before
    latencies = stored_latencies(db, ids)
    calls = len(latencies)
    tool = "calculator" if builtin else "MCP (stdio echo)"
    return {
        "scenario": f"{args.runs} concurrent runs x {args.turns} {tool} calls",
        "runs_complete": statuses.count("complete"),
        "calls": calls,
        "added_latency_p50_ms": round(percentile(latencies, 0.5), 3),
        "added_latency_p99_ms": round(percentile(latencies, 0.99), 3),
        "added_latency_mean_ms": round(statistics.fmean(latencies), 3) if latencies else 0.0,
        # Everything a turn costs the server (model, four stored messages, frames) plus the call itself.
        "server_cpu_ms_per_call": round(cpu * 1000 / max(1, calls), 3),
        "wall_seconds": round(elapsed, 2),
    }


async def wait_done(http: httpx.AsyncClient, ids: list[int]) -> list[str]:
    while True:
        statuses = [(await http.get(f"/api/runs/{i}")).json()["status"] for i in ids]
        if all(s in ("complete", "error", "stopped") for s in statuses):
            return statuses
        await asyncio.sleep(0.5)


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
