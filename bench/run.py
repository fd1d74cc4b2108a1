"""`make bench`: token-to-browser latency, loss, throughput, CPU and memory.

A local OpenAI-compatible server streams tokens whose text is their emission time
(`X-Fake-Timestamps`); a load client drives runs over the real WebSocket protocol
and measures, for every token, receive time minus emission time. Production mode:
Daphne + one Celery worker (--pool threads) + Redis + PostgreSQL; embedded mode:
Daphne alone (SQLite, in-memory layer, inline executor).

    python bench/run.py [--mode production|embedded|both] [--scenario NAME ...] [--daphnes N] [--workers N]
                        [--json out.json]

The scale scenarios (arrivals, fan-out, idle sockets, long runs, long histories) are in bench/scale.py.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from bench.procs import (  # noqa: E402
    BIN,
    Cluster,
    cpu_seconds,
    machine_cpu,
    postgres_cpu_seconds,
    raise_open_files_limit,
    rss_mb,
    sys_seconds,
)
from runs.frames import StartFrame  # noqa: E402

START = json.dumps(StartFrame(task="stream").wire())


@dataclass
class Scenario:
    name: str
    runs: int
    rate: float  # tokens per second per run; 0 = unpaced
    tokens: int


SCENARIOS = {
    "1x200": Scenario("1 run at 200 tok/s", 1, 200, 400),
    "50x200": Scenario("50 runs at 200 tok/s", 50, 200, int(os.environ.get("BENCH_TOKENS", "400"))),
    "200x200": Scenario("200 runs at 200 tok/s", 200, 200, 400),
    "unpaced": Scenario("1 unpaced run", 1, 0, 40_000),
    # Not a target: what starting and finishing a run costs, with almost no streaming.
    "lifecycle": Scenario("200 runs of 10 tokens", 200, 200, 10),
}
DEFAULT_SCENARIOS = ["1x200", "50x200", "200x200", "unpaced"]


@dataclass
class RunStats:
    latencies_ms: list[float] = field(default_factory=list)
    emitted_ns: list[int] = field(default_factory=list)
    tokens: int = 0
    frames: int = 0
    stored_tokens: int = 0
    first_ns: int = 0
    last_ns: int = 0
    status: str = ""
    received: list[tuple[int, str]] = field(default_factory=list)  # (receive time ns, raw chunk frame)


@dataclass
class Result:
    mode: str
    scenario: str
    runs: int
    expected_tokens: int
    received_tokens: int
    chunk_frames: int
    lost_tokens: int
    failed_runs: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    per_run_tokens_per_s_median: float
    per_run_tokens_per_s_min: float  # the slowest run: "every run at full rate"
    total_tokens_per_s: float
    cpu_seconds: dict[str, float]
    sys_seconds: dict[str, float]
    machine_busy_pct: float
    rss_mb: dict[str, float]
    # Every server process together (Daphnes, workers, the bench's Redis): per token relayed, per run.
    server_cpu_us_per_token: float = 0.0
    server_cpu_ms_per_run: float = 0.0


def team_config(base_url: str, scenario: Scenario) -> dict[str, Any]:
    headers = {"X-Fake-Tokens": str(scenario.tokens), "X-Fake-Rate": str(scenario.rate), "X-Fake-Timestamps": "1"}
    model = {
        "provider": "openai",
        "model": "fake",
        "base_url": base_url,
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


async def drive_run(port: int, token: str, run_id: int, stats: RunStats, go: asyncio.Event) -> None:
    """Drive one run; chunk frames are kept raw with their receive time and decoded after the scenario
    (`account_chunks`), so the client's own work does not delay the frames it timestamps."""
    url = f"ws://127.0.0.1:{port}/runs/{run_id}?token={token}"
    async with connect(url, max_size=2**24, open_timeout=60, ping_interval=None) as ws:
        json.loads(await ws.recv())  # system
        await go.wait()
        await ws.send(START)
        received = stats.received
        async for raw in ws:
            now = time.time_ns()
            if CHUNK_PREFIX in raw[:40]:
                received.append((now, raw))
                continue
            frame = json.loads(raw)
            kind = frame["type"]
            if kind == "message_chunk":  # not as the server usually writes it: decoded later all the same
                received.append((now, raw))
            elif kind == "message" and frame["data"]["source"] == "streamer":
                stats.stored_tokens = len(str(frame["data"]["content"]).split())
            elif kind in ("result", "completion"):
                stats.status = frame["status"]
                return


CHUNK_PREFIX = '{"type": "message_chunk"'


def account_chunks(stats: RunStats) -> None:
    """Per-token latency (receive time minus the emission time each token carries) of one run's chunks."""
    for now, raw in stats.received:
        frame = json.loads(raw)
        stamps = frame["data"]["content"].split()
        if not stats.first_ns:
            stats.first_ns = now
        stats.last_ns = now
        stats.tokens += len(stamps)
        stats.frames += 1
        for s in stamps:
            emitted = int(s)
            stats.latencies_ms.append((now - emitted) / 1e6)
            stats.emitted_ns.append(emitted)
    stats.received.clear()


def start_profilers(cluster: Cluster, mode: str, profile_dir: str, seconds: float) -> None:
    # BENCH_PROFILE_PROCS="worker,daphne" limits which processes are sampled (fewer samplers, less noise).
    wanted = set(filter(None, os.environ.get("BENCH_PROFILE_PROCS", "").split(",")))
    for proc in cluster.procs:
        if wanted and proc.name not in wanted:
            continue
        rate = os.environ.get("BENCH_PROFILE_RATE", "250")  # samples a second
        subprocess.Popen(
            [
                str(BIN / "py-spy") if (BIN / "py-spy").exists() else "py-spy",
                "record",
                "-p",
                str(proc.pid),
                "-d",
                str(max(1, round(seconds))),
                "-r",
                rate,
                "-f",
                "raw",
                "--threads",
                *([] if os.environ.get("BENCH_PROFILE_BLOCKING") else ["--nonblocking"]),
                *(["--gil"] if os.environ.get("BENCH_PROFILE_GIL", "1") == "1" else []),
                "-o",
                f"{profile_dir}/{mode}-{proc.name}.raw",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def run_scenario(ctx: Ctx, sc: Scenario) -> Result:
    cluster, mode, token = ctx.cluster, ctx.mode, ctx.token
    config = team_config(ctx.fake_url, sc)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{ctx.port}", timeout=60, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        run_ids = []
        for _ in range(sc.runs):
            response = await http.post("/api/runs", json={"team_config": config})
            response.raise_for_status()
            run_ids.append(response.json()["id"])
    stats = [RunStats() for _ in run_ids]
    go = asyncio.Event()
    ports = ctx.ports
    tasks = [
        asyncio.create_task(drive_run(ports[i % len(ports)], token, rid, st, go))
        for i, (rid, st) in enumerate(zip(run_ids, stats, strict=True))
    ]
    await asyncio.sleep(0.5 + sc.runs * 0.01)  # every socket connected and replayed
    cpu_before = {p.name: cpu_seconds(p.pid) for p in cluster.procs}
    sys_before = {p.name: sys_seconds(p.pid) for p in cluster.procs}
    client_before = time.process_time()
    postgres_before = postgres_cpu_seconds()
    machine_before = machine_cpu()
    started = time.monotonic()
    go.set()
    profile_dir = os.environ.get("BENCH_PROFILE")  # py-spy raw profiles of each server process, for digging
    if profile_dir:
        # BENCH_PROFILE_WINDOW="delay,seconds" picks a slice (e.g. "0.6,1.2" for the steady state).
        delay, seconds = (float(x) for x in os.environ.get("BENCH_PROFILE_WINDOW", "0,4").split(","))
        asyncio.get_running_loop().call_later(delay, start_profilers, cluster, mode, profile_dir, seconds)
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - started
    machine_after = machine_cpu()
    busy = (machine_after[0] - machine_before[0]) / max(1, machine_after[1] - machine_before[1])
    cpu = {name: round(cpu_seconds(p.pid) - cpu_before[name], 2) for name, p in ((p.name, p) for p in cluster.procs)}
    cpu["load-client"] = round(time.process_time() - client_before, 2)
    if mode == "production":  # not in the servers' sum, which stays comparable with earlier figures
        cpu["postgres"] = round(postgres_cpu_seconds() - postgres_before, 2)
    kernel = {p.name: round(sys_seconds(p.pid) - sys_before[p.name], 2) for p in cluster.procs}
    for st in stats:
        account_chunks(st)
    latencies = [v for st in stats for v in st.latencies_ms]
    if os.environ.get("BENCH_TIMELINE"):
        pairs = sorted((e, v) for st in stats for e, v in zip(st.emitted_ns, st.latencies_ms, strict=True))
        t0 = pairs[0][0] if pairs else 0
        buckets: dict[int, list[float]] = {}
        for e, v in pairs:
            buckets.setdefault(int((e - t0) / 2.5e8), []).append(v)
        for b, vals in sorted(buckets.items()):
            p50, p99 = percentile(vals, 0.5), percentile(vals, 0.99)
            print(f"  t={b * 0.25:5.2f}s n={len(vals):5d} p50={p50:8.1f} p99={p99:8.1f}")
    dump = os.environ.get("BENCH_DUMP")  # per-run emission times and latencies, for digging
    if dump:
        Path(dump).write_text(json.dumps([[st.emitted_ns, st.latencies_ms] for st in stats]))
    received = sum(st.tokens for st in stats)
    rates = [st.tokens / ((st.last_ns - st.first_ns) / 1e9) for st in stats if st.last_ns > st.first_ns]
    return Result(
        mode=mode,
        scenario=sc.name,
        runs=sc.runs,
        expected_tokens=sc.runs * sc.tokens,
        received_tokens=received,
        chunk_frames=sum(st.frames for st in stats),
        lost_tokens=sc.runs * sc.tokens - received,
        failed_runs=sum(1 for st in stats if st.status != "complete" or st.stored_tokens != sc.tokens),
        p50_ms=round(percentile(latencies, 0.50), 2),
        p99_ms=round(percentile(latencies, 0.99), 2),
        max_ms=round(max(latencies, default=float("nan")), 2),
        per_run_tokens_per_s_median=round(statistics.median(rates), 1) if rates else 0.0,
        per_run_tokens_per_s_min=round(min(rates), 1) if rates else 0.0,
        total_tokens_per_s=round(received / elapsed, 1),
        cpu_seconds=cpu,
        sys_seconds=kernel,
        machine_busy_pct=round(100 * busy, 1),
        rss_mb={p.name: round(rss_mb(p.pid), 1) for p in cluster.procs},
        server_cpu_us_per_token=round(1e6 * server_cpu(ctx, cpu) / max(1, received), 1),
        server_cpu_ms_per_run=round(1e3 * server_cpu(ctx, cpu) / sc.runs, 2),
    )


def server_cpu(ctx: Ctx, cpu: dict[str, float]) -> float:
    return sum(cpu.get(p.name, 0.0) for p in ctx.servers())


BENCH_DB = f"playground_bench_{os.getpid()}"


@dataclass
class Ctx:
    """A running cluster and what the load client needs to reach it."""

    cluster: Cluster
    mode: str
    ports: list[int]  # one per Daphne
    token: str
    fake_url: str

    @property
    def port(self) -> int:
        return self.ports[0]

    def servers(self) -> list[Any]:
        """The server processes whose CPU a token costs (Daphnes, workers, the bench's Redis)."""
        return [p for p in self.cluster.procs if p.name not in {"fake-openai"}]


def start_cluster(mode: str, logdir: Path, daphnes: int = 1, workers: int = 1) -> Ctx:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "RUN_EXECUTOR"}}
    env.update(PYTHONUNBUFFERED="1", LOG_LEVEL="WARNING", RUN_MAX_ACTIVE_PER_USER="1000")
    cluster = Cluster(env, logdir)
    if mode == "production":
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
            # One database per bench process: two benches on one machine must not drop each other's.
            conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {BENCH_DB}")
        redis_url = os.environ.get("BENCH_REDIS_URL")
        if not redis_url:  # a private Redis: its CPU is the bench's own, not other users' of the shared one
            redis_url = f"redis://127.0.0.1:{cluster.redis().port}/0"
        env.update(
            DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
            REDIS_URL=redis_url,
            CHANNEL_LAYER_PREFIX=f"bench{os.getpid()}",
            CELERY_QUEUE=f"bench{os.getpid()}",
            DEBUG="false",
            SECRET_KEY="bench-secret-key-0123456789abcdefghijklmnop",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            MODEL_ALLOW_PRIVATE_ADDRESSES="true",  # the fake model server listens on loopback
        )
    else:
        env.update(SQLITE_PATH=str(logdir / "bench.sqlite3"))
    cluster.manage("migrate", "--noinput", "-v0")
    token = (
        cluster.manage(
            "shell",
            "-c",
            "from django.contrib.auth import get_user_model as g; from accounts.services import token_create as t;"
            "u, _ = g().objects.get_or_create(username='bench'); print(t(user=u, name='bench')[1])",
        )
        .strip()
        .splitlines()[-1]
    )
    fake = cluster.fake_openai()
    ports = [cluster.daphne("daphne" if i == 0 else f"daphne{i + 1}").port for i in range(daphnes)]
    if mode == "production":
        for i in range(workers):
            cluster.worker(concurrency=250, name="worker" if i == 0 else f"worker{i + 1}")
    return Ctx(cluster, mode, ports, token, f"http://127.0.0.1:{fake.port}/v1")


def drop_bench_db() -> None:
    import psycopg

    with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def print_table(results: list[Result]) -> None:
    print(
        "\n| mode | scenario | tokens recv/expected | lost | failed runs | p50 ms | p99 ms | max ms "
        "| per-run tok/s median/min | total tok/s | server µs/token | CPU s by process |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        cpu = " ".join(f"{k} {v}" for k, v in r.cpu_seconds.items())
        print(
            f"| {r.mode} | {r.scenario} | {r.received_tokens}/{r.expected_tokens} | {r.lost_tokens} "
            f"| {r.failed_runs} | {r.p50_ms} | {r.p99_ms} | {r.max_ms} "
            f"| {r.per_run_tokens_per_s_median}/{r.per_run_tokens_per_s_min} "
            f"| {r.total_tokens_per_s} | {r.server_cpu_us_per_token} | {cpu} |"
        )


async def main() -> int:
    from bench.scale import SCALE, print_scale

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["production", "embedded", "both"], default="both")
    parser.add_argument("--scenario", nargs="*", choices=[*SCENARIOS, *SCALE], default=DEFAULT_SCENARIOS + list(SCALE))
    parser.add_argument("--daphnes", type=int, default=1, help="Daphne processes (production)")
    parser.add_argument("--workers", type=int, default=1, help="Celery worker processes (production)")
    parser.add_argument("--json", type=Path, default=Path("var/bench-results.json"))
    args = parser.parse_args()
    raise_open_files_limit()  # the client's sockets, and (inherited) the servers'
    modes = ["production", "embedded"] if args.mode == "both" else [args.mode]
    results: list[Result] = []
    scale: list[dict[str, Any]] = []
    for mode in modes:
        logdir = Path(tempfile.mkdtemp(prefix=f"bench-{mode}-"))
        many = mode == "production"
        ctx = start_cluster(mode, logdir, args.daphnes if many else 1, args.workers if many else 1)
        try:
            for name in args.scenario:
                if name in SCENARIOS:
                    result = await run_scenario(ctx, SCENARIOS[name])
                    results.append(result)
                    print(json.dumps(asdict(result)), flush=True)
                elif mode == "production":  # the scale scenarios measure the deployment users get
                    outcome = await SCALE[name](ctx)
                    scale.append({"mode": mode, **outcome})
                    print(json.dumps(scale[-1]), flush=True)
        finally:
            ctx.cluster.stop()
            if mode == "production":
                drop_bench_db()
    print_table(results)
    print_scale(scale)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"streams": [asdict(r) for r in results], "scale": scale}, indent=2))
    return 0


if __name__ == "__main__":
    if subprocess.run(["redis-cli", "ping"], capture_output=True).returncode != 0:
        print("bench: Redis is not running on 127.0.0.1:6379 (production mode needs it)", file=sys.stderr)
    sys.exit(asyncio.run(main()))
