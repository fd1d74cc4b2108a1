"""The Django-free agent runtime: team configs in, typed events out.

runner = TeamRunner(config, env=os.environ)
async for event in runner.run(transcript, cancel=token, history=earlier, elapsed_before=0.0):
    ...  # MessageChunk | StoredMessage | InputRequest | TaskResult (last)
"""

from agents_app.engine.cancellation import CancellationToken
from agents_app.engine.errors import Cancelled, EngineError, ModelCallError, ToolCallError, TranscriptError
from agents_app.engine.events import (
    AgentUsage,
    Event,
    FunctionCall,
    FunctionExecutionResult,
    HandoffMessage,
    InputRequest,
    MessageChunk,
    RequestUsage,
    SelectSpeakerEvent,
    StopMessage,
    StoredMessage,
    TaskResult,
    TextMessage,
    ToolCallExecutionEvent,
    ToolCallRequestEvent,
    ToolCallSummaryMessage,
    Usage,
    UserInputRequestedEvent,
    message_from_wire,
)
from agents_app.engine.models import aclose_model_clients
from agents_app.engine.teams import TeamRunner

__all__ = [
    "AgentUsage",
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
    "RequestUsage",
    "SelectSpeakerEvent",
    "StopMessage",
    "StoredMessage",
    "TaskResult",
    "TeamRunner",
    "TextMessage",
    "ToolCallError",
    "ToolCallExecutionEvent",
    "ToolCallRequestEvent",
    "ToolCallSummaryMessage",
    "TranscriptError",
    "Usage",
    "UserInputRequestedEvent",
    "aclose_model_clients",
    "message_from_wire",
]
