// The playground page: sessions on the left, the selected session's runs as cards, one composer.
import { api, apiAll } from "./api.js";
import { clear, formatTime, h } from "./dom.js";
import { attachLive } from "./live.js";
import { DEFAULT_STOP_REASON, TASK_MAX_CHARS } from "./protocol.js";
import { forkTree, overrideText } from "./iterate.js";
import { isOffline } from "./offline.js";
import { modelsOf, storedProviders } from "./provider_models.js";
import { formatBytes, isTerminal, loadStored, RunView } from "./runview.js";
import { ConnectionIndicator } from "./socket.js";

const $ = (id) => document.getElementById(id);
const els = {
  teamSelect: $("team-select"),
  newSession: $("new-session"),
  sessionList: $("session-list"),
  title: $("session-title"),
  team: $("session-team"),
  actions: $("session-actions"),
  rename: $("rename-session"),
  del: $("delete-session"),
  thread: $("thread"),
  inner: $("thread-inner"),
  empty: $("empty"),
  jump: $("jump"),
  live: $("live-status"),
  composer: $("composer"),
  task: $("task"),
  files: $("composer-files"),
  fileInput: $("file-input"),
  attach: $("attach"),
  action: $("composer-action"),
  note: $("composer-note"),
  sidebar: $("sidebar"),
  sidebarToggle: $("sidebar-toggle"),
  model: $("run-model"),
  version: $("run-version"),
  agent: $("run-agent"),
  baseUrl: $("run-base-url"),
  optionsSummary: $("run-options-summary"),
};

els.task.maxLength = TASK_MAX_CHARS;

const state = {
  teams: [],
  sessions: [],
  session: null,
  views: new Map(),
  sockets: new Map(),
  follow: true,
  stopping: false,
  loadToken: 0,
  files: [], // File objects to send with the next task
};
const indicator = new ConnectionIndicator($("conn"));

function announce(text) {
  els.live.textContent = text;
}

// ------------------------------------------------------------------ scrolling

function atBottom() {
  const t = els.thread;
  return t.scrollHeight - t.scrollTop - t.clientHeight < 48;
}

let scrollQueued = false;
let lastTop = 0;
function contentChanged() {
  if (scrollQueued) return;
  scrollQueued = true;
  requestAnimationFrame(() => {
    scrollQueued = false;
    if (state.follow || atBottom()) {
      state.follow = true;
      els.thread.scrollTop = els.thread.scrollHeight;
      lastTop = els.thread.scrollTop;
      els.jump.hidden = true;
    } else {
      els.jump.hidden = false;
    }
  });
}

// Follow stops only when the reader scrolls away from the bottom themselves: the browser also
// fires scroll events when content shrinks under us (a streamed bubble replaced by tool rows).
let userScrollUntil = 0;
for (const type of ["wheel", "touchmove", "pointerdown", "keydown"]) {
  els.thread.addEventListener(type, () => (userScrollUntil = Date.now() + 1500), { passive: true });
}
els.thread.addEventListener("scroll", () => {
  const top = els.thread.scrollTop;
  if (atBottom()) {
    state.follow = true;
    els.jump.hidden = true;
  } else if (Date.now() < userScrollUntil && top < lastTop) {
    state.follow = false;
    els.jump.hidden = false;
  }
  lastTop = top;
});
els.jump.addEventListener("click", () => {
  state.follow = true;
  els.thread.scrollTop = els.thread.scrollHeight;
  els.jump.hidden = true;
  els.thread.focus({ preventScroll: true });
});

// ------------------------------------------------------------------ composer

function activeView() {
  const views = [...state.views.values()];
  for (let i = views.length - 1; i >= 0; i -= 1) {
    if (!isTerminal(views[i].run.status)) return views[i];
  }
  return null;
}

function teamOf(session) {
  return session && state.teams.find((t) => t.id === session.team_id);
}

function updateComposer() {
  updateComposerState();
  els.attach.disabled = els.task.disabled; // files go with a task
}

function updateComposerState() {
  const session = state.session;
  const active = activeView();
  const action = els.action;
  if (!session) {
    els.task.disabled = true;
    action.disabled = true;
    action.textContent = "Send";
    els.note.textContent = "";
    return;
  }
  if (active) {
    action.textContent = state.stopping || active.run.status === "stopping" ? "Stopping…" : "Stop";
    action.classList.remove("primary");
    action.classList.add("danger");
    action.disabled = state.stopping || active.run.status === "stopping";
    action.setAttribute("aria-keyshortcuts", "Escape");
    const waiting = active.run.status === "awaiting_input";
    els.task.disabled = waiting;
    els.task.placeholder = waiting ? "Answer the question above first…" : "The team is working; you can type your next task.";
    els.note.textContent = waiting
      ? "The run is waiting for you: answer in the highlighted card above."
      : "Running. Stop (or Esc) ends it and keeps what was written so far.";
    return;
  }
  state.stopping = false;
  action.textContent = "Send";
  action.classList.add("primary");
  action.classList.remove("danger");
  action.removeAttribute("aria-keyshortcuts");
  const hasTeam = Boolean(session.team_id);
  action.disabled = !hasTeam;
  els.task.disabled = !hasTeam;
  els.task.placeholder = hasTeam ? "Describe a task for the team…" : "This session's team was deleted: start a new session.";
  els.note.textContent = hasTeam ? "Enter sends, Shift+Enter adds a line." : "";
}

async function stopActive() {
  const view = activeView();
  if (!view || state.stopping) return;
  state.stopping = true;
  updateComposer();
  try {
    await api("POST", `/runs/${view.run.id}/stop`, { reason: DEFAULT_STOP_REASON });
  } catch (err) {
    if (err.status !== 409) view.notice(`Could not stop the run: ${err.message}`);
    state.stopping = false;
  }
  updateComposer();
}

async function startRun() {
  const session = state.session;
  const task = els.task.value.trim();
  if (!session || !task) {
    els.task.focus();
    return;
  }
  els.action.disabled = true;
  try {
    const override = modelOverride();
    let run;
    if (state.files.length) {
      // With files the run is created and started in one request: a refused file (named in the
      // error) leaves no run behind, and the task and its files stay here to fix and send again.
      const form = new FormData();
      form.append("session_id", String(session.id));
      form.append("task", task);
      if (override) form.append("model_override", JSON.stringify(override));
      if (els.version.value) form.append("team_version", els.version.value);
      for (const file of state.files) form.append("files", file, file.name);
      run = await api("POST", "/runs", form);
    } else {
      // Created without its task, started once the socket is live: the first tokens must not
      // stream before anyone listens (chunks are not stored, so they could not be replayed).
      const body = { session_id: session.id };
      if (override) body.model_override = override;
      if (els.version.value) body.team_version = Number(els.version.value);
      run = await api("POST", "/runs", body);
    }
    if (state.session !== session) return; // the reader moved to another session meanwhile
    const started = state.files.length > 0;
    els.task.value = "";
    setFiles([]);
    maybeNameSession(session, task);
    state.follow = true;
    addView({ ...run, task }, false, started ? null : task);
    updateComposer();
  } catch (err) {
    const why = err.errors && err.errors.length ? ` (${err.errors.map((e) => `${e.path}: ${e.message}`).join("; ")})` : "";
    els.note.textContent = `Could not start the run: ${err.message}${why}`;
    els.action.disabled = false;
  }
}

/** The run options' model (and endpoint) as a model_override for every agent or the one chosen; null for the team's own. */
function modelOverride() {
  const model = els.model.value.trim();
  if (!model) return null;
  const baseUrl = els.baseUrl.value.trim();
  const override = runProvider.value ? { model, provider_ref: runProvider.value } : baseUrl ? { model, base_url: baseUrl } : { model };
  return els.agent.value ? { [els.agent.value]: override } : override;
}

function showRunOptions() {
  const parts = [els.version.value ? `v${els.version.value}` : "", overrideText(modelOverride())].filter(Boolean);
  els.optionsSummary.textContent = parts.join(", ") || "the team's own model";
}
els.model.addEventListener("input", showRunOptions);
els.baseUrl.addEventListener("input", showRunOptions);
els.version.addEventListener("change", showRunOptions);
els.agent.addEventListener("change", showRunOptions);

// The session team's agents and versions (newest first); the choice applies to the next runs of this session.
async function loadRunOptions(session) {
  els.version.replaceChildren(h("option", { value: "" }, "the current one"));
  els.agent.replaceChildren(h("option", { value: "" }, "every agent"));
  const team = teamOf(session);
  for (const agent of (team && team.config.participants) || []) {
    if (agent.kind === "assistant") els.agent.append(h("option", { value: agent.name }, agent.name));
  }
  showRunOptions();
  if (!session.team_id) return;
  let versions;
  try {
    versions = await apiAll(`/teams/${session.team_id}/versions`);
  } catch (err) {
    return; // the current version still runs
  }
  if (state.session !== session) return;
  for (const v of versions) {
    if (v.current) continue;
    const note = v.note ? ` · ${v.note.slice(0, 40)}` : "";
    els.version.append(h("option", { value: v.number }, `v${v.number}${note}`));
  }
  const current = versions.find((v) => v.current);
  if (current) els.version.firstChild.textContent = `the current one (v${current.number})`;
  // Arrived from a version's "Run" on the teams page: that version is preselected for this team's new session.
  const wanted = state.wantedVersion;
  if (wanted && wanted.team === session.team_id) {
    state.wantedVersion = null;
    if (!current || current.number !== wanted.number) els.version.value = String(wanted.number);
    $("run-options").open = true;
    showRunOptions();
  }
}

// A stored provider for the next runs: the model box then suggests the provider's models.
const runProvider = $("run-provider");
storedProviders().then((all) => runProvider.append(...all.map((p) => h("option", { value: p.name }, p.name))));
runProvider.addEventListener("change", async () => {
  const name = runProvider.value;
  const suggestions = clear($("run-models"));
  els.baseUrl.disabled = Boolean(name);
  showRunOptions();
  if (!name) return;
  try {
    suggestions.append(...(await modelsOf(name)).map((m) => h("option", { value: m })));
  } catch (err) {
    els.note.textContent = `Could not list the models of ${name}: ${err.message}`;
  }
});

async function maybeNameSession(session, task) {
  // A session still named after its team gets its first task as the name: history that means something.
  const team = teamOf(session);
  if (state.views.size > 0 || !team || session.name !== team.name) return;
  const name = task.replace(/\s+/g, " ").slice(0, 80);
  try {
    const updated = await api("PATCH", `/sessions/${session.id}`, { name });
    Object.assign(session, updated);
    renderSessions();
    renderHead();
  } catch (err) {
    /* naming is a nicety */
  }
}

// ------------------------------------------------------------------ files for the next task

function setFiles(files) {
  for (const item of els.files.querySelectorAll("img")) URL.revokeObjectURL(item.src);
  state.files = files;
  els.files.replaceChildren(
    ...files.map((file, index) =>
      h(
        "li",
        { class: "composer-file", "data-testid": "composer-file" },
        file.type.startsWith("image/") ? h("img", { src: URL.createObjectURL(file), alt: "" }) : h("span", { "aria-hidden": "true" }, "📎"),
        h("span", { class: "name", title: file.name }, file.name),
        h("span", { class: "muted small" }, formatBytes(file.size)),
        h("button", { type: "button", "aria-label": `Remove ${file.name}`, onclick: () => setFiles(state.files.filter((_, i) => i !== index)) }, "×"),
      ),
    ),
  );
  els.files.hidden = files.length === 0;
}

function addFiles(list) {
  if (els.task.disabled || !list || !list.length) return;
  setFiles([...state.files, ...Array.from(list)]);
}

els.attach.addEventListener("click", () => els.fileInput.click());
els.fileInput.addEventListener("change", () => {
  addFiles(els.fileInput.files);
  els.fileInput.value = "";
});
els.composer.addEventListener("dragover", (event) => {
  if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
  event.preventDefault();
  els.composer.classList.add("dropping");
});
els.composer.addEventListener("dragleave", () => els.composer.classList.remove("dropping"));
els.composer.addEventListener("drop", (event) => {
  els.composer.classList.remove("dropping");
  if (!event.dataTransfer || !event.dataTransfer.files.length) return;
  event.preventDefault();
  addFiles(event.dataTransfer.files);
});
els.task.addEventListener("paste", (event) => {
  const pasted = event.clipboardData ? Array.from(event.clipboardData.files) : [];
  if (!pasted.length) return; // text pastes as text
  event.preventDefault();
  addFiles(pasted);
});

els.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  if (activeView()) stopActive();
  else startRun();
});
els.task.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    if (!activeView()) startRun();
  }
});
document.addEventListener("keydown", (event) => {
  if (event.key !== "Escape" || event.defaultPrevented) return;
  // Escape in the rename field cancels the rename; in an answer field it must not end the run.
  const focused = document.activeElement;
  if (focused && (focused.classList.contains("rename-input") || focused.classList.contains("answer"))) return;
  if (activeView()) {
    event.preventDefault();
    stopActive();
  }
});

// ------------------------------------------------------------------ runs

function startWhenLive(view, task) {
  let started = false;
  const start = async () => {
    if (started) return;
    started = true;
    clearTimeout(fallback);
    try {
      await api("POST", `/runs/${view.run.id}/start`, { task });
    } catch (err) {
      view.notice(`Could not start the run: ${err.message}`);
      api("POST", `/runs/${view.run.id}/stop`, { reason: "Could not start" }).catch(() => {});
    }
  };
  // If the socket cannot connect, start anyway: the transcript is stored and replays later.
  const fallback = setTimeout(start, 5000);
  return start;
}

function addView(run, stored, task = null) {
  const view = new RunView(run, {
    announce,
    onStatus: (v) => {
      updateComposer();
      if (v.run.status === "awaiting_input") state.follow = true;
    },
    onChange: contentChanged,
    onFork: (forked) => {
      if (state.session && forked.session_id !== state.session.id) return;
      state.follow = true;
      addView(forked, false);
      showForkTrees();
      updateComposer();
    },
    linkRun: (id) => (state.views.has(id) ? `#run-${id}` : `/runs/${id}/`),
  });
  state.views.set(run.id, view);
  els.empty.hidden = true;
  els.inner.append(view.el);
  // A stored run's messages come page by page from its own list (the session's list leaves them out),
  // before its socket opens: the socket then sends only what is newer, and a pending question is shown
  // after the messages, naming the agent that asked.
  const live = !isTerminal(run.status);
  if (stored) loadMessages(view, run).then(() => live && state.views.get(run.id) === view && watch(view, run));
  else if (live) watch(view, run, task);
  contentChanged();
  return view;
}

function watch(view, run, task = null) {
  const onConnected = task ? startWhenLive(view, task) : () => {};
  state.sockets.set(run.id, attachLive(view, indicator, { onConnected }));
}

async function loadMessages(view, run) {
  try {
    run.messages = await apiAll(`/runs/${run.id}/messages`);
  } catch (err) {
    view.notice(`Could not load this run's messages: ${err.message}`); // a live run's socket still sends them
    return;
  }
  if (state.views.get(run.id) !== view) return; // another session was opened meanwhile
  loadStored(view, run);
  contentChanged();
}

// Each run of a family (a run, its forks, theirs) shows the family as a small tree.
function showForkTrees() {
  const runs = [...state.views.values()].map((v) => v.run);
  for (const view of state.views.values()) view.setTree(forkTree(runs, view.run.id, { linkRun: (id) => `#run-${id}` }));
}

function closeAll() {
  for (const socket of state.sockets.values()) {
    socket.close();
    indicator.untrack(socket);
  }
  state.sockets.clear();
  for (const view of state.views.values()) {
    view.destroy();
    view.el.remove();
  }
  state.views.clear();
  state.stopping = false;
}

// ------------------------------------------------------------------ sessions

function renderHead() {
  const session = state.session;
  els.actions.hidden = !session;
  els.title.textContent = session ? session.name : "No session selected";
  const team = teamOf(session);
  els.team.textContent = session ? (team ? `Team: ${team.name}` : "No team") : "";
  document.title = session ? `${session.name} · Agent Playground` : "Playground · Agent Playground";
}

function renderSessions() {
  clear(els.sessionList);
  if (!state.sessions.length) {
    els.sessionList.append(h("li", { class: "muted small" }, "No sessions yet. Pick a team above and start one."));
    return;
  }
  for (const session of state.sessions) {
    const team = teamOf(session);
    const current = state.session && state.session.id === session.id;
    els.sessionList.append(
      h(
        "li",
        {},
        h(
          "a",
          {
            href: `/?session=${session.id}`,
            class: "session-link",
            "aria-current": current ? "page" : null,
            "data-session-id": session.id,
            onclick: (event) => {
              event.preventDefault();
              selectSession(session.id);
              els.sidebar.classList.remove("open");
              els.sidebarToggle.setAttribute("aria-expanded", "false");
            },
          },
          h("span", { class: "session-name" }, session.name),
          h("span", { class: "muted small" }, `${team ? team.name : "no team"} · ${formatTime(session.updated_at)}`),
        ),
      ),
    );
  }
}

function renderEmptyState() {
  const team = teamOf(state.session);
  clear(els.empty);
  els.empty.append(h("p", {}, "No runs yet in this session. Type a task below and press Send."));
  if (team && team.description) els.empty.append(h("p", { class: "muted" }, team.description));
  els.empty.hidden = false;
}

async function selectSession(id) {
  const token = ++state.loadToken;
  closeAll();
  const session = state.sessions.find((s) => s.id === id);
  if (!session) return;
  state.session = session;
  history.replaceState(null, "", `/?session=${id}`);
  renderHead();
  renderSessions();
  resetRename();
  resetDelete();
  renderEmptyState();
  updateComposer();
  loadRunOptions(session);
  let runs;
  try {
    runs = await apiAll(`/sessions/${id}/runs`);
  } catch (err) {
    if (token !== state.loadToken) return;
    clear(els.empty).append(h("p", { class: "banner error", role: "alert" }, `Could not load this session: ${err.message}`));
    return;
  }
  if (token !== state.loadToken) return;
  state.follow = true;
  for (const run of runs) addView(run, true);
  showForkTrees();
  if (!runs.length) renderEmptyState();
  updateComposer();
  if (!els.task.disabled) els.task.focus();
}

els.newSession.addEventListener("submit", async (event) => {
  event.preventDefault();
  const teamId = Number(els.teamSelect.value);
  const team = state.teams.find((t) => t.id === teamId);
  if (!team) return;
  // Until the new session is shown, nothing may be sent to the old one.
  const previous = state.session;
  closeAll();
  state.loadToken += 1;
  state.session = null;
  updateComposer();
  try {
    const session = await api("POST", "/sessions", { name: team.name, team_id: team.id });
    state.sessions.unshift(session);
    await selectSession(session.id);
    els.sidebar.classList.remove("open");
  } catch (err) {
    if (previous) await selectSession(previous.id);
    els.note.textContent = `Could not create the session: ${err.message}`;
  }
});

// Rename inline: the title becomes a field; Enter saves, Escape cancels.
function resetRename() {
  const input = document.querySelector(".rename-input");
  if (input) input.remove();
  els.title.hidden = false;
  els.rename.hidden = false;
}

els.rename.addEventListener("click", () => {
  const session = state.session;
  if (!session) return;
  const input = h("input", { type: "text", class: "rename-input", value: session.name, "aria-label": "Session name", maxlength: 200 });
  els.title.hidden = true;
  els.rename.hidden = true;
  els.title.after(input);
  input.focus();
  input.select();
  input.addEventListener("keydown", async (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      resetRename();
      els.rename.focus();
    } else if (event.key === "Enter") {
      event.preventDefault();
      const name = input.value.trim();
      if (!name) return;
      try {
        const updated = await api("PATCH", `/sessions/${session.id}`, { name });
        Object.assign(session, updated);
        renderSessions();
        renderHead();
      } catch (err) {
        els.note.textContent = `Could not rename: ${err.message}`;
      }
      resetRename();
      els.rename.focus();
    }
  });
  input.addEventListener("blur", () => setTimeout(resetRename, 150));
});

// Delete needs a second click on the same button (no modal dialogs).
function resetDelete() {
  els.del.textContent = "Delete";
  delete els.del.dataset.confirm;
}

els.del.addEventListener("click", async () => {
  const session = state.session;
  if (!session) return;
  if (!els.del.dataset.confirm) {
    els.del.dataset.confirm = "1";
    els.del.textContent = "Click again to delete";
    setTimeout(resetDelete, 4000);
    return;
  }
  resetDelete();
  try {
    await api("DELETE", `/sessions/${session.id}`);
  } catch (err) {
    els.note.textContent = `Could not delete: ${err.message}`;
    return;
  }
  closeAll();
  state.sessions = state.sessions.filter((s) => s.id !== session.id);
  state.session = null;
  renderSessions();
  if (state.sessions.length) await selectSession(state.sessions[0].id);
  else {
    history.replaceState(null, "", "/");
    renderHead();
    clear(els.empty).append(h("p", {}, "Session deleted. Start a new one from a team."));
    els.empty.hidden = false;
    updateComposer();
  }
});

els.sidebarToggle.addEventListener("click", () => {
  const open = els.sidebar.classList.toggle("open");
  els.sidebarToggle.setAttribute("aria-expanded", String(open));
});

// ------------------------------------------------------------------ start

// Without a model key on the server only the scripted teams can run, so a newcomer starts on one.
const modelKeyConfigured = document.querySelector(".pg").dataset.modelKey === "true";

async function init() {
  try {
    [state.teams, state.sessions] = await Promise.all([apiAll("/teams"), apiAll("/sessions")]);
  } catch (err) {
    clear(els.empty).append(h("p", { class: "banner error", role: "alert" }, `Could not load: ${err.message}`));
    clear(els.sessionList);
    return;
  }
  clear(els.teamSelect);
  if (!state.teams.length) {
    els.teamSelect.append(h("option", { value: "" }, "No teams: add one on the Teams page"));
  }
  for (const team of state.teams) {
    els.teamSelect.append(h("option", { value: team.id }, team.shared && !team.editable ? `${team.name} (shared by ${team.owner})` : team.name));
  }
  const params = new URLSearchParams(window.location.search);
  const wanted = Number(params.get("session"));
  const wantedTeam = Number(params.get("team"));
  if (wantedTeam && state.teams.some((t) => t.id === wantedTeam)) {
    els.teamSelect.value = String(wantedTeam);
    const version = Number(params.get("version"));
    if (version) state.wantedVersion = { team: wantedTeam, number: version };
  }
  else if (!modelKeyConfigured) {
    const offline = state.teams.find(isOffline);
    if (offline) els.teamSelect.value = String(offline.id);
  }
  renderSessions();
  if (wanted && state.sessions.some((s) => s.id === wanted)) await selectSession(wanted);
  else if (state.sessions.length && !wantedTeam) await selectSession(state.sessions[0].id);
  else {
    clear(els.empty).append(h("p", {}, state.teams.length ? "Pick a team on the left and press New session." : "Add a team on the Teams page first."));
    updateComposer();
  }
}

init();
