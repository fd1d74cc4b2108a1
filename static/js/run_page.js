// /runs/<id>/: one run alone. A finished run replays its stored transcript through the same
// components as a live one; an active run then keeps streaming.
import { api, apiAll } from "./api.js";
import { h } from "./dom.js";
import { attachLive } from "./live.js";
import { forkTree } from "./iterate.js";
import { DEFAULT_STOP_REASON } from "./protocol.js";
import { isTerminal, loadStored, RunView } from "./runview.js";
import { ConnectionIndicator } from "./socket.js";
import { showMessage, TraceView } from "./traceview.js";

const runId = JSON.parse(document.getElementById("run-id").textContent);
const inner = document.getElementById("thread-inner");
const loading = document.getElementById("run-loading");
const live = document.getElementById("live-status");
const indicator = new ConnectionIndicator(document.getElementById("conn"));

async function init() {
  let run;
  try {
    run = await api("GET", `/runs/${runId}`);
    run.messages = await apiAll(`/runs/${runId}/messages`);
  } catch (err) {
    loading.replaceWith(h("p", { class: "banner error", role: "alert" }, `Could not load the run: ${err.message}`));
    return;
  }
  const view = new RunView(run, {
    announce: (text) => (live.textContent = text),
    link: false,
    onFork: (forked) => window.location.assign(`/runs/${forked.id}/`),
  });
  loading.remove();
  inner.append(view.el);
  loadStored(view, run);
  view.el.querySelector(".run-head").append(
    h(
      "span",
      { class: "run-exports small" },
      h("a", { href: `/api/runs/${runId}/export?format=json`, download: `run-${runId}.json`, "aria-label": "Export this run as JSON" }, "Export JSON"),
      h("a", { href: `/api/runs/${runId}/export?format=markdown`, download: `run-${runId}.md`, "aria-label": "Export this run as Markdown" }, "Markdown"),
      h("a", { href: `/compare/?runs=${runId}`, "aria-label": "Compare this run with others" }, "Compare…"),
    ),
  );
  showForkTree(view, run);
  const trace = new TraceView(runId, { onMessage: (seq) => showMessage(view.el, seq) });
  inner.append(trace.el);
  trace.load();
  if (!isTerminal(run.status)) {
    attachLive(view, indicator);
    const stop = h("button", { type: "button", class: "danger", onclick: () => api("POST", `/runs/${runId}/stop`, { reason: DEFAULT_STOP_REASON }).catch((e) => view.notice(e.message)) }, "Stop");
    view.el.querySelector(".run-head").append(stop);
    view.onStatus = (v) => {
      stop.hidden = isTerminal(v.run.status);
      trace.load(); // each status change (a wait, a resume, the end) adds spans
    };
    document.addEventListener("keydown", (event) => {
      const inAnswer = document.activeElement && document.activeElement.classList.contains("answer");
      if (event.key === "Escape" && !event.defaultPrevented && !inAnswer && !isTerminal(view.run.status)) stop.click();
    });
  }
  document.title = `${run.task || `Run #${run.id}`} · Agent Playground`;
}

// The run's parent and forks among its session's runs.
async function showForkTree(view, run) {
  if (!run.session_id) return;
  try {
    view.setTree(forkTree(await apiAll(`/runs?session_id=${run.session_id}`), run.id));
  } catch (err) {
    /* the tree is a convenience; the run itself is on the page */
  }
}

init();
