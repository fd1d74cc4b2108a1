"""The floor under a worker process: the `openai` SDK alone reading N paced streams on one event loop.

No Django, no database, no channel layer, no WebSocket: the same OpenAIClient a run uses, against
the local OpenAI-compatible server (its own process), reading N streams of 200 tokens/s at once.
Whatever token latency and CPU this shows, a single worker process cannot beat.

    python bench/sdk_floor.py [--runs 1 50 200] [--tokens 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from agents_app.config import OpenAIModel  # noqa: E402
from agents_app.engine import aclose_model_clients  # noqa: E402
from agents_app.engine.openai_client import OpenAIClient, warm_up  # noqa: E402
from bench.procs import Cluster  # noqa: E402
from bench.run import percentile  # noqa: E402


async def read_streams(base_url: str, runs: int, tokens: int) -> str:
    headers = {"X-Fake-Tokens": str(tokens), "X-Fake-Rate": "200", "X-Fake-Timestamps": "1"}
    config = OpenAIModel(provider="openai", model="fake", base_url=base_url, default_headers=headers, max_retries=0)
    latencies: list[float] = []

    async def one() -> None:
        async for item in OpenAIClient(config, {}).stream([{"role": "user", "content": "stream"}]):
            if isinstance(item, str):
                now = time.time_ns()
                latencies.extend((now - int(stamp)) / 1e6 for stamp in item.split())

    cpu, wall = time.process_time(), time.monotonic()
    await asyncio.gather(*(one() for _ in range(runs)))
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    await aclose_model_clients()
    per_token_us = cpu / max(1, len(latencies)) * 1e6
    return (
        f"| {runs} | {len(latencies)}/{runs * tokens} | {percentile(latencies, 0.5):.1f} "
        f"| {percentile(latencies, 0.99):.1f} | {cpu:.2f} | {wall:.2f} | {per_token_us:.0f} |"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, nargs="*", default=[1, 50, 200])
    parser.add_argument("--tokens", type=int, default=400)
    args = parser.parse_args()
    cluster = Cluster(dict(os.environ), Path(tempfile.mkdtemp(prefix="bench-sdk-floor-")))
    fake = cluster.fake_openai()
    warm_up()
    try:
        print("| streams | tokens | p50 ms | p99 ms | CPU s | wall s | CPU us/token |")
        print("|---|---|---|---|---|---|---|")
        for runs in args.runs:
            print(asyncio.run(read_streams(f"http://127.0.0.1:{fake.port}/v1", runs, args.tokens)), flush=True)
    finally:
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
