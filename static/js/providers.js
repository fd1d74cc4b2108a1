// /providers/: add, test, list the models of, and delete model providers. The key is write-only.
import { api } from "./api.js";
import { clear, h } from "./dom.js";

const rows = document.getElementById("provider-rows");
const form = document.getElementById("provider-form");
const error = document.getElementById("provider-error");
const result = document.getElementById("provider-result");
const kind = document.getElementById("provider-kind");
const fields = {
  name: document.getElementById("provider-name"),
  base_url: document.getElementById("provider-url"),
  api_version: document.getElementById("provider-version"),
  api_key: document.getElementById("provider-key"),
};

function showKind() {
  const azure = kind.value === "azure_openai";
  document.getElementById("provider-version-field").hidden = !azure;
  document.getElementById("provider-url-label").textContent = azure ? "Azure endpoint" : kind.value === "openai" ? "Base URL (empty: OpenAI's own)" : "Base URL";
  fields.base_url.required = kind.value !== "openai";
}

function say(text, ok) {
  result.hidden = false;
  result.className = `banner ${ok ? "ok" : "error"}`;
  clear(result).append(text);
}

function errorText(err) {
  return err.errors && err.errors.length ? err.errors.map((e) => `${e.path}: ${e.message}`).join("; ") : err.message;
}

async function test(provider) {
  say(`Testing ${provider.name}…`, true);
  try {
    const answer = await api("POST", `/providers/${provider.id}/test`, {});
    const detail = answer.ok ? answer.detail : `${answer.error_kind}: ${answer.detail}`;
    say(`${provider.name}: ${detail}`, answer.ok);
    if (answer.ok && answer.models.length) showModels(provider, answer.models);
  } catch (err) {
    say(`${provider.name}: ${errorText(err)}`, false);
  }
}

function showModels(provider, models) {
  const list = h("ul", { class: "model-list", "data-provider": provider.name }, ...models.map((m) => h("li", {}, h("code", {}, m))));
  result.append(h("p", {}, `Models of ${provider.name} (${models.length}):`), list);
}

async function listModels(provider) {
  try {
    const answer = await api("GET", `/providers/${provider.id}/models`);
    say("", true);
    showModels(provider, answer.models);
  } catch (err) {
    say(`${provider.name}: ${errorText(err)}`, false);
  }
}

function button(label, provider, onClick, attrs = {}) {
  const b = h("button", { type: "button", "aria-label": `${label} ${provider.name}`, ...attrs }, label);
  b.addEventListener("click", onClick);
  return b;
}

async function load() {
  let providers;
  try {
    providers = await api("GET", "/providers");
  } catch (err) {
    clear(rows).append(h("tr", {}, h("td", { colspan: 5, class: "field-error" }, `Could not load providers: ${err.message}`)));
    return;
  }
  clear(rows);
  if (!providers.length) rows.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No providers yet.")));
  for (const p of providers) {
    const remove = button("Delete", p, async () => {
      if (!remove.dataset.confirm) {
        remove.dataset.confirm = "1";
        remove.textContent = "Click again to delete";
        return;
      }
      try {
        await api("DELETE", `/providers/${p.id}`);
        load();
      } catch (err) {
        say(errorText(err), false);
      }
    }, { class: "danger", hidden: !p.mine });
    rows.append(
      h(
        "tr",
        { "data-provider-id": p.id },
        h("td", {}, p.name, p.shared ? h("span", { class: "badge" }, " shared") : ""),
        h("td", {}, p.kind),
        h("td", {}, h("code", {}, p.endpoint)),
        h("td", {}, p.has_key ? (p.key_last4 ? `…${p.key_last4}` : "set") : "none"),
        h("td", { class: "row" }, button("Test", p, () => test(p)), button("Models", p, () => listModels(p)), remove),
      ),
    );
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  const body = { name: fields.name.value.trim(), kind: kind.value, base_url: fields.base_url.value.trim(), api_key: fields.api_key.value };
  if (kind.value === "azure_openai") body.api_version = fields.api_version.value.trim();
  try {
    const provider = await api("POST", "/providers", body);
    form.reset();
    showKind();
    await load();
    test(provider);
  } catch (err) {
    error.textContent = errorText(err);
  }
});

kind.addEventListener("change", showKind);
// A link from the playground's first-run banner may prefill the form (?kind=&base_url=&name=).
const params = new URLSearchParams(window.location.search);
if (params.get("kind")) kind.value = params.get("kind");
if (params.get("base_url")) fields.base_url.value = params.get("base_url");
if (params.get("name")) fields.name.value = params.get("name");
showKind();
load();
