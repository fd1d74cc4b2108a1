// The run protocol's constants for the browser: the same values as runs/frames.py
// (tests/runs/test_frames.py checks that the two agree).

export const TASK_MAX_CHARS = 100000; // a task or an answer
export const REASON_MAX_CHARS = 2000; // a stop reason
export const DEFAULT_STOP_REASON = "Stopped by user";

// Close codes, sent after an `error` frame saying why; a client does not reconnect after one.
export const CLOSE_UNAUTHENTICATED = 4001;
export const CLOSE_FORBIDDEN = 4003;
export const CLOSE_NOT_FOUND = 4004;
export const CLOSE_REASONS = {
  [CLOSE_UNAUTHENTICATED]: "not logged in",
  [CLOSE_FORBIDDEN]: "not allowed to watch this run",
  [CLOSE_NOT_FOUND]: "the run no longer exists",
};

export const pingFrame = () => ({ type: "ping" });

// A decision on a pending `tool_approval_request`: "approve" (with edited `args`, checked against
// the tool's schema) or "reject" (the `reason` is what the model reads as the call's result).
export const toolApprovalFrame = (requestId, decision, { args = null, reason = "" } = {}) => {
  const frame = { type: "tool_approval", request_id: requestId, decision };
  if (args !== null) frame.arguments = args;
  if (reason) frame.reason = reason.slice(0, REASON_MAX_CHARS);
  return frame;
};
