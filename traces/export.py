"""OpenTelemetry export of stored spans over OTLP/HTTP, when the standard OTEL_* variables ask for it.

Exported from the records this process stores, not from live SDK spans: a run's root span opens in
the web server and ends in a worker, a queue wait or a wait for a person spans two processes, and
the SDK ends a span only in the process that started it. So each process exports the spans it
ends, with the ids the database has, into one trace per run. The SDK's BatchSpanProcessor sends
them from its own thread; a collector that is slow, down or refusing only loses spans (logged by
the SDK), never a run. Nothing is exported, and the SDK is not even imported, unless
OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set (and OTEL_SDK_DISABLED is
not true, OTEL_TRACES_EXPORTER not "none"). The exporter itself reads the rest: headers, timeout,
compression, certificates (OTEL_EXPORTER_OTLP_*), and OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Any

from traces.records import SpanRecord

logger = logging.getLogger(__name__)
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
# Which kind of process exports (a resource attribute): set to "worker" when a Celery worker starts.
process_role = "web"

_lock = threading.Lock()
_processor: Any = None
_resource: Any = None
_scope: Any = None


def configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return False
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def _setup() -> Any:
    global _processor, _resource, _scope
    with _lock:
        if _processor is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.sdk.util.instrumentation import InstrumentationScope

            _resource = Resource.create(
                {
                    "service.name": os.environ.get("OTEL_SERVICE_NAME") or "agent-playground",
                    "playground.process": process_role,
                }
            )
            _scope = InstrumentationScope("agent-playground")
            _processor = BatchSpanProcessor(OTLPSpanExporter())
            atexit.register(shutdown)
        return _processor


def export(records: list[SpanRecord]) -> None:
    """Queue ended spans for the collector; any failure is logged and dropped."""
    try:
        processor = _setup()
        for record in records:
            if record.end is not None:
                processor.on_end(_readable(record))
    except Exception:
        logger.warning("could not queue %d span(s) for OpenTelemetry export", len(records), exc_info=True)


def _readable(record: SpanRecord) -> Any:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

    trace_id = int(record.trace_id, 16)
    flags = TraceFlags(TraceFlags.SAMPLED)
    parent = SpanContext(trace_id, int(record.parent_id, 16), True, flags) if record.parent_id else None
    attributes = {k: v for k, v in record.attributes.items() if v is not None}
    attributes["playground.span.kind"] = record.kind
    attributes.setdefault("playground.run.id", record.run_id)
    if record.seq is not None:
        attributes["playground.message.seq"] = record.seq
    kind = SpanKind.CLIENT if record.kind in ("model", "tool") else SpanKind.INTERNAL
    status = Status(StatusCode.ERROR, record.error) if record.error else Status(StatusCode.UNSET)
    assert record.end is not None
    return ReadableSpan(
        name=record.name,
        context=SpanContext(trace_id, int(record.span_id, 16), False, flags),
        parent=parent,
        resource=_resource,
        attributes=attributes,
        kind=kind,
        status=status,
        start_time=int(record.start * 1e9),
        end_time=int(record.end * 1e9),
        instrumentation_scope=_scope,
    )


def flush(timeout_seconds: float = 5.0) -> None:
    if _processor is not None:
        _processor.force_flush(int(timeout_seconds * 1000))


def shutdown() -> None:
    global _processor
    with _lock:
        processor, _processor = _processor, None
    if processor is not None:
        processor.shutdown()
