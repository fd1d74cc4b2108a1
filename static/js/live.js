// Attach a RunView to its WebSocket: replay after the last rendered seq, then live frames.
import { CLOSE_REASONS } from "./protocol.js";
import { RunSocket } from "./socket.js";
import { isTerminal } from "./runview.js";

export function attachLive(view, indicator, { onConnected = () => {} } = {}) {
  let connects = 0;
  const socket = new RunSocket(view.run.id, {
    afterSeq: () => view.lastSeq,
    onFrame: (frame) => {
      if (frame.type === "system") {
        connects += 1;
        if (connects > 1) view.resetStreams();
      }
      view.applyFrame(frame);
      if (frame.type === "system") onConnected(socket);
      if ((frame.type === "result" || frame.type === "completion") && isTerminal(view.run.status)) {
        socket.close();
        if (indicator) indicator.untrack(socket);
      }
    },
    onState: () => indicator && indicator.render(),
    onFatal: (code) => {
      view.notice(`Live updates stopped: ${CLOSE_REASONS[code] || `closed (${code})`}.`);
      if (indicator) indicator.untrack(socket);
    },
  });
  if (indicator) indicator.track(socket);
  socket.connect();
  return socket;
}
