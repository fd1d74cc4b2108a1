// The versions panel of the teams page: a team's history, a side-by-side diff of two versions
// (field paths, not raw text), restore, export of any version and upload of a new one.
import { api, apiAll } from "./api.js";
import { clear, formatTime, h } from "./dom.js";
import { changeTable } from "./config_diff.js";

const ORIGIN = { create: "created", edit: "edited", upload: "uploaded", admin: "admin", restore: "restored" };

let panel = null;

function ensurePanel() {
  if (panel) return panel;
  const section = h("section", { class: "panel versions-panel", id: "versions", "aria-labelledby": "versions-title", hidden: true });
  const editor = document.getElementById("editor");
  editor.after(section);
  // `message` outlives a re-render: the result of a restore or upload stays on screen after it.
  panel = { section, team: null, onChange: null, versions: [], message: "" };
  return panel;
}

/** Show `team`'s versions; `onChange(team)` runs after a restore or an upload changed it. */
export async function openVersions(team, { onChange = null } = {}) {
  const p = ensurePanel();
  p.team = team;
  p.onChange = onChange;
  p.message = "";
  p.section.hidden = false;
  await render();
  p.section.scrollIntoView({ block: "start" });
}

export function closeVersions() {
  if (panel) panel.section.hidden = true;
}

/** Refresh the panel if it shows `team` (after the editor saved a new version of it). */
export function refreshVersions(team) {
  if (panel && !panel.section.hidden && panel.team && panel.team.id === team.id) {
    panel.team = team;
    render();
  }
}

async function render() {
  const { section, team } = panel;
  const title = h("h2", { id: "versions-title", class: "grow" }, `Versions of “${team.name}”`);
  const close = h("button", { type: "button", onclick: closeVersions }, "Close");
  clear(section).append(h("div", { class: "row" }, title, close));
  const status = h("p", { class: "small", role: "status", "aria-live": "polite" }, panel.message);
  try {
    panel.versions = await apiAll(`/teams/${team.id}/versions`);
  } catch (err) {
    section.append(h("p", { class: "field-error" }, `Could not load the versions: ${err.message}`));
    return;
  }
  if (team.editable) section.append(uploadRow(status));
  section.append(status);
  if (!panel.versions.length) {
    section.append(h("p", { class: "muted" }, "No versions recorded yet: the next saved change makes version 1 of what the team is now."));
    return;
  }
  const diffArea = h("div", { class: "version-diff", "aria-live": "polite" });
  section.append(versionTable(status, diffArea), diffPicker(diffArea), diffArea);
}

function versionTable(status, diffArea) {
  const rows = panel.versions.map((v) => versionRow(v, status, diffArea));
  return h(
    "table",
    { class: "list versions-table" },
    h("thead", {}, h("tr", {}, ["Version", "Saved", "By", "How", "Note", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows),
  );
}

function versionRow(v, status, diffArea) {
  const { team } = panel;
  const how = v.origin === "restore" && v.restored_from ? `restored v${v.restored_from}` : ORIGIN[v.origin] || v.origin;
  const actions = h("div", { class: "actions" });
  const current = panel.versions.find((x) => x.current);
  if (!v.current && current) {
    actions.append(h("button", { type: "button", onclick: () => showDiff(v.number, current.number, diffArea), "aria-label": `Diff version ${v.number} with the current version` }, "Diff with current"));
  }
  actions.append(h("a", { class: "button", href: `/?team=${team.id}&version=${v.number}`, "aria-label": `Run version ${v.number} in the playground` }, "Run"));
  actions.append(h("a", { class: "button", href: `/api/teams/${team.id}/export?format=native&version=${v.number}`, download: `team-${team.id}-v${v.number}.json`, "aria-label": `Export version ${v.number}` }, "Export"));
  if (team.editable && !v.current) actions.append(restoreButton(v, status));
  return h(
    "tr",
    { "data-version": v.number },
    h("td", {}, h("strong", {}, `v${v.number}`), v.current ? h("span", { class: "tag", style: "margin-left:6px" }, "current") : null),
    h("td", { title: v.created_at }, formatTime(v.created_at)),
    h("td", {}, v.author || "(deleted user)"),
    h("td", {}, how),
    h("td", { class: "small" }, v.note),
    h("td", {}, actions),
  );
}

function restoreButton(v, status) {
  const button = h("button", { type: "button", "aria-label": `Restore version ${v.number}` }, "Restore");
  button.addEventListener("click", async () => {
    if (!button.dataset.confirm) {
      button.dataset.confirm = "1";
      button.textContent = `Restore v${v.number}? Click again`;
      return;
    }
    button.disabled = true;
    try {
      const team = await api("POST", `/teams/${panel.team.id}/versions/${v.number}/restore`, {});
      await changed(team, `Restored version ${v.number} as version ${team.version}.`);
    } catch (err) {
      status.textContent = `Not restored: ${err.message}`;
      button.disabled = false;
    }
  });
  return button;
}

function uploadRow(status) {
  const input = h("input", { type: "file", accept: ".json,application/json", id: "version-upload" });
  const note = h("input", { type: "text", id: "version-upload-note", maxlength: 500, placeholder: "optional" });
  input.addEventListener("change", async () => {
    const file = input.files[0];
    if (!file) return;
    const body = new FormData();
    body.append("file", file);
    body.append("note", note.value);
    status.textContent = `Uploading ${file.name}…`;
    try {
      const before = panel.team.version;
      const team = await api("POST", `/teams/${panel.team.id}/upload`, body);
      await changed(team, team.version === before ? `${file.name} is the same as the current version: nothing changed.` : `${file.name} saved as version ${team.version}.`);
    } catch (err) {
      status.textContent = `${file.name} was not saved: ${err.message}${err.errors && err.errors.length ? ` (${err.errors.map((e) => `${e.path}: ${e.message}`).join("; ")})` : ""}`;
    }
    input.value = "";
  });
  return h(
    "div",
    { class: "row version-upload" },
    h("label", { for: "version-upload" }, "Upload a new version (.json)"),
    input,
    h("label", { for: "version-upload-note" }, "Note"),
    h("span", { class: "grow" }, note),
  );
}

async function changed(team, message) {
  panel.team = team;
  panel.message = message;
  if (panel.onChange) await panel.onChange(team);
  await render();
}

function diffPicker(diffArea) {
  const options = panel.versions.map((v) => h("option", { value: v.number }, `v${v.number}${v.current ? " (current)" : ""}`));
  const base = h("select", { id: "diff-base", "aria-label": "Compare from version" }, options.map((o) => o.cloneNode(true)));
  const other = h("select", { id: "diff-other", "aria-label": "Compare to version" }, options);
  const newest = panel.versions[0].number;
  base.value = String(panel.versions.length > 1 ? panel.versions[1].number : newest);
  other.value = String(newest);
  const show = h("button", { type: "button", id: "diff-show", onclick: () => showDiff(Number(base.value), Number(other.value), diffArea) }, "Show diff");
  return h("div", { class: "row diff-picker" }, h("span", {}, "Compare"), base, h("span", {}, "with"), other, show);
}

async function showDiff(a, b, area) {
  clear(area).append(h("p", { class: "muted" }, `Comparing v${a} with v${b}…`));
  let diff;
  try {
    diff = await api("GET", `/teams/${panel.team.id}/versions/${a}/diff?to=${b}`);
  } catch (err) {
    clear(area).append(h("p", { class: "field-error" }, `Could not compare: ${err.message}`));
    return;
  }
  const count = diff.changes.length;
  clear(area).append(
    h("h3", {}, `v${a} → v${b}: ${count ? `${count} change${count === 1 ? "" : "s"}` : "no changes"}`),
    count ? changeTable(diff.changes, `v${a}`, `v${b}`) : h("p", { class: "muted" }, "The two versions have the same config."),
  );
}
