// One run as a card: header (task, status), messages as agent bubbles, tool rows, hand-offs,
// the human input card, errors and the closing stats. Live frames and a stored transcript go
// through the same methods, so a replay looks exactly like the live run did.
import { api } from "./api.js";
import { agentHue, formatCost, formatDuration, formatTime, h, prettyJson } from "./dom.js";
import { exportLinks, messageActions, runFacts } from "./iterate.js";
import { setMarkdown } from "./markdown.js";
import { REASON_MAX_CHARS, TASK_MAX_CHARS } from "./protocol.js";

/** A message's tokens, and its cost when its model's price is known. */
function usageTag(u) {
  const tokens = `${(u.prompt_tokens || 0) + (u.completion_tokens || 0)} tok`;
  const cost = typeof u.cost === "number" ? ` · ${formatCost(u.cost)}` : "";
  return h("span", { class: "tokens muted small", title: "prompt + completion tokens, and what the model call cost" }, tokens + cost);
}

export const STATUS_LABELS = {
  created: "starting",
  queued: "running",
  running: "running",
  awaiting_input: "waiting for you",
  stopping: "stopping…",
  complete: "completed",
  stopped: "stopped",
  error: "failed",
};
const TERMINAL = new Set(["complete", "stopped", "error"]);
const TEXT_TYPES = new Set(["TextMessage", "ToolCallSummaryMessage", "StopMessage", "UserInputRequestedEvent"]);

export function isTerminal(status) {
  return TERMINAL.has(status);
}

/** A message's text: its content, or the text of a MultiModalMessage's list (AutoGen's shape). */
function messageText(data) {
  if (Array.isArray(data.content) && data.attachments) return data.content.filter((item) => typeof item === "string").join("\n");
  return data.content;
}

export function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KiB`;
  return `${(size / 1024 / 1024).toFixed(1)} MiB`;
}

/** A message's files: images as thumbnails that open full size, other files as chips that download. */
export function attachmentsEl(data) {
  const items = data.attachments.map((file) => {
    const label = `${file.name} (${formatBytes(file.size)})`;
    if (file.kind === "image") {
      return h("a", { class: "attachment-thumb", href: file.url, target: "_blank", rel: "noopener", title: label },
        h("img", { src: file.url, alt: file.name, loading: "lazy" }));
    }
    return h("a", { class: "file-chip", href: file.url, download: file.name, title: `${label}, ${file.content_type}` },
      h("span", { "aria-hidden": "true" }, "📎 "), file.name, h("span", { class: "muted small" }, ` ${formatBytes(file.size)}`));
  });
  const note = data.metadata && data.metadata.note;
  return h("div", { class: "attachments", "data-testid": "attachments" },
    h("div", { class: "attachment-list" }, items),
    note ? h("p", { class: "attachment-note muted small" }, note) : null);
}

/** An MCP tool's images (a result's `parts`), shown inline under its text. */
function resultImages(result) {
  return (result.parts || [])
    .filter((p) => p.type === "image" && /^image\/(png|jpeg|gif|webp)$/.test(p.mime_type || ""))
    .map((p) => h("img", { class: "tool-image", src: `data:${p.mime_type};base64,${p.data}`, alt: `image returned by ${result.name || "the tool"}` }));
}

function contentText(content) {
  if (typeof content === "string") return content;
  return prettyJson(content);
}

export class RunView {
  /**
   * run: {id, task, status, ...} (REST RunOut or the WS `run` summary).
   * opts.onStatus(view) is called whenever the status changes; opts.announce(text) speaks to screen readers.
   * opts.onFork(run), when given, puts "re-run from here" and "edit and re-run" on every message and
   * receives each fork made from them; opts.linkRun(id) is where links to other runs point.
   */
  constructor(run, { onStatus = () => {}, announce = () => {}, onChange = () => {}, link = true, onFork = null, linkRun = (id) => `/runs/${id}/` } = {}) {
    this.run = { ...run };
    this.onStatus = onStatus;
    this.onFork = onFork;
    this.linkRun = linkRun;
    this.announce = announce;
    this.onChange = onChange;
    this.items = new Map(); // seq -> element (final or streaming)
    this.final = new Set(); // seqs of stored messages already rendered
    this.streams = new Map(); // seq -> {el, text, source, pending}
    this.toolRows = new Map(); // call id -> row element
    this.humans = new Set(["user"]);
    this.messageCount = 0;
    this.lastAgent = "";
    this.inputRequest = null;
    this.countdownTimer = null;
    this.build(link);
    this.setStatus(run.status, true);
    if (isTerminal(run.status)) this.renderFinished();
  }

  get lastSeq() {
    let max = 0;
    for (const seq of this.final) max = Math.max(max, seq);
    return max;
  }

  build(link) {
    this.statusEl = h("span", { class: "badge", "data-testid": "run-status" });
    this.msgs = h("ol", { class: "msgs", "aria-label": "Messages" });
    this.inputSlot = h("div", { class: "input-slot" });
    this.notices = h("div", { class: "notices" });
    this.foot = h("footer", { class: "run-foot muted small" });
    const title = h("h2", { class: "run-task", title: this.run.task || "" }, this.run.task || "(no task yet)");
    const meta = h("span", { class: "run-meta muted small" }, formatTime(this.run.created_at || new Date().toISOString()));
    if (link) meta.append(" · ", h("a", { href: `/runs/${this.run.id}/` }, `run #${this.run.id}`), " ", exportLinks(this.run.id));
    this.facts = h("span", { class: "run-facts small" });
    this.head = h("header", { class: "run-head" }, title, this.statusEl, meta, this.facts);
    this.treeSlot = h("div", { class: "tree-slot" });
    this.el = h(
      "article",
      { class: "run", id: `run-${this.run.id}`, "data-run-id": this.run.id, "aria-label": `Run: ${this.run.task || this.run.id}` },
      this.head,
      this.treeSlot,
      this.msgs,
      this.inputSlot,
      this.notices,
      this.foot,
    );
    this.renderFacts();
  }

  renderFacts() {
    this.facts.replaceChildren(...runFacts(this.run, { linkRun: this.linkRun }));
  }

  /** The run's parent and forks (iterate.forkTree), or null for none. */
  setTree(tree) {
    this.treeSlot.replaceChildren(...(tree ? [tree] : []));
  }

  // ------------------------------------------------------------------ status

  setStatus(status, initial = false) {
    if (!status) return;
    const changed = status !== this.run.status || initial;
    this.run.status = status;
    this.el.dataset.status = status;
    this.statusEl.textContent = STATUS_LABELS[status] || status;
    this.statusEl.className = `badge badge-${status}`;
    if (status !== "awaiting_input") this.hideInput();
    if (changed && !initial) {
      this.announce(`Run ${STATUS_LABELS[status] || status}`);
    }
    if (changed) this.onStatus(this);
  }

  updateRun(summary) {
    if (!summary) return;
    const { status, ...rest } = summary;
    if (!rest.task) delete rest.task; // a run created before its `start` has no task yet
    Object.assign(this.run, rest);
    if (summary.task) this.el.querySelector(".run-task").textContent = summary.task;
    this.renderFacts();
    this.setStatus(summary.status);
    if (summary.status === "awaiting_input" && summary.input_request) this.showInput(summary.input_request);
    if (isTerminal(summary.status)) this.renderFinished();
  }

  // ------------------------------------------------------------------ frames

  applyFrame(frame) {
    switch (frame.type) {
      case "system":
        if (frame.run) this.updateRun(frame.run);
        break;
      case "message":
        this.addMessage(frame.seq, frame.data);
        break;
      case "message_chunk":
        this.addChunk(frame.seq, frame.data, frame.offset, frame.attempt || 0);
        break;
      case "input_request":
        this.setStatus("awaiting_input");
        this.showInput({
          id: frame.request_id,
          prompt: frame.prompt,
          source: frame.source || (frame.data && frame.data.agent),
          deadline: frame.deadline,
        });
        break;
      case "tool_approval_request":
        this.setStatus("awaiting_input");
        this.showInput({
          id: frame.request_id,
          prompt: frame.prompt,
          source: frame.source,
          deadline: frame.deadline,
          kind: "tool_approval",
          tool_call: { agent: frame.agent, call_id: frame.call_id, tool: frame.tool, server: frame.server, arguments: frame.arguments },
        });
        break;
      case "run_status":
        this.updateRun({ ...(frame.run || {}), status: frame.status });
        if (frame.reason) this.notice(frame.reason); // the server moved the run itself (a worker lost)
        break;
      case "result":
      case "completion":
        this.finish(frame);
        break;
      case "error":
        this.notice(frame.error || "error");
        break;
      default:
        break;
    }
  }

  /** A stored message (seq is its place in the run). Never rendered twice. */
  addMessage(seq, data) {
    if (this.final.has(seq)) return;
    this.final.add(seq);
    this.messageCount += 1;
    const stream = this.streams.get(seq);
    if (stream) {
      this.streams.delete(seq);
      cancelAnimationFrame(stream.raf);
    }
    if (seq === 1 && data.source === "user" && messageText(data) === this.run.task) {
      // The task is the card's title; its echo as message 1 is not shown again, only its files.
      if (data.attachments && data.attachments.length) this.head.append(attachmentsEl(data));
      this.place(seq, h("li", { class: "task-echo", hidden: true, "data-seq": seq }));
      if (this.onFork) messageActions(this, seq, messageText(data), this.head, this.head.querySelector(".run-task"), { rerun: "Re-run", edit: "Edit task" });
      this.onChange(this);
      return;
    }
    const el = this.renderMessage(seq, data);
    if (this.onFork && !el.hidden) this.addActions(el, seq, data);
    this.place(seq, el);
    if (!this.humans.has(data.source) && data.type !== "ToolCallExecutionEvent") this.lastAgent = data.source;
    this.onChange(this);
  }

  /** Streamed text; `offset` (where it starts in the message) makes a repeated piece harmless, and a
   * higher `attempt` (a resumed run streaming the message again from its start) replaces the text. */
  addChunk(seq, data, offset, attempt = 0) {
    if (this.final.has(seq)) return; // its message is already here
    let stream = this.streams.get(seq);
    if (!stream) {
      const el = this.bubble(seq, data.source, "");
      el.classList.add("streaming");
      stream = { el, text: "", source: data.source, raf: 0, attempt };
      this.streams.set(seq, stream);
      this.place(seq, el);
      this.announce(`${data.source} is writing`);
    }
    if (attempt < stream.attempt) return; // an earlier execution's text, overtaken
    if (attempt > stream.attempt) {
      stream.attempt = attempt;
      stream.text = "";
    }
    const content = data.content || "";
    if (typeof offset === "number" && offset <= stream.text.length) {
      if (offset + content.length <= stream.text.length) return; // already shown
      stream.text = stream.text.slice(0, offset) + content;
    } else {
      stream.text += content;
    }
    if (!stream.raf) {
      stream.raf = requestAnimationFrame(() => {
        stream.raf = 0;
        setMarkdown(stream.el.querySelector(".md"), stream.text);
        this.onChange(this);
      });
    }
  }

  /** Before a reconnect's replay: drop half-streamed bubbles; the server sends the text streamed so far again. */
  resetStreams() {
    for (const [seq, stream] of this.streams) {
      cancelAnimationFrame(stream.raf);
      stream.el.remove();
      this.items.delete(seq);
    }
    this.streams.clear();
  }

  place(seq, el) {
    const old = this.items.get(seq);
    if (old) {
      old.replaceWith(el);
    } else {
      let before = null;
      for (const child of this.msgs.children) {
        if (Number(child.dataset.seq) > seq) {
          before = child;
          break;
        }
      }
      this.msgs.insertBefore(el, before);
    }
    this.items.set(seq, el);
  }

  // ------------------------------------------------------------------ rendering

  bubble(seq, source, text, { kind = "" } = {}) {
    const mine = this.humans.has(source);
    const md = h("div", { class: "md" });
    if (text) setMarkdown(md, text);
    const el = h(
      "li",
      {
        class: `msg${mine ? " mine" : ""}${kind ? ` ${kind}` : ""}`,
        "data-seq": seq,
        "data-source": source,
        style: `--hue: ${agentHue(source)}`,
      },
      h("span", { class: "avatar", "aria-hidden": "true" }, (source || "?").slice(0, 1).toUpperCase()),
      h("div", { class: "bubble" }, h("div", { class: "msg-meta" }, h("span", { class: "author" }, mine && source.toLowerCase() !== "you" ? `${source} (you)` : source)), md),
    );
    return el;
  }

  renderMessage(seq, data) {
    const type = data.type || "TextMessage";
    if (type === "ToolCallRequestEvent" && Array.isArray(data.content)) return this.renderToolCalls(seq, data);
    if (type === "ToolCallExecutionEvent" && Array.isArray(data.content)) return this.renderToolResults(seq, data);
    if (type === "ToolApprovalEvent" && data.content && typeof data.content === "object") return this.renderDecision(seq, data);
    if (type === "HandoffMessage") {
      const target = data.target || "?";
      return h(
        "li",
        { class: "handoff", "data-seq": seq, style: `--hue: ${agentHue(data.source)}` },
        h("span", { class: "handoff-arrow" }, h("strong", {}, data.source), " handed off to ", h("strong", {}, target)),
        data.content ? h("span", { class: "muted small handoff-text" }, ` — ${data.content}`) : null,
      );
    }
    if (type === "SelectSpeakerEvent") {
      return h("li", { class: "event muted small", "data-seq": seq }, `Next speaker: ${contentText(data.content)}`);
    }
    const kind = type === "ToolCallSummaryMessage" ? "tool-summary" : type === "StopMessage" ? "stop-msg" : "";
    const files = data.attachments && data.attachments.length;
    const el = this.bubble(seq, data.source, files ? messageText(data) : contentText(data.content), { kind });
    if (files) el.querySelector(".bubble").append(attachmentsEl(data));
    const meta = el.querySelector(".msg-meta");
    if (type === "ToolCallSummaryMessage") meta.append(h("span", { class: "tag" }, "tool result"));
    if (type === "StopMessage") meta.append(h("span", { class: "tag" }, "stop"));
    if (!TEXT_TYPES.has(type) && !files) meta.append(h("span", { class: "tag" }, type));
    if (data.partial) {
      el.classList.add("partial");
      meta.append(h("span", { class: "tag tag-stopped", "data-testid": "partial-tag" }, "stopped"));
    }
    if (data.models_usage) meta.append(usageTag(data.models_usage));
    return el;
  }

  addActions(el, seq, data) {
    const text = TEXT_TYPES.has(data.type || "TextMessage") && typeof data.content === "string" ? data.content : null;
    const bubble = el.querySelector(".bubble");
    messageActions(this, seq, text, bubble || el, bubble ? bubble.querySelector(".md") : null);
  }

  renderToolCalls(seq, data) {
    const wrap = h("li", { class: "tools", "data-seq": seq, "data-source": data.source, style: `--hue: ${agentHue(data.source)}` });
    wrap.append(h("div", { class: "msg-meta" }, h("span", { class: "author" }, data.source), h("span", { class: "muted small" }, " called"), data.models_usage ? usageTag(data.models_usage) : null));
    const running = !isTerminal(this.run.status);
    for (const call of data.content) {
      const result = h("div", { class: "tool-result muted" }, running ? "running…" : "no result");
      const state = h("span", { class: "tool-state" }, running ? "running" : "");
      const row = h(
        "details",
        { class: "tool-row", "data-call-id": call.id || "", "data-started": data.created_at || "", open: running },
        h("summary", {}, h("span", { class: "tool-icon", "aria-hidden": "true" }, "⚙"), h("code", { class: "tool-name" }, call.name || "tool"), " ", state),
        h("div", { class: "tool-body" }, h("div", { class: "small muted" }, "Arguments"), h("pre", { class: "tool-args" }, prettyJson(call.arguments ?? {})), h("div", { class: "small muted" }, "Result"), result),
      );
      this.toolRows.set(call.id, row);
      wrap.append(row);
    }
    return wrap;
  }

  renderToolResults(seq, data) {
    const orphans = [];
    // Images a tool returned are the message's attachments, each naming its result's call; older
    // messages carry them inline as `parts`.
    const imagesOf = (res) => {
      const files = (data.attachments || []).filter((file) => file.call_id === res.call_id);
      return [...resultImages(res), ...(files.length ? [attachmentsEl({ attachments: files })] : [])];
    };
    for (const res of data.content) {
      const row = this.toolRows.get(res.call_id);
      if (!row) {
        orphans.push(res);
        continue;
      }
      const resultEl = row.querySelector(".tool-result");
      resultEl.className = `tool-result${res.is_error ? " tool-error" : ""}`;
      const images = imagesOf(res);
      resultEl.replaceChildren(h("pre", {}, contentText(res.content)), ...images);
      const state = row.querySelector(".tool-state");
      const started = row.dataset.started ? Date.parse(row.dataset.started) : NaN;
      const ended = data.created_at ? Date.parse(data.created_at) : NaN;
      const took = Number.isFinite(started) && Number.isFinite(ended) ? ` · ${formatDuration(Math.max(0, ended - started) / 1000)}` : "";
      state.textContent = `${res.is_error ? "failed" : "done"}${took}`;
      state.className = `tool-state ${res.is_error ? "failed" : "done"}`;
      row.open = Boolean(res.is_error || images.length); // collapsed once done; an error or an image stays visible
      if (res.is_error) row.classList.add("tool-failed");
    }
    // The execution event has no bubble of its own: it fills the rows of its request.
    const el = h("li", { class: "tool-results", "data-seq": seq, hidden: orphans.length === 0 });
    for (const res of orphans) {
      el.append(h("details", { class: "tool-row" }, h("summary", {}, h("code", {}, res.name || "tool"), " result"), h("pre", {}, contentText(res.content)), ...imagesOf(res)));
    }
    return el;
  }

  /** A person's decision on a tool call: a line under the call, and its row marked. */
  renderDecision(seq, data) {
    const c = data.content;
    const approved = c.decision === "approve";
    const row = this.toolRows.get(c.call_id);
    if (row) {
      row.classList.add(approved ? "tool-approved" : "tool-rejected");
      if (approved && c.edited) row.querySelector(".tool-args").textContent = prettyJson(c.arguments ?? {});
    }
    const what = `${c.by || "someone"} ${approved ? "approved" : "rejected"} ${c.tool || "the call"}${c.edited ? " with edited arguments" : ""}`;
    return h(
      "li",
      { class: `tool-decision ${approved ? "approved" : "rejected"} small`, "data-seq": seq, "data-testid": "tool-decision" },
      h("span", { "aria-hidden": "true" }, approved ? "✔ " : "✖ "),
      what,
      c.reason ? h("span", { class: "muted" }, `: ${c.reason}`) : "",
    );
  }

  // ------------------------------------------------------------------ human input

  showInput(request) {
    if (!request || !request.id) return;
    if (this.inputRequest && this.inputRequest.id === request.id) return;
    this.hideInput();
    if (request.kind === "tool_approval") {
      this.showApproval(request);
      return;
    }
    if (request.source) this.humans.add(request.source);
    this.inputRequest = request;
    const asker = this.lastAgent || request.source || "The team";
    const fieldId = `answer-${this.run.id}`;
    const field = h("input", { type: "text", id: fieldId, class: "answer", autocomplete: "off", required: true, maxlength: TASK_MAX_CHARS });
    const countdown = h("p", { class: "countdown small", "aria-live": "off" });
    const error = h("p", { class: "field-error small", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary" }, "Submit");
    const form = h(
      "form",
      { class: "answer-form" },
      h("label", { for: fieldId }, "Your answer"),
      h("div", { class: "answer-row" }, field, submit),
      error,
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = "";
      try {
        await api("POST", `/runs/${this.run.id}/input`, { response: field.value, request_id: request.id });
        this.hideInput();
      } catch (err) {
        if (err.status === 409) {
          this.hideInput(); // answered elsewhere (another tab) or the run moved on
        } else {
          error.textContent = err.message;
          submit.disabled = false;
        }
      }
    });
    this.inputEl = h(
      "section",
      { class: "input-card", "aria-label": `${asker} asks you`, style: `--hue: ${agentHue(asker)}`, "data-testid": "input-card" },
      h("div", { class: "msg-meta" }, h("span", { class: "author" }, asker), h("span", { class: "muted" }, " asks you")),
      h("p", { class: "prompt" }, request.prompt || "Your input is needed."),
      form,
      countdown,
    );
    this.inputSlot.replaceChildren(this.inputEl);
    if (request.deadline) {
      const deadline = Date.parse(request.deadline);
      const tick = () => {
        const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
        countdown.textContent = left > 0 ? `Time left to answer: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : "Time is up.";
      };
      tick();
      this.countdownTimer = setInterval(tick, 1000);
    }
    this.announce(`${asker} asks you: ${request.prompt || ""}`);
    this.onChange(this);
    requestAnimationFrame(() => field.focus());
  }

  /** An agent wants to call a tool: its arguments, editable as JSON, and approve or reject with a reason. */
  showApproval(request) {
    this.inputRequest = request;
    const call = request.tool_call || {};
    const agent = call.agent || request.source || "An agent";
    const original = call.arguments ?? {};
    const argsId = `approval-args-${this.run.id}`;
    const reasonId = `approval-reason-${this.run.id}`;
    const args = h("textarea", { id: argsId, class: "approval-args", rows: 6, spellcheck: "false" });
    args.value = prettyJson(original);
    const reason = h("input", { type: "text", id: reasonId, class: "approval-reason", maxlength: REASON_MAX_CHARS, autocomplete: "off", placeholder: "optional; the model reads it when you reject" });
    const error = h("p", { class: "field-error small", role: "alert" });
    const approve = h("button", { type: "button", class: "primary", "data-testid": "approve" }, "Approve");
    const reject = h("button", { type: "button", class: "danger", "data-testid": "reject" }, "Reject");
    const countdown = h("p", { class: "countdown small", "aria-live": "off" });
    const decide = async (decision) => {
      error.textContent = "";
      const body = { request_id: request.id, decision };
      if (decision === "approve") {
        let edited;
        try {
          edited = JSON.parse(args.value);
        } catch (err) {
          error.textContent = `The arguments are not valid JSON: ${err.message}`;
          return;
        }
        if (JSON.stringify(edited) !== JSON.stringify(original)) body.arguments = edited;
      }
      if (reason.value.trim()) body.reason = reason.value.trim();
      approve.disabled = reject.disabled = true;
      try {
        await api("POST", `/runs/${this.run.id}/approval`, body);
        this.hideInput();
      } catch (err) {
        if (err.status === 409) {
          this.hideInput(); // decided elsewhere (another tab) or the run moved on
          return;
        }
        error.textContent = err.errors && err.errors.length ? err.errors.map((e) => `${e.path}: ${e.message}`).join("; ") : err.message;
        approve.disabled = reject.disabled = false;
      }
    };
    approve.addEventListener("click", () => decide("approve"));
    reject.addEventListener("click", () => decide("reject"));
    const where = call.server ? ` on ${call.server}` : "";
    this.inputEl = h(
      "section",
      { class: "input-card approval-card", "aria-label": `${agent} asks to call ${call.tool}`, style: `--hue: ${agentHue(agent)}`, "data-testid": "approval-card" },
      h("div", { class: "msg-meta" }, h("span", { class: "author" }, agent), h("span", { class: "muted" }, " wants to call a tool")),
      h("p", { class: "prompt" }, h("code", { class: "tool-name" }, call.tool || "tool"), h("span", { class: "muted" }, where)),
      h("label", { for: argsId }, "Arguments (JSON; edit them to change the call)"),
      args,
      h("label", { for: reasonId }, "Reason"),
      reason,
      error,
      h("div", { class: "answer-row" }, approve, reject),
      h("p", { class: "small muted" }, "Ctrl+Enter approves, Ctrl+Shift+Enter rejects."),
      countdown,
    );
    this.inputEl.addEventListener("keydown", (event) => {
      if (!(event.ctrlKey || event.metaKey) || event.key !== "Enter") return;
      event.preventDefault();
      decide(event.shiftKey ? "reject" : "approve");
    });
    this.inputSlot.replaceChildren(this.inputEl);
    this.startCountdown(request.deadline, countdown, "decide");
    this.announce(`${agent} asks to call ${call.tool}${where}`);
    this.onChange(this);
    requestAnimationFrame(() => approve.focus());
  }

  startCountdown(deadlineText, countdown, verb) {
    if (!deadlineText) return;
    const deadline = Date.parse(deadlineText);
    const tick = () => {
      const left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
      countdown.textContent = left > 0 ? `Time left to ${verb}: ${Math.floor(left / 60)}:${String(left % 60).padStart(2, "0")}` : "Time is up.";
    };
    tick();
    this.countdownTimer = setInterval(tick, 1000);
  }

  hideInput() {
    clearInterval(this.countdownTimer);
    this.countdownTimer = null;
    this.inputRequest = null;
    if (this.inputEl) {
      this.inputEl.remove();
      this.inputEl = null;
    }
  }

  // ------------------------------------------------------------------ the end

  finish(frame) {
    const status = frame.type === "result" ? "complete" : frame.status === "error" ? "error" : "stopped";
    const data = frame.data || {};
    const taskResult = data.task_result || {};
    if (frame.error) this.run.error = frame.error;
    if (status !== "error" && taskResult.stop_reason) this.run.stop_reason = taskResult.stop_reason;
    if (data.usage && typeof data.usage === "object") this.run.usage = data.usage;
    if (typeof data.duration === "number") this.run.duration = data.duration;
    this.setStatus(status);
    this.renderFinished();
  }

  renderFinished() {
    for (const [seq, stream] of this.streams) {
      // A stream cut off with no stored message: keep the text, mark it stopped, no caret.
      cancelAnimationFrame(stream.raf);
      setMarkdown(stream.el.querySelector(".md"), stream.text);
      stream.el.classList.remove("streaming");
      stream.el.classList.add("partial");
      this.streams.delete(seq);
    }
    for (const row of this.msgs.querySelectorAll(".tool-state")) {
      if (row.textContent === "running") row.textContent = "no result";
    }
    this.hideInput();
    this.renderError();
    this.renderStats();
    this.onChange(this);
  }

  renderError() {
    const existing = this.el.querySelector(".error-card");
    if (existing) existing.remove();
    if (this.run.status !== "error") return;
    const text = this.run.error || "The run failed.";
    const firstLine = text.split("\n")[0];
    const card = h(
      "div",
      { class: "error-card", role: "alert", "data-testid": "run-error" },
      h("strong", {}, "Run failed: "),
      h("span", {}, firstLine.length > 300 ? `${firstLine.slice(0, 300)}…` : firstLine),
      h("details", {}, h("summary", {}, "Details"), h("pre", {}, text)),
    );
    this.notices.before(card);
  }

  renderStats() {
    const run = this.run;
    const parts = [];
    parts.push(`${this.messageCount} message${this.messageCount === 1 ? "" : "s"}`);
    const usage = run.usage || {};
    if (usage && (usage.total !== undefined || usage.prompt_tokens !== undefined)) {
      const total = usage.total ?? (usage.prompt_tokens || 0) + (usage.completion_tokens || 0);
      parts.push(`${total} tokens (${usage.prompt_tokens || 0} prompt + ${usage.completion_tokens || 0} completion)`);
    }
    if (typeof usage.cost === "number") parts.push(formatCost(usage.cost));
    let duration = run.duration;
    if (duration === undefined && run.started_at && run.finished_at) {
      duration = (Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000;
    }
    if (typeof duration === "number") parts.push(formatDuration(duration));
    const reason = run.status === "error" ? "" : run.stop_reason;
    const line = h("span", { "data-testid": "run-stats" }, parts.join(" · "));
    const children = [line];
    if (reason) children.push(h("span", { class: "stop-reason" }, ` · ${reason}`));
    const perAgent = usage.per_agent && Object.keys(usage.per_agent).length ? usage.per_agent : null;
    if (perAgent) {
      const list = h("ul", { class: "per-agent" });
      for (const [name, u] of Object.entries(perAgent)) {
        const cost = typeof u.cost === "number" ? ` · ${formatCost(u.cost)}` : "";
        list.append(h("li", { style: `--hue: ${agentHue(name)}`, "data-agent": name }, h("span", { class: "dot-agent" }), `${name}: ${u.total ?? (u.prompt_tokens || 0) + (u.completion_tokens || 0)} tokens${cost}`));
      }
      children.push(h("details", { class: "usage-details", "data-testid": "per-agent" }, h("summary", {}, typeof usage.cost === "number" ? "Tokens and cost per agent" : "Tokens per agent"), list));
    }
    this.foot.replaceChildren(...children);
  }

  notice(text) {
    const el = h("div", { class: "notice small", role: "status" }, text, " ", h("button", { type: "button", class: "link", onclick: () => el.remove() }, "dismiss"));
    this.notices.append(el);
    this.onChange(this);
  }

  destroy() {
    this.hideInput();
    for (const stream of this.streams.values()) cancelAnimationFrame(stream.raf);
  }
}

/** Render a stored run (REST RunWithMessagesOut) into a view. */
export function loadStored(view, run) {
  for (const m of run.messages || []) view.addMessage(m.seq, m);
  // After the messages, so the card names the agent that asked.
  if (run.status === "awaiting_input" && run.input_request) view.showInput(run.input_request);
  if (isTerminal(run.status)) view.renderFinished();
}
