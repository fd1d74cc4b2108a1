// A run's trace as a waterfall: one row per span, indented under its parent, its bar placed on the
// run's timeline, with its duration and tokens. Selecting a row shows its attributes and links to the
// message it produced. Data: GET /api/runs/{id}/trace.
import { api } from "./api.js";
import { clear, formatCost, h } from "./dom.js";

const KIND_LABELS = {
  run: "run",
  enqueue: "start",
  queue: "queue",
  execution: "execution",
  turn: "agent turn",
  model: "model call",
  tool: "tool call",
  handoff: "hand-off",
  selector: "speaker selection",
  input: "human input",
  approval: "approval",
};

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "open";
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`;
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 2 : 1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

function tokensOf(span) {
  const a = span.attributes || {};
  const input = a["gen_ai.usage.input_tokens"];
  const output = a["gen_ai.usage.output_tokens"];
  if (input === undefined && output === undefined) return "";
  return `${input || 0} → ${output || 0} tok`;
}

/** Spans in tree order (each parent before its children, siblings by start), with their depth. */
export function treeOrder(spans) {
  const ids = new Set(spans.map((s) => s.span_id));
  const children = new Map();
  const roots = [];
  for (const span of spans) {
    if (span.parent_id && ids.has(span.parent_id)) {
      if (!children.has(span.parent_id)) children.set(span.parent_id, []);
      children.get(span.parent_id).push(span);
    } else {
      roots.push(span);
    }
  }
  const out = [];
  const visit = (span, depth) => {
    out.push({ span, depth });
    for (const child of children.get(span.span_id) || []) visit(child, depth + 1);
  };
  for (const root of roots) visit(root, 0);
  return out;
}

export class TraceView {
  /** onMessage(seq): show the message the selected span produced. */
  constructor(runId, { onMessage = () => {} } = {}) {
    this.runId = runId;
    this.onMessage = onMessage;
    this.selected = null;
    this.summaryEl = h("p", { class: "trace-summary small", "data-testid": "trace-summary" });
    this.rows = h("ol", { class: "waterfall", "aria-label": "Spans" });
    this.detail = h("div", { class: "span-detail", "data-testid": "span-detail", hidden: true });
    this.refreshButton = h("button", { type: "button", class: "link", onclick: () => this.load() }, "Refresh");
    this.el = h(
      "section",
      { class: "trace panel", "aria-labelledby": "trace-title", "data-testid": "trace" },
      h("div", { class: "trace-head" }, h("h2", { id: "trace-title" }, "Trace"), this.refreshButton),
      this.summaryEl,
      this.rows,
      this.detail,
    );
  }

  async load() {
    try {
      this.render(await api("GET", `/runs/${this.runId}/trace`));
    } catch (err) {
      this.summaryEl.textContent = `Could not load the trace: ${err.message}`;
    }
  }

  render(trace) {
    this.trace = trace;
    const s = trace.summary;
    const parts = [
      `${s.spans} spans`,
      `${s.model_calls} model call${s.model_calls === 1 ? "" : "s"}`,
      `${s.tool_calls} tool call${s.tool_calls === 1 ? "" : "s"}${s.tool_errors ? ` (${s.tool_errors} failed)` : ""}`,
      `${s.input_tokens + s.output_tokens} tokens`,
      `queue ${formatSeconds(s.queue_wait)}`,
    ];
    if (s.human_wait) parts.push(`waiting for you ${formatSeconds(s.human_wait)}`);
    if (s.executions > 1) parts.push(`${s.executions} executions`);
    if (s.cost !== null) parts.push(`cost ${formatCost(s.cost)}`);
    this.summaryEl.textContent = trace.spans.length ? parts.join(" · ") : "No spans recorded for this run.";
    clear(this.rows);
    if (!trace.spans.length) return;
    const now = Date.now();
    const starts = trace.spans.map((sp) => Date.parse(sp.start));
    const ends = trace.spans.map((sp) => (sp.end ? Date.parse(sp.end) : now));
    const t0 = Math.min(...starts);
    const total = Math.max(1, Math.max(...ends) - t0);
    for (const { span, depth } of treeOrder(trace.spans)) {
      const start = Date.parse(span.start) - t0;
      const end = (span.end ? Date.parse(span.end) : now) - t0;
      const bar = h("span", {
        class: `bar bar-${span.kind} bar-${span.status}`,
        style: `left: ${(100 * start) / total}%; width: ${Math.max(0.3, (100 * (end - start)) / total)}%`,
      });
      const row = h(
        "li",
        { class: `span-row status-${span.status}`, "data-span-id": span.span_id, "data-kind": span.kind },
        h(
          "button",
          { type: "button", class: "span-button", "aria-expanded": "false", onclick: () => this.select(span, row) },
          h(
            "span",
            { class: "span-name", style: `padding-left: ${depth * 1.1}em` },
            h("span", { class: `kind kind-${span.kind}` }, KIND_LABELS[span.kind] || span.kind),
            " ",
            span.name,
            span.status === "error" ? h("span", { class: "span-error-mark", title: span.error }, " ⚠") : null,
          ),
          h("span", { class: "track" }, bar),
          h("span", { class: "span-duration small" }, formatSeconds(span.duration)),
          h("span", { class: "span-tokens small muted" }, tokensOf(span)),
        ),
      );
      this.rows.append(row);
    }
    if (this.selected) {
      const again = trace.spans.find((sp) => sp.span_id === this.selected);
      const row = this.rows.querySelector(`[data-span-id="${this.selected}"]`);
      if (again && row) this.select(again, row);
    }
  }

  select(span, row) {
    for (const other of this.rows.querySelectorAll(".span-row.selected")) {
      other.classList.remove("selected");
      other.querySelector(".span-button").setAttribute("aria-expanded", "false");
    }
    row.classList.add("selected");
    row.querySelector(".span-button").setAttribute("aria-expanded", "true");
    this.selected = span.span_id;
    const rows = [
      ["kind", KIND_LABELS[span.kind] || span.kind],
      ["status", span.status],
      ["start", new Date(span.start).toLocaleTimeString([], { hour12: false }) + `.${span.start.slice(20, 23)}`],
      ["duration", formatSeconds(span.duration)],
      ["span id", span.span_id],
    ];
    if (span.error) rows.push(["error", span.error]);
    for (const [key, value] of Object.entries(span.attributes || {})) {
      rows.push([key, Array.isArray(value) ? value.join(", ") : String(value)]);
    }
    const table = h(
      "table",
      { class: "attributes" },
      h("tbody", {}, rows.map(([k, v]) => h("tr", {}, h("th", { scope: "row" }, k), h("td", {}, v)))),
    );
    const link =
      span.message_seq !== null && span.message_seq !== undefined
        ? h(
            "button",
            { type: "button", class: "link", "data-testid": "span-message", onclick: () => this.onMessage(span.message_seq) },
            `Show the message it produced (#${span.message_seq})`,
          )
        : null;
    this.detail.replaceChildren(h("h3", {}, span.name), table, link || "");
    this.detail.hidden = false;
  }
}

/** Scroll to the message stored under `seq` (or the closest one shown before it) and flash it. */
export function showMessage(container, seq) {
  let target = null;
  for (const el of container.querySelectorAll("[data-seq]")) {
    if (Number(el.dataset.seq) <= seq && !el.hidden) target = el;
  }
  if (!target) return;
  target.scrollIntoView({ block: "center" });
  target.classList.remove("flash");
  void target.offsetWidth;
  target.classList.add("flash");
}
