// The run's WebSocket with automatic reconnection. Each (re)connect asks for replay after the
// last seq the page rendered (?after_seq=), so nothing is lost and the view drops duplicates by seq.
import { CLOSE_REASONS, pingFrame } from "./protocol.js";

const PING_EVERY_MS = 20000;

export class RunSocket {
  constructor(runId, { afterSeq, onFrame, onState, onFatal }) {
    this.runId = runId;
    this.afterSeq = afterSeq;
    this.onFrame = onFrame;
    this.onState = onState || (() => {});
    this.onFatal = onFatal || (() => {});
    this.ws = null;
    this.attempt = 0;
    this.closed = false;
    this.timer = null;
    this.pinger = null;
    this.state = "connecting";
    this.onOnline = () => this.reconnectNow();
    window.addEventListener("online", this.onOnline);
  }

  setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.onState(state, this);
  }

  connect() {
    if (this.closed) return;
    const proto = window.location.protocol === "https:" ? "wss:" : "ws:";
    const after = Math.max(0, this.afterSeq() || 0);
    const url = `${proto}//${window.location.host}/runs/${this.runId}?after_seq=${after}`;
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (err) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch (err) {
        return;
      }
      if (frame.type === "system" && frame.status === "connected") {
        this.attempt = 0;
        this.setState("connected");
      }
      this.onFrame(frame);
    };
    ws.onclose = (event) => {
      clearInterval(this.pinger);
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.closed) return;
      if (event.code in CLOSE_REASONS) {
        this.closed = true;
        this.setState("closed");
        this.onFatal(event.code);
        return;
      }
      this.scheduleReconnect();
    };
    ws.onopen = () => {
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.send(pingFrame()), PING_EVERY_MS);
    };
  }

  scheduleReconnect() {
    if (this.closed) return;
    this.attempt += 1;
    this.setState(this.attempt > 3 || !navigator.onLine ? "offline" : "reconnecting");
    const base = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * (base / 2));
  }

  reconnectNow() {
    if (this.closed || this.ws) return;
    clearTimeout(this.timer);
    this.connect();
  }

  send(frame) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    window.removeEventListener("online", this.onOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close(1000);
    this.setState("closed");
  }
}

/** The small connection indicator: the worst state of the page's live sockets. */
export class ConnectionIndicator {
  constructor(el) {
    this.el = el;
    this.sockets = new Set();
    this.render();
  }

  track(socket) {
    this.sockets.add(socket);
    this.render();
  }

  untrack(socket) {
    this.sockets.delete(socket);
    this.render();
  }

  render() {
    if (!this.el) return;
    const states = [...this.sockets].map((s) => s.state).filter((s) => s !== "closed");
    let state = "idle";
    if (states.includes("offline")) state = "offline";
    else if (states.includes("reconnecting")) state = "reconnecting";
    else if (states.includes("connecting")) state = "connecting";
    else if (states.length) state = "connected";
    const labels = {
      idle: "idle",
      connecting: "connecting…",
      connected: "live",
      reconnecting: "reconnecting…",
      offline: "offline, retrying",
    };
    if (this.el.dataset.state === state) return;
    this.el.dataset.state = state;
    const text = this.el.querySelector(".conn-text");
    if (text) text.textContent = labels[state];
    this.el.title = `Connection: ${labels[state]}`;
  }
}
