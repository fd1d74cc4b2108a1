// /teams/: list, gallery, upload, and the editor (form view + JSON view, validated live against
// POST /api/teams/validate; each error is listed with its path and can be jumped to).
import { api, apiAll } from "./api.js";
import { agentHue, clear, h } from "./dom.js";
import { locate, parseErrorOffset } from "./jsonpath.js";
import { modelsOf, storedProviders as listProviders } from "./provider_models.js";
import { closeVersions, openVersions, refreshVersions } from "./team_versions.js";

const $ = (id) => document.getElementById(id);
const els = {
  rows: $("team-rows"),
  gallery: $("gallery"),
  upload: $("upload-file"),
  uploadResult: $("upload-result"),
  editor: $("editor"),
  title: $("editor-title"),
  validity: $("validity"),
  banner: $("editor-banner"),
  errors: $("error-list"),
  warnings: $("warning-list"),
  tabForm: $("tab-form"),
  tabJson: $("tab-json"),
  formView: $("form-view"),
  jsonView: $("json-view"),
  text: $("json-text"),
  save: $("save-team"),
  close: $("close-editor"),
  saveResult: $("save-result"),
  note: $("version-note"),
};

const PROVIDERS = ["scripted", "openai", "azure_openai"];
const KINDS = ["round_robin", "selector", "swarm"];
const state = {
  teams: [],
  team: null,
  obj: null,
  parsedText: null,
  parsed: null,
  errors: [],
  valid: false,
  readOnly: false,
  timer: 0,
  seq: 0,
};

// ------------------------------------------------------------------ list and gallery

async function loadTeams() {
  try {
    state.teams = await apiAll("/teams");
  } catch (err) {
    clear(els.rows).append(h("tr", {}, h("td", { colspan: 4, class: "field-error" }, `Could not load teams: ${err.message}`)));
    return;
  }
  clear(els.rows);
  if (!state.teams.length) els.rows.append(h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No teams yet: install one from the gallery or upload a file.")));
  for (const team of state.teams) els.rows.append(teamRow(team));
}

function teamRow(team) {
  const agents = (team.config.participants || []).map((p) => p.name).join(", ");
  const del = h("button", { type: "button", class: "danger", hidden: !team.editable }, "Delete");
  del.addEventListener("click", async () => {
    if (!del.dataset.confirm) {
      del.dataset.confirm = "1";
      del.textContent = "Click again to delete";
      return;
    }
    try {
      await api("DELETE", `/teams/${team.id}`);
      if (state.team && state.team.id === team.id) closeEditor();
      closeVersions();
      loadTeams();
    } catch (err) {
      del.textContent = `Failed: ${err.message}`;
    }
  });
  return h(
    "tr",
    { "data-team-id": team.id },
    h("td", {}, h("strong", {}, team.name), team.shared ? h("span", { class: "tag", style: "margin-left:6px" }, team.editable ? "shared" : `shared by ${team.owner}`) : null, h("div", { class: "muted small" }, team.description.length > 160 ? `${team.description.slice(0, 160)}…` : team.description)),
    h("td", {}, team.config.kind || ""),
    h("td", {}, agents),
    h(
      "td",
      {},
      h(
        "div",
        { class: "actions" },
        h("button", { type: "button", onclick: () => openEditor(team), "aria-label": `${team.editable ? "Edit" : "View"} ${team.name}` }, team.editable ? "Edit" : "View"),
        h("button", { type: "button", onclick: () => openInPlayground(team.id, team.name), "aria-label": `Run ${team.name} in the playground` }, "Run"),
        h("button", { type: "button", onclick: () => openVersions(team, { onChange: teamChanged }), "aria-label": `Versions of ${team.name}` }, "Versions"),
        h("a", { class: "button", href: `/api/teams/${team.id}/export?format=native`, download: `team-${team.id}.json`, "aria-label": `Export ${team.name} as JSON` }, "Export"),
        h("a", { class: "button", href: `/api/teams/${team.id}/export?format=autogen`, download: `team-${team.id}-autogen.json`, "aria-label": `Export ${team.name} for AutoGen Studio` }, "AutoGen"),
        del,
      ),
    ),
  );
}

async function loadGallery() {
  let items;
  try {
    items = await apiAll("/gallery");
  } catch (err) {
    clear(els.gallery).append(h("p", { class: "field-error" }, `Could not load the gallery: ${err.message}`));
    return;
  }
  clear(els.gallery);
  for (const item of items) {
    const button = h("button", { type: "button", "aria-label": `Install ${item.title}` }, "Install");
    const note = h("span", { class: "small muted", role: "status" });
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const team = await api("POST", `/gallery/${item.name}/install`);
        note.textContent = `Installed as “${team.name}”.`;
        loadTeams();
      } catch (err) {
        note.textContent = `Failed: ${err.message}`;
      }
      button.disabled = false;
    });
    els.gallery.append(
      h("div", { class: "gallery-item" }, h("h3", {}, item.title), h("p", {}, `${item.kind} · ${item.participants.join(", ")}`), h("p", {}, item.description), h("div", { class: "row" }, button, note)),
    );
  }
}

async function openInPlayground(teamId, name) {
  try {
    const session = await api("POST", "/sessions", { name, team_id: teamId });
    window.location.href = `/?session=${session.id}`;
  } catch (err) {
    els.uploadResult.replaceChildren(h("p", { class: "field-error" }, `Could not start a session: ${err.message}`));
  }
}

// A restore or an upload in the versions panel changed a team: the list and an open editor follow.
async function teamChanged(team) {
  await loadTeams();
  if (state.team && state.team.id === team.id) openEditor(team);
}

// ------------------------------------------------------------------ upload

els.upload.addEventListener("change", async () => {
  const file = els.upload.files[0];
  if (!file) return;
  const body = new FormData();
  body.append("file", file);
  els.uploadResult.replaceChildren(h("p", { class: "muted" }, `Uploading ${file.name}…`));
  try {
    const team = await api("POST", "/teams/upload", body);
    els.uploadResult.replaceChildren(h("p", { class: "banner ok" }, `Uploaded “${team.name}”.`));
    await loadTeams();
    openEditor(team, team.warnings || []);
  } catch (err) {
    const text = await file.text();
    els.uploadResult.replaceChildren(h("p", { class: "banner error", role: "alert" }, `${file.name} was not saved: ${err.message} Fix it in the editor below, then Save.`));
    openEditor(null, [], text, file.name.replace(/\.json$/i, ""));
    if (err.errors && err.errors.length) showErrors(err.errors, []);
  }
  els.upload.value = "";
});

// ------------------------------------------------------------------ editor

const NEW_TEAM = {
  version: 1,
  kind: "round_robin",
  name: "my_team",
  description: "",
  participants: [
    { kind: "assistant", name: "assistant", system_message: "You are a helpful assistant.", model: { provider: "scripted", replies: ["Hello! TERMINATE"] } },
  ],
  termination: { type: "max_message", max_messages: 4 },
};

$("new-team").addEventListener("click", () => openEditor(null, [], JSON.stringify(NEW_TEAM, null, 2), "New team"));

function openEditor(team, warnings = [], text = null, label = null) {
  state.team = team;
  state.readOnly = Boolean(team && !team.editable);
  const body = text ?? JSON.stringify(team.config, null, 2);
  els.text.value = body;
  els.text.readOnly = state.readOnly;
  els.title.textContent = team ? `${state.readOnly ? "View" : "Edit"} team: ${team.name}` : `New team (not saved yet)${label ? `: ${label}` : ""}`;
  els.saveResult.textContent = "";
  els.banner.replaceChildren();
  if (state.readOnly) els.banner.append(h("p", { class: "muted small" }, `Read-only: shared by ${team.owner}.`));
  els.save.hidden = state.readOnly;
  els.note.hidden = state.readOnly;
  els.editor.hidden = false;
  showErrors([], warnings);
  parseText();
  selectTab(state.obj ? "form" : "json");
  validateSoon(0);
  els.editor.scrollIntoView({ block: "start" });
}

function closeEditor() {
  els.editor.hidden = true;
  state.team = null;
}
els.close.addEventListener("click", closeEditor);

// The form edits state.obj in place, so it is re-parsed only when the JSON text itself was edited.
function parseText() {
  const text = els.text.value;
  if (text === state.parsedText) return state.parsed;
  state.parsedText = text;
  try {
    const value = JSON.parse(text);
    state.obj = value && typeof value === "object" && !Array.isArray(value) ? value : null;
    state.parsed = { ok: true };
  } catch (err) {
    state.obj = null;
    state.parsed = { ok: false, message: err.message };
  }
  return state.parsed;
}

function nativeShape(obj) {
  return obj && Array.isArray(obj.participants) && !obj.provider;
}

function selectTab(which) {
  const form = which === "form";
  els.tabForm.setAttribute("aria-selected", String(form));
  els.tabJson.setAttribute("aria-selected", String(!form));
  els.formView.hidden = !form;
  els.jsonView.hidden = form;
  if (form) renderForm();
}
els.tabForm.addEventListener("click", () => selectTab("form"));
els.tabJson.addEventListener("click", () => selectTab("json"));
for (const tab of [els.tabForm, els.tabJson]) {
  tab.addEventListener("keydown", (event) => {
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") {
      const next = tab === els.tabForm ? els.tabJson : els.tabForm;
      next.focus();
      next.click();
    }
  });
}

els.text.addEventListener("input", () => validateSoon());

function validateSoon(delay = 400) {
  clearTimeout(state.timer);
  els.validity.dataset.state = "checking";
  els.validity.textContent = "Checking…";
  state.timer = setTimeout(validate, delay);
}

async function validate() {
  const seq = ++state.seq;
  const parsed = parseText();
  if (!parsed.ok) {
    setValidity(false, "Not valid JSON");
    showErrors([{ path: "", message: `JSON syntax: ${parsed.message}`, offset: parseErrorOffset(els.text.value, parsed.message) }], []);
    return;
  }
  let result;
  try {
    result = await api("POST", "/teams/validate", state.obj);
  } catch (err) {
    if (seq !== state.seq) return;
    setValidity(false, "Could not validate");
    showErrors(err.errors && err.errors.length ? err.errors : [{ path: "", message: err.message }], []);
    return;
  }
  if (seq !== state.seq) return; // a newer edit is being checked
  setValidity(result.valid, result.valid ? `Valid (${result.format === "autogen" ? "AutoGen Studio format" : "our format"})` : `${result.errors.length} problem${result.errors.length === 1 ? "" : "s"}`);
  showErrors(result.errors, result.warnings);
}

function setValidity(valid, text) {
  state.valid = valid;
  els.validity.dataset.state = valid ? "valid" : "invalid";
  els.validity.textContent = text;
  els.save.disabled = !valid || state.readOnly;
}

function showErrors(errors, warnings) {
  state.errors = errors;
  clear(els.errors);
  for (const error of errors) {
    const where = error.path || "(document)";
    els.errors.append(
      h("li", { class: "field-error", "data-path": error.path }, h("button", { type: "button", class: "link", onclick: () => jumpTo(error), title: "Show it in the editor" }, where), `: ${error.message}`),
    );
  }
  clear(els.warnings);
  for (const w of warnings || []) els.warnings.append(h("li", {}, `${w.path || "(document)"}: ${w.message}`));
  markFields();
}

function jumpTo(error) {
  if (!els.formView.hidden) {
    const field = fieldFor(error.path);
    if (field) {
      field.focus();
      field.scrollIntoView({ block: "center" });
      return;
    }
    selectTab("json");
  }
  const text = els.text.value;
  let spot = error.offset !== undefined ? { start: error.offset, end: error.offset + 1 } : locate(text, error.path);
  if (!spot) spot = { start: 0, end: 0 };
  els.text.focus();
  els.text.setSelectionRange(spot.start, spot.end);
  const line = text.slice(0, spot.start).split("\n").length;
  const lineHeight = parseFloat(getComputedStyle(els.text).lineHeight) || 19;
  els.text.scrollTop = Math.max(0, (line - 4) * lineHeight);
}

// ------------------------------------------------------------------ form view

function fieldFor(path) {
  let best = null;
  for (const el of els.formView.querySelectorAll("[data-path]")) {
    const p = el.dataset.path;
    if (path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`)) {
      if (!best || p.length > best.dataset.path.length) best = el;
    }
  }
  return best;
}

function markFields() {
  for (const el of els.formView.querySelectorAll("[data-path]")) {
    el.removeAttribute("aria-invalid");
    const msg = document.getElementById(`${el.id}-error`);
    if (msg) msg.textContent = "";
  }
  for (const error of state.errors) {
    const el = fieldFor(error.path || "");
    if (!el) continue;
    el.setAttribute("aria-invalid", "true");
    const msg = document.getElementById(`${el.id}-error`);
    if (msg) msg.textContent = msg.textContent ? `${msg.textContent}; ${error.message}` : error.message;
  }
}

function commit() {
  els.text.value = JSON.stringify(state.obj, null, 2);
  state.parsedText = els.text.value;
  state.parsed = { ok: true };
  validateSoon();
}

let fieldCounter = 0;
function field(label, path, control, { full = false } = {}) {
  const id = `f${(fieldCounter += 1)}`;
  control.id = id;
  control.dataset.path = path;
  control.setAttribute("aria-describedby", `${id}-error`);
  control.disabled = state.readOnly;
  return h("div", { class: `field${full ? " full" : ""}` }, h("label", { for: id }, label), control, h("p", { class: "field-error", id: `${id}-error`, "data-testid": `error-${path}` }));
}

function textInput(value, onInput, attrs = {}) {
  const el = h("input", { type: "text", ...attrs });
  el.value = value ?? "";
  el.addEventListener("input", () => onInput(el.value));
  return el;
}

function numberInput(value, onInput) {
  const el = h("input", { type: "number", min: 1 });
  el.value = value ?? "";
  el.addEventListener("input", () => onInput(el.value === "" ? null : Number(el.value)));
  return el;
}

function textArea(value, onInput) {
  const el = h("textarea", { rows: 3 });
  el.value = value ?? "";
  el.addEventListener("input", () => onInput(el.value));
  return el;
}

function select(options, value, onChange) {
  const el = h("select", {}, options.map(([v, label]) => h("option", { value: v }, label)));
  el.value = value ?? "";
  el.addEventListener("change", () => onChange(el.value));
  return el;
}

// ------------------------------------------------------------------ stored providers and their models

let storedProviders = [];

async function loadProviders() {
  storedProviders = await listProviders();
  if (state.obj && !els.formView.hidden) renderForm();
}

/** The model dropdown of a model on a stored provider, filled from the provider's model list. */
function modelSelect(model, ref) {
  const el = h("select", { "data-provider-models": ref }, h("option", { value: model.model || "" }, model.model || "Loading models…"));
  el.addEventListener("change", () => { model.model = el.value; commit(); });
  modelsOf(ref).then(
    (models) => {
      const names = model.model && !models.includes(model.model) ? [model.model, ...models] : models;
      clear(el).append(...names.map((m) => h("option", { value: m }, m)));
      if (!model.model && names.length) {
        model.model = names[0];
        commit();
      }
      el.value = model.model;
    },
    (err) => {
      clear(el).append(h("option", { value: model.model || "" }, model.model || "(no model)"));
      el.title = `Could not list the models of ${ref}: ${err.message}`;
      const error = document.getElementById(`${el.id}-error`);
      if (error) error.textContent = el.title;
    },
  );
  return el;
}

function setOrDelete(obj, key, value) {
  if (value === null || value === undefined || value === "") delete obj[key];
  else obj[key] = value;
}

function renderForm() {
  clear(els.formView);
  const obj = state.obj;
  if (!obj) {
    els.formView.append(h("p", { class: "field-error" }, "The JSON does not parse; fix it in the JSON view first."));
    return;
  }
  if (!nativeShape(obj)) {
    els.formView.append(h("p", { class: "muted" }, "This is an AutoGen Studio document: edit it in the JSON view. It is converted to our format when saved."));
    return;
  }
  const team = h(
    "div",
    { class: "form-grid" },
    field("Team name", "name", textInput(obj.name, (v) => { obj.name = v; commit(); })),
    field("Kind", "kind", select(KINDS.map((k) => [k, k.replace("_", " ")]), obj.kind, (v) => { obj.kind = v; commit(); })),
    field("Description", "description", textArea(obj.description, (v) => { obj.description = v; commit(); }), { full: true }),
    field("Max turns (optional)", "max_turns", numberInput(obj.max_turns, (v) => { setOrDelete(obj, "max_turns", v); commit(); })),
    terminationFields(obj),
  );
  els.formView.append(h("h3", {}, "Team"), team, h("h3", {}, "Agents"));
  (obj.participants || []).forEach((agent, index) => els.formView.append(agentCard(agent, index)));
  if (!state.readOnly) {
    els.formView.append(
      h(
        "div",
        { class: "row", style: "margin-top: 10px" },
        h("button", { type: "button", onclick: () => addAgent("assistant") }, "Add assistant"),
        h("button", { type: "button", onclick: () => addAgent("user_proxy") }, "Add human (user proxy)"),
      ),
    );
  }
  markFields();
}

function terminationFields(obj) {
  const term = obj.termination || null;
  const type = term ? term.type : "";
  const simple = ["", "max_message", "text_mention", "cost"];
  const wrap = h("div", { class: "field full" });
  if (!simple.includes(type)) {
    const box = h("div", { class: "field full" });
    const ctl = h("pre", { tabindex: 0 }, JSON.stringify(term, null, 2));
    box.append(field(`Termination: ${type} (edit it in the JSON view)`, "termination", ctl, { full: true }));
    return box;
  }
  const choose = select(
    [["", "none (max turns only)"], ["max_message", "after N messages"], ["text_mention", "when a text is mentioned"], ["cost", "when it has cost N US dollars"]],
    type,
    (v) => {
      if (!v) delete obj.termination;
      else if (v === "max_message") obj.termination = { type: v, max_messages: 10 };
      else if (v === "cost") obj.termination = { type: v, max_cost: 1 };
      else obj.termination = { type: v, text: "TERMINATE" };
      commit();
      renderForm();
    },
  );
  wrap.append(field("Termination", "termination", choose));
  if (type === "max_message") wrap.append(field("Max messages", "termination.max_messages", numberInput(term.max_messages, (v) => { term.max_messages = v; commit(); })));
  if (type === "text_mention") wrap.append(field("Text that ends the run", "termination.text", textInput(term.text, (v) => { term.text = v; commit(); })));
  if (type === "cost") {
    // Checked after each model call: the call that crosses the limit is the run's last.
    const dollars = h("input", { type: "number", min: "0.0001", step: "any" });
    dollars.value = term.max_cost ?? "";
    dollars.addEventListener("input", () => { term.max_cost = dollars.value === "" ? null : Number(dollars.value); commit(); });
    wrap.append(field("Stop when the model calls have cost (US dollars)", "termination.max_cost", dollars));
  }
  return wrap;
}

function agentCard(agent, index) {
  const base = `participants[${index}]`;
  const card = h("div", { class: "agent-card", style: `--hue: ${agentHue(agent.name || "")}`, "data-agent-index": index });
  const remove = h("button", { type: "button", class: "danger", hidden: state.readOnly, "aria-label": `Remove agent ${agent.name || index + 1}` }, "Remove");
  remove.addEventListener("click", () => {
    state.obj.participants.splice(index, 1);
    commit();
    renderForm();
  });
  card.append(h("h4", {}, h("span", { class: "grow" }, `${agent.kind === "user_proxy" ? "Human (user proxy)" : "Assistant"} #${index + 1}`), remove));
  const grid = h("div", { class: "form-grid" });
  grid.append(field("Name", `${base}.name`, textInput(agent.name, (v) => { agent.name = v; commit(); }, { autocomplete: "off" })));
  if (agent.kind === "user_proxy") {
    grid.append(field("Prompt shown to the human", `${base}.input_prompt`, textInput(agent.input_prompt, (v) => { setOrDelete(agent, "input_prompt", v); commit(); })));
  } else {
    const model = agent.model || (agent.model = { provider: "scripted", replies: ["…"] });
    const ref = model.provider_ref;
    const choices = [...PROVIDERS.map((p) => [p, p]), ...storedProviders.map((p) => [`ref:${p.name}`, `provider: ${p.name}`])];
    if (ref && !storedProviders.some((p) => p.name === ref)) choices.push([`ref:${ref}`, `provider: ${ref} (not yours)`]);
    grid.append(
      field("Model provider", `${base}.model.${ref ? "provider_ref" : "provider"}`, select(choices, ref ? `ref:${ref}` : model.provider, (v) => {
        const name = model.model;
        if (v.startsWith("ref:")) agent.model = { provider_ref: v.slice(4), model: "" };
        else agent.model = v === "scripted" ? { provider: v, replies: ["Hello. TERMINATE"] } : v === "openai" ? { provider: v, model: name && name !== "scripted" ? name : "gpt-4o-mini" } : { provider: v, model: name || "gpt-4o-mini", azure_endpoint: "https://example.openai.azure.com", api_version: "2024-06-01" };
        commit();
        renderForm();
      })),
      field("Model", `${base}.model.model`, ref ? modelSelect(model, ref) : textInput(model.model, (v) => { setOrDelete(model, "model", v); commit(); }, { placeholder: model.provider === "scripted" ? "scripted" : "e.g. gpt-4o-mini" })),
      field("System message", `${base}.system_message`, textArea(agent.system_message, (v) => { setOrDelete(agent, "system_message", v); commit(); }), { full: true }),
      field("Tools (comma-separated names of registered tools)", `${base}.tools`, textInput((agent.tools || []).join(", "), (v) => {
        const tools = v.split(",").map((t) => t.trim()).filter(Boolean);
        if (tools.length) agent.tools = tools;
        else delete agent.tools;
        commit();
      }), { full: true }),
    );
    grid.append(mcpServersField(agent, base));
  }
  card.append(grid);
  return card;
}

// The MCP servers an operator registered and shared with this user, with the tools each listed last.
let mcpServers = [];
api("GET", "/mcp-servers")
  .then((servers) => {
    mcpServers = servers;
    if (servers.length && state.obj) renderForm();
  })
  .catch(() => {});

function mcpServersField(agent, base) {
  const chosen = new Set(agent.mcp_servers || []);
  const box = h("fieldset", { class: "mcp-servers", "data-testid": "mcp-servers" }, h("legend", {}, "MCP servers (their tools)"));
  if (!mcpServers.length && !chosen.size) {
    box.append(h("p", { class: "small muted" }, "No MCP server is shared with you; an operator registers them."));
  }
  const names = [...new Set([...mcpServers.map((s) => s.name), ...chosen])];
  for (const name of names) {
    const server = mcpServers.find((s) => s.name === name);
    const id = `${base}-mcp-${name}`;
    const check = h("input", { type: "checkbox", id, checked: chosen.has(name), disabled: state.readOnly });
    check.addEventListener("change", () => {
      const next = new Set(agent.mcp_servers || []);
      if (check.checked) next.add(name);
      else next.delete(name);
      if (next.size) agent.mcp_servers = [...next];
      else delete agent.mcp_servers;
      commit();
    });
    const tools = server ? server.tools.map((t) => h("li", {}, h("code", {}, t.name), t.description ? ` ${t.description}` : "")) : [];
    const note = server ? `${server.description || server.transport}${server.approval === "always" ? " · asks before each call" : ""}` : "not available to you";
    box.append(
      h("div", { class: "mcp-server" }, check, " ", h("label", { for: id }, h("strong", {}, name), h("span", { class: "small muted" }, ` ${note}`)), tools.length ? h("ul", { class: "small" }, ...tools) : ""),
    );
  }
  const policy = agent.tool_approval === undefined ? "" : Array.isArray(agent.tool_approval) ? "list" : agent.tool_approval;
  const approval = select(
    [["", "each server's default"], ["never", "never ask"], ["always", "ask before every tool call"], ...(policy === "list" ? [["list", "the listed tools (JSON view)"]] : [])],
    policy,
    (v) => {
      if (v === "") delete agent.tool_approval;
      else if (v !== "list") agent.tool_approval = v;
      commit();
    },
  );
  const wrap = h("div", { class: "full" }, box);
  wrap.append(field("Tool calls need my approval", `${base}.tool_approval`, approval));
  return wrap;
}

function addAgent(kind) {
  const names = new Set((state.obj.participants || []).map((p) => p.name));
  let n = (state.obj.participants || []).length + 1;
  let name = kind === "user_proxy" ? "user" : `agent_${n}`;
  while (names.has(name)) name = `${kind === "user_proxy" ? "user" : "agent"}_${(n += 1)}`;
  const agent = kind === "user_proxy" ? { kind, name } : { kind, name, system_message: "You are a helpful assistant.", model: { provider: "scripted", replies: ["Hello. TERMINATE"] } };
  state.obj.participants = [...(state.obj.participants || []), agent];
  commit();
  renderForm();
}

// ------------------------------------------------------------------ save

els.save.addEventListener("click", async () => {
  const parsed = parseText();
  if (!parsed.ok) return;
  els.save.disabled = true;
  els.saveResult.textContent = "Saving…";
  try {
    const team = state.team
      ? await api("PUT", `/teams/${state.team.id}`, { config: state.obj, shared: state.team.shared, note: els.note.value })
      : await api("POST", "/teams", { config: state.obj, note: els.note.value });
    state.team = team;
    els.note.value = "";
    refreshVersions(team);
    els.title.textContent = `Edit team: ${team.name}`;
    els.saveResult.replaceChildren(
      h("span", { class: "validity", "data-state": "valid" }, `Saved “${team.name}” (version ${team.version}). `),
      h("button", { type: "button", class: "primary", onclick: () => openInPlayground(team.id, team.name) }, "Open in playground"),
    );
    await loadTeams();
  } catch (err) {
    els.saveResult.textContent = `Not saved: ${err.message}`;
    if (err.errors && err.errors.length) showErrors(err.errors.map((e) => ({ ...e, path: e.path.replace(/^config\.?/, "") })), []);
  }
  els.save.disabled = !state.valid;
});

loadTeams();
loadGallery();
loadProviders();
