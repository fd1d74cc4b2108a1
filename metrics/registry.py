"""The Prometheus metrics, and the one-line calls that update them where the work happens.

Counters and histograms live in the process that does the work: the web server counts sockets,
frames and run starts, a worker its model and tool calls, queue waits and outcomes. Each process
serves its own values (the web server at /metrics, a worker on METRICS_WORKER_PORT); with
PROMETHEUS_MULTIPROC_DIR set, prometheus_client's multiprocess mode lets /metrics sum every process
on the host that shares the directory instead. Labels never carry a key, a prompt or a user's text:
models, providers, tools, outcomes and frame types only. METRICS_ENABLED=false turns every update
into a no-op (the benchmark's switch).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram

from agents_app.engine import Span

_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
_WAIT = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_SOCKET = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)

RUNS_STARTED = Counter("playground_runs_started_total", "Runs started (queued with their task).")
RUNS_FINISHED = Counter("playground_runs_finished_total", "Runs that ended, by outcome.", ["outcome"])
QUEUE_WAIT = Histogram(
    "playground_run_queue_wait_seconds", "Time a run waited queued before a worker claimed it.", buckets=_WAIT
)
MODEL_CALLS = Counter("playground_model_calls_total", "Model calls, by outcome.", ["provider", "model", "outcome"])
MODEL_TOKENS = Counter(
    "playground_model_tokens_total",
    "Tokens of model calls (input, output, cached input).",
    ["provider", "model", "type"],
)
MODEL_COST = Counter(
    "playground_model_cost_usd_total", "US dollars of model calls with a known price.", ["provider", "model"]
)
MODEL_LATENCY = Histogram(
    "playground_model_call_duration_seconds", "Model call duration.", ["provider", "model"], buckets=_LATENCY
)
MODEL_TTFT = Histogram(
    "playground_model_time_to_first_token_seconds",
    "Time from a model request to its first chunk.",
    ["provider", "model"],
    buckets=_LATENCY,
)
TOOL_CALLS = Counter("playground_tool_calls_total", "Tool calls.", ["tool", "server"])
TOOL_ERRORS = Counter("playground_tool_call_errors_total", "Tool calls that failed.", ["tool", "server"])
WEBSOCKETS_OPEN = Gauge("playground_websockets_open", "WebSockets open on this process.", multiprocess_mode="livesum")
FRAMES_SENT = Counter("playground_frames_sent_total", "Frames sent to WebSockets, by frame type.", ["type"])
TOKEN_TO_SOCKET = Histogram(
    "playground_token_to_socket_seconds",
    "From the worker publishing a chunk frame to the web server writing it to a socket (1 frame in 8).",
    buckets=_SOCKET,
)
SWEEP_RECOVERIES = Counter(
    "playground_sweep_recoveries_total", "Runs the lease sweep recovered, by outcome.", ["outcome"]
)

_enabled: bool | None = None
_frame_counters: dict[str, Any] = {}
CHUNK_SAMPLE = 8
_chunks = 0


def enabled() -> bool:
    global _enabled
    if _enabled is None:
        _enabled = bool(settings.METRICS_ENABLED)
    return _enabled


def _label(value: Any) -> str:
    return str(value)[:100]


def run_started() -> None:
    if enabled():
        RUNS_STARTED.inc()


def run_finished(outcome: str) -> None:
    if enabled():
        RUNS_FINISHED.labels(_label(outcome)).inc()


def queue_waited(seconds: float) -> None:
    if enabled():
        QUEUE_WAIT.observe(max(0.0, seconds))


def span_ended(span: Span) -> None:
    """A model or tool call ended (the engine's SpanEnd, as the worker receives it)."""
    if not enabled() or span.end is None:
        return
    attributes = span.attributes
    if span.kind == "model":
        provider = _label(attributes.get("gen_ai.provider.name", ""))
        model = _label(attributes.get("gen_ai.request.model", ""))
        MODEL_CALLS.labels(provider, model, "error" if span.error else "ok").inc()
        MODEL_LATENCY.labels(provider, model).observe(span.end - span.start)
        ttft = attributes.get("gen_ai.response.time_to_first_chunk")
        if isinstance(ttft, int | float):
            MODEL_TTFT.labels(provider, model).observe(ttft)
        for kind, name in (
            ("input", "gen_ai.usage.input_tokens"),
            ("output", "gen_ai.usage.output_tokens"),
            ("cached", "gen_ai.usage.cache_read.input_tokens"),
        ):
            count = attributes.get(name)
            if isinstance(count, int) and count:
                MODEL_TOKENS.labels(provider, model, kind).inc(count)
        cost = attributes.get("playground.cost_usd")
        if isinstance(cost, int | float) and cost:
            MODEL_COST.labels(provider, model).inc(cost)
    elif span.kind == "tool":
        tool = _label(attributes.get("gen_ai.tool.name", ""))
        server = _label(attributes.get("playground.mcp.server", ""))  # empty: a registered tool
        TOOL_CALLS.labels(tool, server).inc()
        if span.error:
            TOOL_ERRORS.labels(tool, server).inc()


def socket_opened() -> None:
    if enabled():
        WEBSOCKETS_OPEN.inc()


def socket_closed() -> None:
    if enabled():
        WEBSOCKETS_OPEN.dec()


def frame_sent(kind: str) -> None:
    """One frame written to a socket (called per frame: the labelled child is looked up once)."""
    if not enabled():
        return
    counter = _frame_counters.get(kind)
    if counter is None:
        counter = _frame_counters.setdefault(kind, FRAMES_SENT.labels(_label(kind)))
    counter.inc()


def chunk_delivered(published_at: float) -> None:
    """A chunk frame reached a socket: the time since the worker published it, for one frame in
    CHUNK_SAMPLE (a histogram observation per frame was a visible share of the web server's CPU)."""
    global _chunks
    if not enabled():
        return
    _chunks += 1
    if _chunks % CHUNK_SAMPLE == 0:
        TOKEN_TO_SOCKET.observe(max(0.0, time.time() - published_at))


def sweep_recovered(outcome: str) -> None:
    if enabled():
        SWEEP_RECOVERIES.labels(_label(outcome)).inc()
