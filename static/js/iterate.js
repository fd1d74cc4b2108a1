// Iterating on a run in the browser: "re-run from here" and "edit and re-run" on its messages
// (POST /api/runs/{id}/fork), what it ran on (team version, model override, fork point), its export
// links, and the small tree of a run's parent and forks within a session.
import { api } from "./api.js";
import { h } from "./dom.js";
import { TASK_MAX_CHARS } from "./protocol.js";

/** Fork `view`'s run after message `seq`, optionally replacing message `edit.seq` with `edit.content`. */
async function fork(view, seq, edit = null) {
  const body = { after_seq: seq };
  if (edit) body.edit = edit;
  try {
    const run = await api("POST", `/runs/${view.run.id}/fork`, body);
    view.announce(`Re-running from message ${seq} as run ${run.id}`);
    view.onFork(run);
    return true;
  } catch (err) {
    view.notice(`Could not re-run from message ${seq}: ${err.message}`);
    return false;
  }
}

/**
 * The two buttons of one stored message. `into` is where they go; `display` is the element an edit
 * hides while its form is open (its text); `text` is the message's text, null when it is not text.
 */
export function messageActions(view, seq, text, into, display, { rerun = "Re-run from here", edit = "Edit and re-run" } = {}) {
  const bar = h("div", { class: "msg-actions" });
  const rerunButton = h(
    "button",
    { type: "button", class: "link", "aria-label": `Re-run from message ${seq}`, onclick: () => fork(view, seq) },
    rerun,
  );
  bar.append(rerunButton);
  if (typeof text === "string") {
    const editButton = h("button", { type: "button", class: "link", "aria-label": `Edit message ${seq} and re-run` }, edit);
    editButton.addEventListener("click", () => openEdit(view, seq, text, bar, display));
    bar.append(editButton);
  }
  into.append(bar);
  return bar;
}

function openEdit(view, seq, text, bar, display) {
  if (bar.nextElementSibling && bar.nextElementSibling.classList.contains("edit-form")) return;
  const field = h("textarea", { class: "edit-text", rows: Math.min(8, Math.max(2, text.split("\n").length)), maxlength: TASK_MAX_CHARS, "aria-label": `New text for message ${seq}` });
  field.value = text;
  const submit = h("button", { type: "submit", class: "primary" }, "Re-run with this");
  const cancel = h("button", { type: "button" }, "Cancel");
  const form = h("form", { class: "edit-form" }, field, h("div", { class: "edit-row" }, submit, cancel));
  const close = () => {
    form.remove();
    if (display) display.hidden = false;
    bar.hidden = false;
  };
  cancel.addEventListener("click", close);
  field.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault(); // Escape here cancels the edit, not the run
      close();
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    submit.disabled = true;
    if (await fork(view, seq, { seq, content: field.value })) close();
    else submit.disabled = false;
  });
  if (display) display.hidden = true;
  bar.hidden = true;
  bar.after(form);
  field.focus();
}

/** What a run ran on, for its header: team version, model override, the run it was forked from. */
export function runFacts(run, { linkRun = (id) => `/runs/${id}/` } = {}) {
  const parts = [];
  if (run.team_version) parts.push(h("span", { class: "tag", title: "team version", "data-testid": "run-version" }, `v${run.team_version}`));
  const override = overrideText(run.model_override);
  if (override) parts.push(h("span", { class: "tag tag-override", title: "model override for this run", "data-testid": "run-override" }, override));
  if (run.parent_id) {
    const edited = run.fork_edited_seq ? `, message ${run.fork_edited_seq} edited` : "";
    parts.push(
      h(
        "span",
        { class: "fork-of", "data-testid": "fork-of" },
        "fork of ",
        h("a", { href: linkRun(run.parent_id), "aria-label": `parent run ${run.parent_id}` }, `#${run.parent_id}`),
        ` after message ${run.fork_after_seq}${edited}`,
      ),
      h("a", { href: `/compare/?runs=${run.parent_id},${run.id}`, "aria-label": `Compare it with run ${run.parent_id}` }, "compare"),
    );
  }
  return parts;
}

export function overrideText(override) {
  if (!override || typeof override !== "object") return "";
  if (typeof override.model === "string") return `model ${override.model}${override.provider_ref ? ` on ${override.provider_ref}` : ""}`;
  return Object.entries(override)
    .map(([agent, o]) => `${agent}: ${o && o.model}`)
    .join(", ");
}

export function exportLinks(runId) {
  return h(
    "span",
    { class: "run-exports small" },
    h("a", { href: `/api/runs/${runId}/export?format=json`, download: `run-${runId}.json`, "aria-label": `Export run ${runId} as JSON` }, "Export JSON"),
    h("a", { href: `/api/runs/${runId}/export?format=markdown`, download: `run-${runId}.md`, "aria-label": `Export run ${runId} as Markdown` }, "Markdown"),
  );
}

/**
 * The family of `currentId` among `runs` (its oldest ancestor there and every descendant) as a
 * nested list, or null when the run has neither parent nor forks among them.
 */
export function forkTree(runs, currentId, { linkRun = (id) => `/runs/${id}/` } = {}) {
  const byId = new Map(runs.map((r) => [r.id, r]));
  const children = new Map();
  for (const run of runs) {
    if (run.parent_id && byId.has(run.parent_id)) {
      if (!children.has(run.parent_id)) children.set(run.parent_id, []);
      children.get(run.parent_id).push(run);
    }
  }
  let root = byId.get(currentId);
  if (!root) return null;
  while (root.parent_id && byId.has(root.parent_id)) root = byId.get(root.parent_id);
  if (!children.has(root.id)) return null;
  const item = (run) => {
    const current = run.id === currentId;
    // "#7", not "run #7": a card's own link is the one named "run #…".
    const label = run.parent_id ? `#${run.id} · from message ${run.fork_after_seq}${run.fork_edited_seq ? " (edited)" : ""}` : `#${run.id} · original`;
    const li = h(
      "li",
      { "data-run-id": run.id },
      current ? h("strong", { "aria-current": "true" }, label) : h("a", { href: linkRun(run.id) }, label),
    );
    const kids = children.get(run.id);
    if (kids) li.append(h("ul", {}, kids.map(item)));
    return li;
  };
  const list = h("ul", {}, item(root));
  const ids = [...list.querySelectorAll("li")].map((li) => li.dataset.runId);
  // The compare page takes up to four runs: a bigger family is compared pick by pick there.
  const compare = ids.length <= 4 ? h("a", { href: `/compare/?runs=${ids.join(",")}`, class: "compare-family" }, "Compare these runs") : null;
  return h("nav", { class: "fork-tree small", "aria-label": `Forks of run ${root.id}`, "data-testid": "fork-tree" }, list, compare);
}
