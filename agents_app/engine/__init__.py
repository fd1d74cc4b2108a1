"""The Django-free agent runtime: team configs in, typed events out.

    runner = TeamRunner(config, env=os.environ)
    async for event in runner.run(transcript, cancel=token, history=earlier, elapsed_before=0.0):
        ...  # MessageChunk | StoredMessage | InputRequest | TaskResult (always last)
    await aclose_model_clients()  # when the event loop's work ends

Contract with the caller (runs/execution.py):

- `transcript` is this run's stored wire dicts, the task first; only new events are yielded.
  Store each StoredMessage (`to_wire()`) before publishing it; MessageChunks are never stored.
- `InputRequest(source, prompt)` then `TaskResult("input_required")`: the run suspends. The answer
  is stored as `{"source": request.source, "type": "TextMessage", "content": answer}` and a new
  `run()` over the longer transcript continues after it.
- `cancel.cancel(reason)` interrupts the model stream at once; a partial TextMessage
  (`partial=True`, on the wire too) precedes `TaskResult("cancelled", reason)`.
- `runner.external_termination.set()` ends the run gracefully after the current turn.
- `ApprovalRequest(source, call_id, tool, server, arguments, schema)` then `TaskResult("input_required")`:
  a tool call waits for a person (`tool_approval`). The decision is stored as a `ToolApprovalEvent`
  from that agent (content: call_id, tool, decision, arguments, reason, by); a new `run()` goes on
  with the next undecided call, or runs the calls as decided (a rejection is the call's result).
- `TeamRunner(config, mcp_servers={name: McpServerSpec})`: the MCP servers the agents name, looked up
  by the caller. Sessions are per event loop and shared by runs; `aclose_mcp_sessions()` when the
  loop's work ends (stdio servers exit). A server that cannot be listed raises McpServerError.
- Model failures raise `ModelCallError(message, permanent)`; a bad transcript raises TranscriptError.
- `TeamRunner(config, tracer=Tracer(parent_span_id))` also yields `SpanStart` / `SpanEnd` for each agent
  turn, model call, tool call, hand-off and speaker selection (`tracing.py`), each before the message
  it produced (`span.produced`); after an exception, `tracer.drain()` has the spans it ended.
  `pricing=Pricing(overrides)` puts a US-dollar `cost` on each model call's usage (`pricing.py`).
"""

from agents_app.engine.cancellation import CancellationToken
from agents_app.engine.errors import Cancelled, EngineError, ModelCallError, ToolCallError, TranscriptError
from agents_app.engine.events import (
    AgentUsage,
    ApprovalRequest,
    Event,
    FunctionCall,
    FunctionExecutionResult,
    HandoffMessage,
    InputRequest,
    MessageChunk,
    MultiModalMessage,
    RequestUsage,
    SelectSpeakerEvent,
    StopMessage,
    StoredMessage,
    TaskResult,
    TextMessage,
    ToolApprovalEvent,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
    Usage,
    UserInputRequestedEvent,
    message_from_wire,
)
from agents_app.engine.mcp import McpServerError, McpServerSpec, aclose_mcp_sessions, mcp_sessions
from agents_app.engine.models import ProviderEndpoint, aclose_model_clients
from agents_app.engine.pricing import ModelPrice, Pricing
from agents_app.engine.teams import TeamRunner
from agents_app.engine.tracing import Span, SpanEnd, SpanEvent, SpanStart, Tracer

__all__ = [
    "AgentUsage",
    "ApprovalRequest",
    "Cancelled",
    "CancellationToken",
    "EngineError",
    "Event",
    "FunctionCall",
    "FunctionExecutionResult",
    "HandoffMessage",
    "InputRequest",
    "MessageChunk",
    "ModelCallError",
    "ModelPrice",
    "MultiModalMessage",
    "Pricing",
    "RequestUsage",
    "SelectSpeakerEvent",
    "Span",
    "SpanEnd",
    "SpanEvent",
    "SpanStart",
    "StopMessage",
    "StoredMessage",
    "TaskResult",
    "TeamRunner",
    "TextMessage",
    "ToolApprovalEvent",
    "ToolCallError",
    "ToolCallExecutionEvent",
    "ToolCallRequestEvent",
    "ToolCallSummaryMessage",
    "Tracer",
    "TranscriptError",
    "Usage",
    "UserInputRequestedEvent",
    "aclose_model_clients",
    "aclose_mcp_sessions",
    "mcp_sessions",
    "McpServerError",
    "McpServerSpec",
    "ProviderEndpoint",
    "message_from_wire",
]
