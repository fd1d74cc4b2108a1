// /compare/?runs=7,9: two to four runs side by side. Their transcripts line up by turn (a
// message's seq), with the outcome, duration, tokens, cost when known and what each run's team
// config changed from the first run's. The address is the shareable link (for the runs' owner).
import { api, apiAll } from "./api.js";
import { changeTable } from "./config_diff.js";
import { agentHue, clear, formatCost, formatDuration, formatTime, h } from "./dom.js";
import { setMarkdown } from "./markdown.js";

const MIN = 2;
const MAX = 4;
const $ = (id) => document.getElementById(id);
const els = { rows: $("picker-rows"), go: $("compare-go"), note: $("picker-note"), result: $("compare-result"), share: $("compare-share") };
const chosen = new Set(JSON.parse($("compare-ids").textContent));
let order = [...chosen];

async function loadPicker() {
  let runs;
  let teams;
  try {
    [runs, teams] = await Promise.all([api("GET", "/runs?limit=100"), apiAll("/teams")]);
  } catch (err) {
    clear(els.rows).append(h("tr", {}, h("td", { colspan: 6, class: "field-error" }, `Could not load your runs: ${err.message}`)));
    return;
  }
  const teamName = new Map(teams.map((t) => [t.id, t.name]));
  clear(els.rows);
  if (!runs.items.length) els.rows.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No runs yet: run a team in the playground first.")));
  for (const run of runs.items) els.rows.append(pickerRow(run, teamName.get(run.team_id)));
  updatePicker();
}

function pickerRow(run, teamName) {
  const box = h("input", { type: "checkbox", id: `pick-${run.id}`, value: run.id, "aria-label": `Compare run ${run.id}` });
  box.checked = chosen.has(run.id);
  box.addEventListener("change", () => {
    if (box.checked) {
      chosen.add(run.id);
      order.push(run.id);
    } else {
      chosen.delete(run.id);
      order = order.filter((id) => id !== run.id);
    }
    updatePicker();
  });
  return h(
    "tr",
    { "data-run-id": run.id },
    h("td", {}, box),
    h("td", {}, h("label", { for: `pick-${run.id}` }, `#${run.id}`)),
    h("td", {}, run.task ? (run.task.length > 90 ? `${run.task.slice(0, 90)}…` : run.task) : h("span", { class: "muted" }, "(not started)")),
    h("td", {}, teamName || h("span", { class: "muted" }, run.team_id ? `team ${run.team_id}` : "inline config")),
    h("td", {}, h("span", { class: `badge badge-${run.status}` }, run.status)),
    h("td", { title: run.created_at }, formatTime(run.created_at)),
  );
}

function updatePicker() {
  const n = chosen.size;
  els.go.disabled = n < MIN || n > MAX;
  els.note.textContent = n < MIN ? `Pick ${MIN - n} more.` : n > MAX ? `At most ${MAX}: untick ${n - MAX}.` : `${n} runs picked.`;
}

els.go.addEventListener("click", () => {
  const url = `/compare/?runs=${order.join(",")}`;
  window.history.replaceState(null, "", url);
  show(order);
});

async function show(ids) {
  clear(els.result).append(h("p", { class: "muted" }, "Loading the runs…"));
  let doc;
  try {
    doc = await api("GET", `/runs/compare?ids=${ids.join(",")}`);
  } catch (err) {
    clear(els.result).append(h("p", { class: "banner error", role: "alert" }, `Could not compare: ${err.message}`));
    return;
  }
  els.share.replaceChildren("Link to this comparison: ", h("a", { href: window.location.pathname + window.location.search }, window.location.href));
  const cols = doc.runs.length;
  clear(els.result).append(
    h("section", { class: "panel", "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, "Outcome"), h("div", { class: "compare-grid", style: `--cols: ${cols}` }, doc.runs.map(summaryCard))),
    teamDiffs(doc),
    h("section", { class: "panel", "aria-labelledby": "turns-title" }, h("h2", { id: "turns-title" }, "Transcripts, turn by turn"), turnsTable(doc)),
  );
}

function summaryCard(run) {
  const t = run.tokens;
  const team = run.team.name ? `${run.team.name}${run.team.version ? ` · v${run.team.version}` : ""}` : "inline config";
  const outcome = run.error || run.stop_reason;
  return h(
    "article",
    { class: "compare-card", "data-run-id": run.id },
    h("h3", {}, h("a", { href: `/runs/${run.id}/` }, `Run #${run.id}`), " ", h("span", { class: `badge badge-${run.status}` }, run.status)),
    h("p", { class: "small", style: "margin:0" }, run.task),
    h(
      "dl",
      {},
      h("dt", {}, "Team"), h("dd", {}, team),
      h("dt", {}, "Outcome"), h("dd", {}, outcome || "—"),
      h("dt", {}, "Duration"), h("dd", { "data-field": "duration" }, run.duration === null ? "—" : formatDuration(run.duration)),
      h("dt", {}, "Messages"), h("dd", {}, String(run.messages.length)),
      h("dt", {}, "Tokens"), h("dd", { "data-field": "tokens" }, `${t.total} (${t.prompt} prompt, ${t.completion} completion)`),
      h("dt", {}, "Cost"), h("dd", { "data-field": "cost" }, run.cost === null ? "unknown" : formatCost(run.cost)),
    ),
    h(
      "p",
      { class: "run-exports small" },
      h("a", { href: `/api/runs/${run.id}/export?format=json`, download: `run-${run.id}.json` }, "JSON"),
      h("a", { href: `/api/runs/${run.id}/export?format=markdown`, download: `run-${run.id}.md` }, "Markdown"),
    ),
  );
}

function teamDiffs(doc) {
  const section = h("section", { class: "panel", "aria-labelledby": "diff-title" }, h("h2", { id: "diff-title" }, "Team differences"));
  for (const diff of doc.team_diffs) {
    const n = diff.changes.length;
    section.append(
      h("h3", { class: "small" }, `Run #${diff.other} against run #${diff.base}: ${n ? `${n} change${n === 1 ? "" : "s"}` : "the same team config"}`),
      n ? changeTable(diff.changes, `#${diff.base}`, `#${diff.other}`) : null,
    );
  }
  return section;
}

function turnsTable(doc) {
  const bySeq = doc.runs.map((run) => new Map(run.messages.map((m) => [m.seq, m])));
  const rows = [];
  for (let seq = 1; seq <= doc.turns; seq += 1) {
    const base = bySeq[0].get(seq);
    rows.push(
      h(
        "tr",
        { "data-seq": seq },
        h("th", { scope: "row" }, String(seq)),
        bySeq.map((messages, i) => h("td", {}, turnCell(messages.get(seq), i === 0 ? null : base))),
      ),
    );
  }
  return h(
    "table",
    { class: "turns" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, h("span", { class: "sr-only" }, "Turn")), doc.runs.map((run) => h("th", { scope: "col" }, `Run #${run.id}`)))),
    h("tbody", {}, rows),
  );
}

function sameMessage(a, b) {
  return a && b && a.source === b.source && JSON.stringify(a.content) === JSON.stringify(b.content);
}

function turnCell(message, base) {
  if (!message) return h("div", { class: "turn-empty" }, "—");
  const state = base === null ? "" : sameMessage(message, base) ? " same" : " differs";
  const body = h("div", { class: "md" });
  if (typeof message.content === "string") setMarkdown(body, message.content);
  else body.append(h("pre", {}, JSON.stringify(message.content, null, 2)));
  return h(
    "div",
    { class: `turn-cell${state}`, style: `--hue: ${agentHue(message.source)}`, title: state === " same" ? "Same as the first run" : "" },
    h(
      "div",
      { class: "msg-meta" },
      h("span", { class: "author" }, message.source),
      message.type !== "TextMessage" ? h("span", { class: "tag" }, message.type) : null,
      message.partial ? h("span", { class: "tag tag-stopped" }, "stopped") : null,
      state === " same" ? h("span", { class: "tag" }, "same") : null,
    ),
    body,
  );
}

loadPicker();
if (order.length >= MIN) show(order);
