"""`python bench/tools.py`: what an MCP tool call adds to a run, and what MCP runs do to other runs' tokens.

Production mode by default (Daphne + one Celery worker + Redis + PostgreSQL; `--mode embedded`: Daphne
alone). `--runs` concurrent runs, each an assistant whose scripted model asks for one call of the
suite's stdio MCP server's `echo` tool per turn (the server answers at once), then streams a short
reply at 40 tokens/s (a model that takes about half a second per turn, so the runs overlap the way
real ones do instead of saturating the loop), for `--turns` turns. Per call it reports, as issue 19
defines it, the time from the model's tool call received (the end of the model call's span) to the
tool result stored (the result message's row), minus the server's own time for that call (logged by
the server from its request's line read off stdin to its response's line flushed, in the threads that
read and write the pipe: `mcp_test_server --timings`), with
where that time goes: storing the request, the call's start (it starts while the request is being
stored), the call beyond the server's time, storing the result once both are done. A control runs
the same turns calling the built-in calculator. CPU per call: the engine's process (the worker, or
Daphne when embedded) and the MCP server's own.

Beside them, `--streams` plain runs stream 200 tokens/s from the local OpenAI-compatible server
(the token latency of `bench/run.py`: receive time at the WebSocket minus emission time), alone and
while the MCP runs (and the control) run: the MCP runs must leave their token latency unchanged.

By default the callers start at once and take equal turns, so their calls reach the worker and the
server together (the worst case); `--spread S` starts them over S seconds, as independent arrivals
do, and `--reply-words N` lengthens a turn (N words at 40 tokens/s; a real model's turn is seconds).

    python bench/tools.py [--mode production|embedded] [--runs 50] [--turns 10] [--streams 20]
                          [--spread 0] [--reply-words 20] [--repeat 1] [--json var/bench-tools.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from bench.procs import cpu_seconds  # noqa: E402
from bench.run import (  # noqa: E402
    BENCH_DB,
    Ctx,
    RunStats,
    Scenario,
    account_chunks,
    drive_run,
    drop_bench_db,
    start_cluster,
    team_config,
)

ROOT = Path(__file__).resolve().parents[1]
SERVER = "benchtools"
# Per call: the whole path and the server's part of it, then its legs, each from the tool call received:
# its request stored; the call started, its length (and beyond the server's time); its result stored after both.
PARTS = ("added", "path", "server", "store_request", "call_start", "call", "call_beyond_server", "store_result")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def caller_team(turns: int, index: int, builtin: bool, reply_words: int = 20) -> dict[str, Any]:
    """Each turn: one tool call (the `text` names the run, to match the server's log), then a paced reply."""
    call = (
        {"name": "calculator", "arguments": {"expression": "1 + 1"}}
        if builtin
        else {"name": "echo", "arguments": {"text": f"run{index}"}}
    )
    model = {
        "provider": "scripted",
        "replies": [{"tool_calls": [call]}, " ".join(["word"] * reply_words)],
        "tokens_per_second": 40,
    }
    agent: dict[str, Any] = {"kind": "assistant", "name": "caller", "model": model, "reflect_on_tool_use": True}
    agent |= {"tools": ["calculator"]} if builtin else {"mcp_servers": [SERVER]}
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


def query(ctx: Ctx, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    if ctx.mode == "production":
        import psycopg

        with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}") as conn:
            return conn.execute(sql.replace("?", "%s"), params).fetchall()
    con = sqlite3.connect(ctx.cluster.logdir / "bench.sqlite3")
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def moment(value: Any) -> float:
    """A stored timestamp as seconds since the epoch (SQLite returns text, PostgreSQL datetimes)."""
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.timestamp()


def call_timings(ctx: Ctx, run_ids: list[int], server_us: dict[str, list[int]] | None) -> list[dict[str, float]]:
    """Per call, in ms: model's tool call received -> request stored -> tool span -> result stored."""
    marks = ",".join("?" * len(run_ids))
    messages = query(
        ctx, f"SELECT run_id, seq, type, created_at FROM runs_message WHERE run_id IN ({marks})", run_ids
    )  # fmt: skip
    spans = query(
        ctx,
        f"SELECT run_id, seq, kind, started_at, ended_at FROM traces_span WHERE run_id IN ({marks}) "
        "AND kind IN ('model', 'tool') AND seq IS NOT NULL",
        run_ids,
    )
    stored = {(r, s): (kind, moment(at)) for r, s, kind, at in messages}
    model_end = {(r, s): moment(end) for r, s, kind, _, end in spans if kind == "model" and end is not None}
    tool = {(r, s): (moment(start), moment(end)) for r, s, kind, start, end in spans if kind == "tool" and end}
    index = {run_id: i for i, run_id in enumerate(run_ids)}
    per_run: dict[int, list[dict[str, float]]] = defaultdict(list)
    for (run_id, seq), (kind, at) in sorted(stored.items()):
        if kind != "ToolCallRequestEvent" or (run_id, seq + 1) not in stored:
            continue
        received = model_end.get((run_id, seq))
        call = tool.get((run_id, seq + 1))
        if received is None or call is None:
            continue
        result_at = stored[(run_id, seq + 1)][1]
        per_run[run_id].append(
            {
                "path": (result_at - received) * 1000,
                "store_request": (at - received) * 1000,
                # Calls that need no approval start while the request is being stored (not after it).
                "call_start": (call[0] - received) * 1000,
                "call": (call[1] - call[0]) * 1000,
                "store_result": (result_at - max(call[1], at)) * 1000,
            }
        )
    calls: list[dict[str, float]] = []
    for run_id, rows in per_run.items():
        own = (server_us or {}).get(f"run{index[run_id]}", [])
        for i, row in enumerate(rows):
            # Calls of one run are sequential, so its k-th logged call is its k-th stored one.
            row["server"] = own[i] / 1000 if i < len(own) else 0.0
            row["added"] = row["path"] - row["server"]
            row["call_beyond_server"] = row["call"] - row["server"]
            calls.append(row)
    return calls


def read_server_log(path: Path, skip: int) -> dict[str, list[int]]:
    by_text: dict[str, list[int]] = defaultdict(list)
    lines = path.read_text().splitlines()[skip:] if path.exists() else []
    for line in lines:
        us, _, text = line.partition(" ")
        by_text[text].append(int(us))
    return by_text


async def wait_done(http: httpx.AsyncClient, ids: list[int]) -> list[str]:
    while True:
        statuses = [(await http.get(f"/api/runs/{i}")).json()["status"] for i in ids]
        if all(s in ("complete", "error", "stopped") for s in statuses):
            return statuses
        await asyncio.sleep(0.5)


async def start_at(http: httpx.AsyncClient, run_id: int, delay: float) -> None:
    await asyncio.sleep(delay)
    (await http.post(f"/api/runs/{run_id}/start", json={"task": "call"})).raise_for_status()


async def phase(ctx: Ctx, args: argparse.Namespace, timings: Path, callers: str, streams: int) -> dict[str, Any]:
    """One measured phase: `callers` ("mcp", "builtin" or "") runs beside `streams` plain streaming runs."""
    engine = next(p for p in ctx.cluster.procs if p.name == ("worker" if ctx.mode == "production" else "daphne"))
    daphne = next(p for p in ctx.cluster.procs if p.name == "daphne")
    headers = {"Authorization": f"Bearer {ctx.token}"}
    plain = team_config(ctx.fake_url, Scenario("streams", streams, 200, args.stream_tokens))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ctx.port}", headers=headers, timeout=120) as http:
        caller_ids = [
            (
                await http.post(
                    "/api/runs",
                    json={"team_config": caller_team(args.turns, i, callers == "builtin", args.reply_words)},
                )
            )
            .raise_for_status()
            .json()["id"]
            for i in range(args.runs if callers else 0)
        ]
        stream_ids = [
            (await http.post("/api/runs", json={"team_config": plain})).raise_for_status().json()["id"]
            for _ in range(streams)
        ]
        stats = [RunStats() for _ in stream_ids]
        go = asyncio.Event()
        drivers = [
            asyncio.create_task(drive_run(ctx.port, ctx.token, run_id, s, go))
            for run_id, s in zip(stream_ids, stats, strict=True)
        ]
        await asyncio.sleep(1.0)  # every socket connected
        logged = len(timings.read_text().splitlines()) if timings.exists() else 0
        cpu = {"engine": cpu_seconds(engine.pid), "mcp_server": children_cpu(engine.pid)}
        cpu["daphne"] = cpu_seconds(daphne.pid) if daphne is not engine else 0.0
        started = time.monotonic()
        go.set()
        await asyncio.gather(
            *(start_at(http, i, n * args.spread / max(1, len(caller_ids))) for n, i in enumerate(caller_ids))
        )
        statuses = await wait_done(http, caller_ids) if caller_ids else []
        callers_wall = time.monotonic() - started
        await asyncio.wait_for(asyncio.gather(*drivers), 300)
        cpu["engine"] = cpu_seconds(engine.pid) - cpu["engine"]
        cpu["mcp_server"] = children_cpu(engine.pid) - cpu["mcp_server"]
        cpu["daphne"] = (cpu_seconds(daphne.pid) if daphne is not engine else 0.0) - cpu["daphne"]
    await asyncio.sleep(2.5)  # the spans' batched writes (at most once a second)
    latencies: list[float] = []
    for s in stats:
        account_chunks(s)
        latencies += s.latencies_ms
    out: dict[str, Any] = {
        "callers": callers or "none",
        "streams": streams,
        "token_p50_ms": round(percentile(latencies, 0.5), 2),
        "token_p99_ms": round(percentile(latencies, 0.99), 2),
        "tokens": len(latencies),
        "cpu_s": {k: round(v, 3) for k, v in cpu.items()},
    }
    if caller_ids:
        server = read_server_log(timings, logged) if callers == "mcp" else None
        calls = call_timings(ctx, caller_ids, server)
        out |= {
            "runs_complete": statuses.count("complete"),
            "calls": len(calls),
            "callers_wall_s": round(callers_wall, 2),
        }
        for key in PARTS:
            values = [c[key] for c in calls]
            out[f"{key}_p50_ms"] = round(percentile(values, 0.5), 3)
            out[f"{key}_p99_ms"] = round(percentile(values, 0.99), 3)
        out["added_mean_ms"] = round(statistics.fmean(c["added"] for c in calls), 3) if calls else 0.0
    return out


async def sdk_floor(calls: int) -> list[float]:
    """A bare SDK round trip to the same server from one client, no run: the floor under a call."""
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


def cpu_per_call(with_callers: dict[str, Any], alone: dict[str, Any]) -> dict[str, float]:
    """CPU per call: the phase's CPU minus that of the same streams alone, over its calls."""
    calls = max(1, with_callers.get("calls", 0))
    return {
        k: round((with_callers["cpu_s"][k] - (alone["cpu_s"][k] if alone["streams"] else 0.0)) * 1000 / calls, 3)
        for k in with_callers["cpu_s"]
    }


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["production", "embedded"], default="production")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--streams", type=int, default=20, help="plain streaming runs beside them (0: none)")
    parser.add_argument("--stream-tokens", type=int, default=1400, help="per plain run, at 200 tokens/s")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--reply-words", type=int, default=20, help="each turn's reply, at 40 tokens/s")
    parser.add_argument("--spread", type=float, default=0.0, help="seconds over which the callers start (0: at once)")
    parser.add_argument("--json", type=Path, default=Path("var/bench-tools.json"))
    args = parser.parse_args()
    logdir = Path(tempfile.mkdtemp(prefix="bench-tools-"))
    timings = logdir / "mcp-timings.log"
    ctx = start_cluster(args.mode, logdir)
    results: list[dict[str, Any]] = []
    try:
        command = f"{sys.executable} -m tests.support.mcp_test_server stdio --timings {timings}"
        ctx.cluster.manage("mcp_server", "add", SERVER, "--command", command, "--share-all")
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{ctx.port}", headers={"Authorization": f"Bearer {ctx.token}"}, timeout=60
        ) as http:
            # Warm-up: the worker's MCP child starts (a spawn is not a call's latency), imports are done.
            warm = [
                (await http.post("/api/runs", json={"team_config": caller_team(1, 0, b)})).json()["id"]
                for b in (False, True)
            ]
            await asyncio.gather(*(http.post(f"/api/runs/{i}/start", json={"task": "warm up"}) for i in warm))
            await wait_done(http, warm)
        for _ in range(args.repeat):
            alone = await phase(ctx, args, timings, "", args.streams) if args.streams else {"streams": 0}
            for callers in ("mcp", "builtin"):
                solo = await phase(ctx, args, timings, callers, 0)
                solo["cpu_ms_per_call"] = cpu_per_call(solo, {"streams": 0})
                results.append(solo)
                if args.streams:
                    beside = await phase(ctx, args, timings, callers, args.streams)
                    beside["cpu_ms_per_call"] = cpu_per_call(beside, alone)
                    beside["streams_alone_token_p50_ms"] = alone["token_p50_ms"]
                    beside["streams_alone_token_p99_ms"] = alone["token_p99_ms"]
                    results.append(beside)
            if args.streams:
                results.append(alone)
    finally:
        ctx.cluster.stop()
        if args.mode == "production":
            drop_bench_db()
    floor = await sdk_floor(500)
    summary = {
        "mode": args.mode,
        "phases": results,
        "sdk_round_trip_p50_ms": round(percentile(floor, 0.5), 3),
        "sdk_round_trip_p99_ms": round(percentile(floor, 0.99), 3),
    }
    print_table(summary)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2))
    return 0


def print_table(summary: dict[str, Any]) -> None:
    print(f"mode {summary['mode']}; bare SDK round trip p50 {summary['sdk_round_trip_p50_ms']} ms, "
          f"p99 {summary['sdk_round_trip_p99_ms']} ms")  # fmt: skip
    print("| callers | streams beside | calls | added p50 / p99 ms | path p50 / p99 | server p50 | "
          "store req p50 | call start p50 | call - server p50 | store result p50 | CPU ms/call engine / MCP server "
          "| streams' token p50 / p99 ms (alone) |")  # fmt: skip
    print("|" + "---|" * 12)
    for r in summary["phases"]:
        tokens = f"{r['token_p50_ms']} / {r['token_p99_ms']}" if r["streams"] else "-"
        if "streams_alone_token_p50_ms" in r:
            tokens += f" ({r['streams_alone_token_p50_ms']} / {r['streams_alone_token_p99_ms']})"
        if r["callers"] == "none":
            print(f"| none | {r['streams']} | - | - | - | - | - | - | - | - | - | {tokens} |")
            continue
        cpu = r["cpu_ms_per_call"]
        print(
            f"| {r['callers']} | {r['streams']} | {r['calls']} | {r['added_p50_ms']} / {r['added_p99_ms']} "
            f"| {r['path_p50_ms']} / {r['path_p99_ms']} | {r['server_p50_ms']} | {r['store_request_p50_ms']} "
            f"| {r['call_start_p50_ms']} | {r['call_beyond_server_p50_ms']} "
            f"| {r['store_result_p50_ms']} | {cpu['engine']} / {cpu['mcp_server']} | {tokens} |"
        )


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
