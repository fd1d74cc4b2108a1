"""The scale scenarios of `make bench` (production mode): how cost grows along other axes than streams.

- `arrivals50`, `arrivals200`: runs arriving in one burst, each created over REST, connected,
  authenticated (an `auth` frame) and started inside the measured window; the fake model paces
  each stream on its own timer and the client decodes frames as they arrive. Token latency and
  time to first token (from the burst) p50/p99.
- `fanout1`, `fanout100`, `fanout1000`: one run at 200 tokens/s watched by N sockets (over every
  Daphne the cluster has): latency at every watcher and at the last watcher of each token, loss,
  Daphne CPU per token per watcher.
- `fanout1000mixed`: 50 runs at 200 tokens/s with one socket each on the first Daphne, their p99
  alone and then beside one more run watched by 1,000 sockets on that same Daphne (read by a
  client process of their own, so the 50 runs' frames do not queue behind theirs in the load client).
- `idle`: N sockets resting on finished and waiting runs: RSS per socket, CPU at rest; then one of
  the waiting runs streams and every watcher of it must get every token.
- `longrun`: a run of 2,000 stored messages waiting for an answer: replay to a new socket, the
  message pages, the resume after an answer (to its first new token), and the queries and time of
  a worker's load of the transcript, beside the same for a 2-message run.
- `history`: a user with many runs and messages (`manage.py seed_history`): the session list, a
  session's runs, the run list at its first and last page, a run's messages, the run page, the
  admin's run list and search; p50/p99 over HTTP and queries per request (Django's test client).

Each reports CPU seconds and RSS of every process; `server_cpu_us_per_token` sums Daphnes,
workers and the bench's own Redis. Sizes come from BENCH_* variables (see docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from bench.procs import cpu_seconds, postgres_cpu_seconds, rss_mb

if TYPE_CHECKING:
    from bench.run import Ctx

CHUNK_PREFIX = '{"type": "message_chunk"'
START = json.dumps({"type": "start", "task": "stream"})


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 2)


def streamer_config(fake_url: str, tokens: int, rate: float, *, independent: bool = False) -> dict[str, Any]:
    headers = {"X-Fake-Tokens": str(tokens), "X-Fake-Rate": str(rate), "X-Fake-Timestamps": "1"}
    if independent:
        headers["X-Fake-Pacing"] = "independent"
    model = {
        "provider": "openai",
        "model": "fake",
        "base_url": fake_url,
        "default_headers": headers,
        "max_retries": 0,
        "timeout": 300,
    }
    return {
        "kind": "round_robin",
        "name": "bench",
        "participants": [{"kind": "assistant", "name": "streamer", "model": model}],
        "termination": {"type": "max_message", "max_messages": 2},
    }


class Meter:
    """CPU seconds of every process of the cluster over a window, and their RSS at its end."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.before = {p.name: cpu_seconds(p.pid) for p in ctx.cluster.procs}
        self.client = time.process_time()
        self.postgres = postgres_cpu_seconds()
        self.started = time.monotonic()
        profile_dir = os.environ.get("BENCH_PROFILE")  # py-spy raw profiles of the window (docs/benchmarks.md)
        if profile_dir:
            from bench.run import start_profilers

            delay, seconds = (float(x) for x in os.environ.get("BENCH_PROFILE_WINDOW", "0,4").split(","))
            loop = asyncio.get_running_loop()
            loop.call_later(delay, start_profilers, ctx.cluster, ctx.mode, profile_dir, seconds)

    def read(self) -> dict[str, Any]:
        procs = self.ctx.cluster.procs
        cpu = {p.name: round(cpu_seconds(p.pid) - self.before[p.name], 2) for p in procs}
        cpu["load-client"] = round(time.process_time() - self.client, 2)
        # Not in the servers' sum, which stays comparable with earlier figures.
        cpu["postgres"] = round(postgres_cpu_seconds() - self.postgres, 2)
        servers = sum(cpu[p.name] for p in self.ctx.servers())
        return {
            "seconds": round(time.monotonic() - self.started, 2),
            "cpu_seconds": cpu,
            "server_cpu_seconds": round(servers, 2),
            "rss_mb": {p.name: round(rss_mb(p.pid), 1) for p in procs},
            "load_avg": os.getloadavg()[0],
        }


async def create_run(http: httpx.AsyncClient, config: dict[str, Any]) -> int:
    response = await http.post("/api/runs", json={"team_config": config})
    response.raise_for_status()
    return int(response.json()["id"])


def http_client(ctx: Ctx, port: int | None = None, **kwargs: Any) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=kwargs.pop("max_connections", 100))
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port or ctx.port}",
        timeout=120,
        limits=limits,
        headers={"Authorization": f"Bearer {ctx.token}"},
        **kwargs,
    )


def ws_url(ctx: Ctx, run_id: int, index: int = 0, token: bool = True) -> str:
    port = ctx.ports[index % len(ctx.ports)]
    return f"ws://127.0.0.1:{port}/runs/{run_id}" + (f"?token={ctx.token}" if token else "")


# ------------------------------------------------------------------ arrivals


@dataclass
class Arrival:
    latencies_ms: list[float] = field(default_factory=list)
    # Milestones from the burst: created (REST answered), connected (system frame), running, first token.
    phases_ms: dict[str, float] = field(default_factory=dict)
    first_token_ms: float = 0.0
    tokens: int = 0
    frames: int = 0
    status: str = ""
    error: str = ""


async def arrive(ctx: Ctx, http: httpx.AsyncClient, config: dict[str, Any], t0: int, index: int, out: Arrival) -> None:
    """One run through the whole path: REST create, connect, authenticate, start; frames decoded as they come."""
    try:
        run_id = await create_run(http, config)
        out.phases_ms["created"] = (time.time_ns() - t0) / 1e6
        async with connect(
            ws_url(ctx, run_id, index, token=False), max_size=2**24, open_timeout=120, ping_interval=None
        ) as ws:
            await ws.send(json.dumps({"type": "auth", "token": ctx.token}))
            json.loads(await ws.recv())  # system
            out.phases_ms["connected"] = (time.time_ns() - t0) / 1e6
            await ws.send(START)
            async for raw in ws:
                now = time.time_ns()
                frame = json.loads(raw)
                kind = frame["type"]
                if kind == "run_status" and frame["status"] not in out.phases_ms:
                    out.phases_ms[frame["status"]] = (now - t0) / 1e6
                if kind == "message_chunk":
                    stamps = frame["data"]["content"].split()
                    if not out.tokens:
                        out.first_token_ms = out.phases_ms["first_token"] = (now - t0) / 1e6
                    out.tokens += len(stamps)
                    out.frames += 1
                    out.latencies_ms.extend((now - int(s)) / 1e6 for s in stamps)
                elif kind in ("result", "completion"):
                    out.status = frame["status"]
                    return
                elif kind == "error":
                    out.error = frame["error"]
    except Exception as exc:  # counted as a failed run, not the end of the scenario
        out.error = f"{type(exc).__name__}: {exc}"


def pg_connections(pids: dict[int, str]) -> dict[str, int]:
    """PostgreSQL connections each cluster process holds now (`ss`: their TCP sockets to port 5432)."""
    out = subprocess.run(["ss", "-tnpH", "dport = :5432"], capture_output=True, text=True).stdout
    counts = dict.fromkeys(pids.values(), 0)
    for pid in re.findall(r"pid=(\d+),", out):
        name = pids.get(int(pid))
        if name is not None:
            counts[name] += 1
    return counts


async def sample_pg_connections(ctx: Ctx, peak: dict[str, int], stop: asyncio.Event) -> None:
    """The most connections each process held at once, sampled every 100 ms until `stop`."""
    pids = {p.pid: p.name for p in ctx.cluster.procs}
    while not stop.is_set():
        now = await asyncio.to_thread(pg_connections, pids)
        for name, count in now.items():
            peak[name] = max(peak.get(name, 0), count)
        try:
            await asyncio.wait_for(stop.wait(), 0.1)
        except TimeoutError:
            pass


def server_milestones(ctx: Ctx, t0: int) -> dict[str, float]:
    """The runs' own stored times from the burst, p50: created (row inserted), queued (the start's
    transaction), claimed (the worker's claim). Where the time between the client's milestones goes."""
    import psycopg

    with psycopg.connect(ctx.cluster.env["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM created_at), extract(epoch FROM queued_at), extract(epoch FROM started_at)"
            " FROM runs_run WHERE created_at >= to_timestamp(%s)",
            [t0 / 1e9],
        ).fetchall()
    columns = zip(*rows, strict=True) if rows else ((), (), ())
    return {
        name: percentile([float(v) * 1e3 - t0 / 1e6 for v in values if v is not None], 0.5)
        for name, values in zip(("created", "queued", "claimed"), columns, strict=True)
    }


async def arrivals(ctx: Ctx, runs: int) -> dict[str, Any]:
    tokens, rate = env_int("BENCH_ARRIVAL_TOKENS", 200), 200.0
    config = streamer_config(ctx.fake_url, tokens, rate, independent=True)
    outs = [Arrival() for _ in range(runs)]
    peak: dict[str, int] = {}
    stop = asyncio.Event()
    async with http_client(ctx, max_connections=runs) as http:
        await http.get("/api/version")
        sampler = asyncio.create_task(sample_pg_connections(ctx, peak, stop))
        meter = Meter(ctx)
        t0 = time.time_ns()
        await asyncio.gather(*(arrive(ctx, http, config, t0, i, out) for i, out in enumerate(outs)))
        usage = meter.read()
        stop.set()
        await sampler
    latencies = [v for o in outs for v in o.latencies_ms]
    received = sum(o.tokens for o in outs)
    errors = [o.error for o in outs if o.error]
    return {
        "scenario": f"arrivals{runs}",
        "runs": runs,
        "tokens_per_run": tokens,
        "lost_tokens": runs * tokens - received,
        "failed_runs": sum(1 for o in outs if o.status != "complete"),
        "errors": errors[:3],
        "p50_ms": percentile(latencies, 0.5),
        "p99_ms": percentile(latencies, 0.99),
        "first_token_p50_ms": percentile([o.first_token_ms for o in outs if o.tokens], 0.5),
        "first_token_p99_ms": percentile([o.first_token_ms for o in outs if o.tokens], 0.99),
        "milestones_p50_ms": {
            name: percentile([o.phases_ms[name] for o in outs if name in o.phases_ms], 0.5)
            for name in ("created", "connected", "queued", "running", "first_token")
        },
        "server_milestones_p50_ms": server_milestones(ctx, t0),
        "tokens_per_chunk_frame": round(received / max(1, sum(o.frames for o in outs)), 1),
        "db_connections_max": {name: n for name, n in peak.items() if n},
        "server_cpu_us_per_token": round(1e6 * usage["server_cpu_seconds"] / max(1, received), 1),
        "server_cpu_ms_per_run": round(1e3 * usage["server_cpu_seconds"] / runs, 1),
        **usage,
    }


# ------------------------------------------------------------------ fan-out


@dataclass
class Watcher:
    received: list[tuple[int, str]] = field(default_factory=list)
    status: str = ""


async def open_watcher(url: str) -> ClientConnection:
    ws = await connect(url, max_size=2**24, open_timeout=300, ping_interval=None)
    json.loads(await ws.recv())  # system
    return ws


async def watch(ws: ClientConnection, out: Watcher) -> None:
    """Keep raw chunk frames with their receive time (decoded later: the client shares the cores)."""
    received = out.received
    async for raw in ws:
        now = time.time_ns()
        if isinstance(raw, str) and raw.startswith(CHUNK_PREFIX):
            received.append((now, raw))
            continue
        frame = json.loads(raw)
        if frame["type"] in ("result", "completion"):
            out.status = frame["status"]
            return


async def connect_all(urls: list[str], concurrency: int = 50) -> list[ClientConnection]:
    gate = asyncio.Semaphore(concurrency)

    async def one(url: str) -> ClientConnection:
        async with gate:
            return await open_watcher(url)

    return list(await asyncio.gather(*(one(u) for u in urls)))


async def fanout(ctx: Ctx, watchers: int) -> dict[str, Any]:
    tokens = env_int("BENCH_FANOUT_TOKENS", 400)
    async with http_client(ctx) as http:
        run_id = await create_run(http, streamer_config(ctx.fake_url, tokens, 200))
    sockets = await connect_all([ws_url(ctx, run_id, i) for i in range(watchers)])
    outs = [Watcher() for _ in sockets]
    await asyncio.sleep(1.0)  # replays sent, the servers at rest
    meter = Meter(ctx)
    tasks = [asyncio.create_task(watch(ws, out)) for ws, out in zip(sockets, outs, strict=True)]
    await sockets[0].send(START)
    try:
        async with asyncio.timeout(600):
            await asyncio.gather(*tasks)
    finally:
        usage = meter.read()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    per_token: dict[int, float] = {}  # emission time -> the latest any watcher received it
    all_latencies, received, frames = [], 0, 0
    for out in outs:
        for now, raw in out.received:
            frames += 1
            for s in json.loads(raw)["data"]["content"].split():
                emitted = int(s)
                latency = (now - emitted) / 1e6
                all_latencies.append(latency)
                received += 1
                if latency > per_token.get(emitted, -1.0):
                    per_token[emitted] = latency
    daphne_cpu = sum(v for k, v in usage["cpu_seconds"].items() if k.startswith("daphne"))
    return {
        "scenario": f"fanout{watchers}",
        "watchers": watchers,
        "daphnes": len(ctx.ports),
        "tokens": tokens,
        "lost_tokens": watchers * tokens - received,
        "failed_watchers": sum(1 for o in outs if o.status != "complete"),
        "chunk_frames_per_watcher": round(frames / watchers, 1),
        "p50_ms": percentile(all_latencies, 0.5),
        "p99_ms": percentile(all_latencies, 0.99),
        "last_watcher_p50_ms": percentile(list(per_token.values()), 0.5),
        "last_watcher_p99_ms": percentile(list(per_token.values()), 0.99),
        "daphne_cpu_us_per_token_per_watcher": round(1e6 * daphne_cpu / max(1, received), 1),
        "server_cpu_us_per_token_per_watcher": round(1e6 * usage["server_cpu_seconds"] / max(1, received), 1),
        **usage,
    }


def _latencies(outs: list[Watcher]) -> list[float]:
    return [
        (now - int(stamp)) / 1e6
        for out in outs
        for now, raw in out.received
        for stamp in json.loads(raw)["data"]["content"].split()
    ]


async def _stream(ctx: Ctx, runs: list[int], watchers: dict[int, list[ClientConnection]]) -> list[list[Watcher]]:
    """Start each run (from its first socket) and read every socket of every run to the end."""
    outs = [[Watcher() for _ in watchers[run_id]] for run_id in runs]
    tasks = [
        asyncio.create_task(watch(ws, out))
        for run_id, run_outs in zip(runs, outs, strict=True)
        for ws, out in zip(watchers[run_id], run_outs, strict=True)
    ]
    await asyncio.gather(*(watchers[run_id][0].send(START) for run_id in runs))
    async with asyncio.timeout(600):
        await asyncio.gather(*tasks)
    return outs


def _last_watcher_latencies(outs: list[Watcher]) -> dict[int, float]:
    """Each token's latency at the watcher that got it last (emission time -> seconds)."""
    per_token: dict[int, float] = {}
    for out in outs:
        for now, raw in out.received:
            for stamp in json.loads(raw)["data"]["content"].split():
                latency = (now - int(stamp)) / 1e6
                if latency > per_token.get(int(stamp), -1.0):
                    per_token[int(stamp)] = latency
    return per_token


async def watch_in_own_process(url: str, count: int) -> None:
    """`python -m bench.scale watch URL COUNT`: open COUNT watchers of one run, print `ready`, start the
    run from the first at a `start` line on stdin, read all to the end and print a JSON summary. The
    mixed scenario runs its popular run's sockets here, so the other runs' frames are not read behind
    a thousand sockets' in the load client's one loop (it measured the client, not the server)."""
    sockets = await connect_all([url] * count)
    outs = [Watcher() for _ in sockets]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, input)
    tasks = [asyncio.create_task(watch(ws, out)) for ws, out in zip(sockets, outs, strict=True)]
    await sockets[0].send(START)
    async with asyncio.timeout(600):
        await asyncio.gather(*tasks)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies = _latencies(outs)
    summary = {
        "watchers": count,
        "tokens_received": len(latencies),
        "failed_watchers": sum(1 for o in outs if o.status != "complete"),
        "p99_ms": percentile(latencies, 0.99),
        "last_watcher_p99_ms": percentile(list(_last_watcher_latencies(outs).values()), 0.99),
        "cpu_seconds": round(time.process_time(), 2),
    }
    print(json.dumps(summary), flush=True)


async def fanout_mixed(ctx: Ctx, others: int, watchers: int) -> dict[str, Any]:
    """`others` runs at 200 tokens/s, one socket each, on the first Daphne: their latency alone, then
    beside one more run watched by `watchers` sockets on that same Daphne (read by a process of their own)."""
    tokens = env_int("BENCH_FANOUT_TOKENS", 400)
    config = streamer_config(ctx.fake_url, tokens, 200)
    async with http_client(ctx) as http:
        alone = [await create_run(http, config) for _ in range(others)]
        beside = [await create_run(http, config) for _ in range(others)]
        popular = await create_run(http, config)
    phases: dict[str, Any] = {}
    for phase, runs in (("alone", alone), ("beside", beside)):
        sockets = {run_id: [await open_watcher(ws_url(ctx, run_id, 0))] for run_id in runs}
        crowd = None
        if phase == "beside":
            crowd = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bench.scale", "watch", ws_url(ctx, popular, 0), str(watchers),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=Path(__file__).resolve().parents[1],
            )  # fmt: skip
            assert crowd.stdin is not None and crowd.stdout is not None
            if (await crowd.stdout.readline()).strip() != b"ready":
                raise RuntimeError("the watchers' process did not connect its sockets")
        await asyncio.sleep(1.0)
        meter = Meter(ctx)
        try:
            if crowd is not None:
                crowd.stdin.write(b"start\n")  # type: ignore[union-attr]
                await crowd.stdin.drain()  # type: ignore[union-attr]
            outs = await _stream(ctx, runs, sockets)
            crowd_summary = json.loads(await crowd.stdout.readline()) if crowd is not None else None  # type: ignore[union-attr]
        finally:
            usage = meter.read()
            await asyncio.gather(*(ws.close() for group in sockets.values() for ws in group), return_exceptions=True)
            if crowd is not None and crowd.returncode is None:
                crowd.kill()
                await crowd.wait()
        plain = _latencies([run_outs[0] for run_outs in outs])
        result: dict[str, Any] = {
            "p50_ms": percentile(plain, 0.5),
            "p99_ms": percentile(plain, 0.99),
            "lost_tokens": others * tokens - len(plain),
            "cpu_seconds": usage["cpu_seconds"],
            "load_avg": usage["load_avg"],
        }
        if crowd_summary is not None:
            result["cpu_seconds"]["watcher-client"] = crowd_summary.pop("cpu_seconds")
            result["popular"] = {
                **crowd_summary,
                "lost_tokens": watchers * tokens - crowd_summary.pop("tokens_received"),
            }
        phases[phase] = result
    return {
        "scenario": f"fanout{watchers}mixed",
        "other_runs": others,
        "tokens": tokens,
        "others_p99_alone_ms": phases["alone"]["p99_ms"],
        "others_p99_beside_ms": phases["beside"]["p99_ms"],
        "others_p99_rise_ms": round(phases["beside"]["p99_ms"] - phases["alone"]["p99_ms"], 2),
        **phases,
    }


# ------------------------------------------------------------------ idle sockets


async def idle(ctx: Ctx, count: int) -> dict[str, Any]:
    waiting_runs = 100
    tokens = 400
    seeded = json.loads(ctx.cluster.manage("seed_history", "--username", "bench", "--runs", "10", "--messages", "40"))
    finished = list(range(seeded["first_run"], seeded["last_run"] + 1))
    async with http_client(ctx) as http:
        config = streamer_config(ctx.fake_url, tokens, 200)
        waiting = [await create_run(http, config) for _ in range(waiting_runs)]
    # Half the sockets on finished runs (replayed, then quiet), half on runs that wait for a start.
    targets = [finished[i % len(finished)] if i % 2 else waiting[(i // 2) % waiting_runs] for i in range(count)]
    daphnes = [p for p in ctx.cluster.procs if p.name.startswith("daphne")]
    rss_before = sum(rss_mb(p.pid) for p in daphnes)
    started = time.monotonic()
    sockets = await connect_all([ws_url(ctx, run_id, i) for i, run_id in enumerate(targets)])
    connect_seconds = time.monotonic() - started
    drains = [asyncio.create_task(_drain(ws)) for ws in sockets]  # replays read, as a browser would
    await asyncio.sleep(3)
    rss_after = sum(rss_mb(p.pid) for p in daphnes)
    rest = Meter(ctx)
    await asyncio.sleep(env_int("BENCH_IDLE_SECONDS", 10))
    at_rest = rest.read()
    # Then a run starts: every socket watching it must get every token.
    run_id = waiting[0]
    mine = [i for i, t in enumerate(targets) if t == run_id]
    for i in mine:
        drains[i].cancel()
    await asyncio.gather(*(drains[i] for i in mine), return_exceptions=True)
    outs = [Watcher() for _ in mine]
    tasks = [asyncio.create_task(watch(sockets[i], out)) for i, out in zip(mine, outs, strict=True)]
    live = Meter(ctx)
    await sockets[mine[0]].send(START)
    async with asyncio.timeout(300):
        await asyncio.gather(*tasks)
    streamed = live.read()
    for task in drains:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies = [
        (now - int(s)) / 1e6
        for o in outs
        for now, raw in o.received
        for s in json.loads(raw)["data"]["content"].split()
    ]
    return {
        "scenario": "idle",
        "sockets": count,
        "connect_seconds": round(connect_seconds, 1),
        "daphne_rss_mb_before": round(rss_before, 1),
        "daphne_rss_mb_after": round(rss_after, 1),
        "rss_kb_per_socket": round(1024 * (rss_after - rss_before) / count, 1),
        "idle_seconds": at_rest["seconds"],
        "idle_cpu_pct_of_core": {k: round(100 * v / at_rest["seconds"], 2) for k, v in at_rest["cpu_seconds"].items()},
        "live_watchers": len(mine),
        "live_lost_tokens": len(mine) * tokens - len(latencies),
        "live_p50_ms": percentile(latencies, 0.5),
        "live_p99_ms": percentile(latencies, 0.99),
        "load_avg": at_rest["load_avg"],
        "rss_mb": streamed["rss_mb"],
    }


async def _drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


# ------------------------------------------------------------------ long runs


def long_config(fake_url: str) -> dict[str, Any]:
    """A streamer and a human: after an answer the streamer speaks once, then the human is asked again."""
    config = streamer_config(fake_url, 20, 0)
    config["participants"].append({"kind": "user_proxy", "name": "user"})
    config["termination"] = {"type": "max_message", "max_messages": 1_000_000}
    config["max_turns"] = 1_000_000  # the seeded transcript counts as turns already taken
    return config


LOAD_SCRIPT = """
import json, time
from django.db import connection
from django.test.utils import CaptureQueriesContext
from runs import execution
from runs.models import Run
from agents_app.engine import TeamRunner
out = {}
for run_id in RUN_IDS:
    samples, queries = [], 0
    for _ in range(5):
        started = time.perf_counter()
        with CaptureQueriesContext(connection) as ctx:
            loaded = execution._load(Run.objects.get(id=run_id))
            runner, transcript = TeamRunner(loaded.config), loaded.transcript
        samples.append(1000 * (time.perf_counter() - started))
        queries = len(ctx.captured_queries)
    out[run_id] = {"messages": len(transcript), "queries": queries, "ms": round(sorted(samples)[2], 2)}
print(json.dumps(out))
"""


async def _first_token_after_answer(ctx: Ctx, run_id: int) -> tuple[float, float]:
    """Answer the run's request; (ms to its first new token, ms until it asks again)."""
    async with connect(ws_url(ctx, run_id), max_size=2**26, open_timeout=60, ping_interval=None) as ws:
        request_id = ""
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "input_request":
                request_id = frame["request_id"]
                break
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "input_response", "response": "go on", "request_id": request_id}))
        first = 0.0
        async for raw in ws:
            if isinstance(raw, str) and raw.startswith(CHUNK_PREFIX) and not first:
                first = 1000 * (time.perf_counter() - started)
            frame = json.loads(raw)
            if frame["type"] == "input_request" and frame["request_id"] != request_id:
                return first, 1000 * (time.perf_counter() - started)
            if frame["type"] in ("result", "completion", "error"):
                raise RuntimeError(f"the resumed run ended: {frame.get('error') or frame['type']} {str(frame)[-300:]}")
    raise RuntimeError("the socket closed before the run asked again")


async def _replay_ms(ctx: Ctx, run_id: int) -> tuple[float, int]:
    started = time.perf_counter()
    messages = 0
    async with connect(ws_url(ctx, run_id), max_size=2**26, open_timeout=60, ping_interval=None) as ws:
        async for raw in ws:
            frame = json.loads(raw)
            if frame["type"] == "message":
                messages += 1
            elif frame["type"] == "input_request":
                return 1000 * (time.perf_counter() - started), messages
    raise RuntimeError("the socket closed before the replay ended")


async def longrun(ctx: Ctx, messages: int) -> dict[str, Any]:
    config_file = ctx.cluster.logdir / "long-team.json"
    config_file.write_text(json.dumps(long_config(ctx.fake_url)))
    seeded = {
        n: json.loads(
            ctx.cluster.manage(
                "seed_history", "--username", "bench", "--long-run", str(n), "--team-config", str(config_file)
            )
        )["long_run"]
        for n in (2, messages)
    }
    long_id, short_id = seeded[messages], seeded[2]
    replays = [await _replay_ms(ctx, long_id) for _ in range(5)]
    pages: list[float] = []  # by `next` cursor, as the playground pages a run's messages
    by_offset: list[float] = []
    async with http_client(ctx) as http:
        for _ in range(3):
            cursor = None
            while True:
                params: dict[str, Any] = {"limit": 200} | ({"after": cursor} if cursor else {})
                started = time.perf_counter()
                response = await http.get(f"/api/runs/{long_id}/messages", params=params)
                response.raise_for_status()
                pages.append(1000 * (time.perf_counter() - started))
                cursor = response.json()["next"]
                if cursor is None:
                    break
            for offset in range(0, messages, 200):
                started = time.perf_counter()
                response = await http.get(f"/api/runs/{long_id}/messages", params={"limit": 200, "offset": offset})
                response.raise_for_status()
                by_offset.append(1000 * (time.perf_counter() - started))
    script = LOAD_SCRIPT.replace("RUN_IDS", repr([short_id, long_id]))
    load = json.loads(ctx.cluster.manage("shell", "-c", script).strip().splitlines()[-1])
    resumes: dict[str, Any] = {}
    for label, run_id in (("short", short_id), ("long", long_id)):
        worker = next(p for p in ctx.cluster.procs if p.name == "worker")
        samples, cpu = [], []
        for _ in range(3):
            before = cpu_seconds(worker.pid)
            samples.append(await _first_token_after_answer(ctx, run_id))
            cpu.append(1000 * (cpu_seconds(worker.pid) - before))
        resumes[label] = {
            "first_token_ms": round(statistics.median(s[0] for s in samples), 1),
            "asks_again_ms": round(statistics.median(s[1] for s in samples), 1),
            "worker_cpu_ms": round(statistics.median(cpu), 1),
        }
    return {
        "scenario": "longrun",
        "messages": messages,
        "replay_ms_median": round(statistics.median(r[0] for r in replays), 1),
        "replay_messages": replays[0][1],
        "pages_p50_ms": percentile(pages, 0.5),
        "pages_p99_ms": percentile(pages, 0.99),
        "pages_by_offset_p50_ms": percentile(by_offset, 0.5),
        "pages_by_offset_p99_ms": percentile(by_offset, 0.99),
        "worker_load": load,
        "resume": resumes,
        "load_avg": os.getloadavg()[0],
        "rss_mb": {p.name: round(rss_mb(p.pid), 1) for p in ctx.cluster.procs},
    }


# ------------------------------------------------------------------ long histories


LOGIN_SCRIPT = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import get_user_model
User = get_user_model()
admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"is_staff": True, "is_superuser": True})
keys = []
for user in (User.objects.get(username="USERNAME"), admin):
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store.update({"_auth_user_id": str(user.pk), "_auth_user_backend": settings.AUTHENTICATION_BACKENDS[0],
                  "_auth_user_hash": user.get_session_auth_hash()})
    store.create()
    keys.append(store.session_key)
print(" ".join(keys))
"""

QUERIES_SCRIPT = """
import json
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
User = get_user_model()
out = {}
for username, path in PATHS:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(User.objects.get(username=username))
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(path).status_code
    out[path] = {"status": status, "queries": len(ctx.captured_queries)}
print(json.dumps(out))
"""


async def _timed_gets(http: httpx.AsyncClient, path: str, cookies: dict[str, str], n: int) -> dict[str, Any]:
    """The page's first request on its own (`first_ms`: templates compiled, caches filled, as after a
    deploy), then p50/p99 over the `n` after it: with 20 samples a p99 is their slowest, and a cold
    first request would be all it measured."""
    started = time.perf_counter()
    await http.get(path, cookies=cookies)
    first_ms = round(1000 * (time.perf_counter() - started), 2)
    samples = []
    status = 0
    for _ in range(n):
        started = time.perf_counter()
        response = await http.get(path, cookies=cookies)
        samples.append(1000 * (time.perf_counter() - started))
        status = response.status_code
    return {
        "status": status,
        "first_ms": first_ms,
        "p50_ms": percentile(samples, 0.5),
        "p99_ms": percentile(samples, 0.99),
    }


async def history(ctx: Ctx, runs: int, messages: int) -> dict[str, Any]:
    sessions = max(1, runs // 100)
    started = time.monotonic()
    seeded = json.loads(
        ctx.cluster.manage(
            "seed_history",
            "--username",
            "history",
            "--sessions",
            str(sessions),
            "--runs",
            str(runs),
            "--messages",
            str(messages),
        )
    )
    seed_seconds = time.monotonic() - started
    # VACUUM too, as autovacuum would have by then: it also moves the rows just seeded from the trigram
    # indexes' pending lists into the indexes, which PostgreSQL's planner otherwise prices above a scan.
    ctx.cluster.manage("shell", "-c", "from django.db import connection; connection.cursor().execute('VACUUM ANALYZE')")
    user_key, admin_key = ctx.cluster.manage("shell", "-c", LOGIN_SCRIPT.replace("USERNAME", "history")).split()[-2:]
    session_id, run_id = seeded["sessions"][0], seeded["last_run"]
    last_page = max(0, runs - 50)
    user_paths = [
        "/api/sessions",
        f"/api/sessions/{session_id}/runs",
        f"/api/sessions/{session_id}/runs?messages=true",  # each run's 100 messages embedded, as before
        "/api/runs",
        f"/api/runs?offset={last_page}",
        f"/api/runs/{run_id}/messages",
        f"/runs/{run_id}/",
    ]
    admin_paths = ["/admin/runs/run/", f"/admin/runs/run/?q=seeded+task+{runs // 2}", "/admin/runs/message/"]
    n = env_int("BENCH_HISTORY_REQUESTS", 20)
    pages: dict[str, Any] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ctx.port}", timeout=120) as http:
        for path in user_paths:
            pages[path] = await _timed_gets(http, path, {"sessionid": user_key}, n)
        for path in admin_paths:
            pages[path] = await _timed_gets(http, path, {"sessionid": admin_key}, n)
    pairs = [("history", p) for p in user_paths] + [("bench-admin", p) for p in admin_paths]
    queries = json.loads(
        ctx.cluster.manage("shell", "-c", QUERIES_SCRIPT.replace("PATHS", repr(pairs))).splitlines()[-1]
    )
    for path, counted in queries.items():
        pages[path]["queries"] = counted["queries"]
    return {
        "scenario": "history",
        "runs": runs,
        "messages": messages,
        "sessions": sessions,
        "seed_seconds": round(seed_seconds, 1),
        "pages": pages,
        "load_avg": os.getloadavg()[0],
    }


SCALE: dict[str, Callable[[Ctx], Awaitable[dict[str, Any]]]] = {
    "arrivals50": lambda ctx: arrivals(ctx, 50),
    "arrivals200": lambda ctx: arrivals(ctx, 200),
    "fanout1": lambda ctx: fanout(ctx, 1),
    "fanout100": lambda ctx: fanout(ctx, 100),
    "fanout1000": lambda ctx: fanout(ctx, env_int("BENCH_FANOUT_MAX", 1000)),
    "fanout1000mixed": lambda ctx: fanout_mixed(ctx, 50, env_int("BENCH_FANOUT_MAX", 1000)),
    "idle": lambda ctx: idle(ctx, env_int("BENCH_IDLE_SOCKETS", 5000)),
    "longrun": lambda ctx: longrun(ctx, env_int("BENCH_LONG_MESSAGES", 2000)),
    "history": lambda ctx: history(
        ctx, env_int("BENCH_HISTORY_RUNS", 10_000), env_int("BENCH_HISTORY_MESSAGES", 1_000_000)
    ),
}


def print_scale(results: list[dict[str, Any]], path: Path | None = None) -> None:
    for r in results:
        print(f"\n### {r['scenario']}")
        print(json.dumps(r, indent=1))
    if path is not None:
        path.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":  # the watchers' process of the mixed fan-out scenario
    if len(sys.argv) == 4 and sys.argv[1] == "watch":
        asyncio.run(watch_in_own_process(sys.argv[2], int(sys.argv[3])))
    else:
        sys.exit("usage: python -m bench.scale watch URL COUNT")
