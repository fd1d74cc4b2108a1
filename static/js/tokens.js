// /tokens/: create (secret shown once), list and revoke API tokens.
import { api, apiAll } from "./api.js";
import { clear, formatTime, h } from "./dom.js";

const rows = document.getElementById("token-rows");
const form = document.getElementById("token-form");
const nameField = document.getElementById("token-name");
const error = document.getElementById("token-error");
const created = document.getElementById("token-created");
const secret = document.getElementById("token-secret");

async function load() {
  let tokens;
  try {
    tokens = await apiAll("/tokens");
  } catch (err) {
    clear(rows).append(h("tr", {}, h("td", { colspan: 6, class: "field-error" }, `Could not load tokens: ${err.message}`)));
    return;
  }
  clear(rows);
  if (!tokens.length) rows.append(h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No tokens yet.")));
  for (const token of tokens) {
    const revoke = h("button", { type: "button", class: "danger", disabled: token.revoked, "aria-label": `Revoke ${token.name}` }, "Revoke");
    revoke.addEventListener("click", async () => {
      if (!revoke.dataset.confirm) {
        revoke.dataset.confirm = "1";
        revoke.textContent = "Click again to revoke";
        return;
      }
      try {
        await api("DELETE", `/tokens/${token.id}`);
        load();
      } catch (err) {
        error.textContent = `Could not revoke: ${err.message}`;
      }
    });
    rows.append(
      h(
        "tr",
        { "data-token-id": token.id },
        h("td", {}, token.name),
        h("td", {}, h("code", {}, `${token.prefix}…`)),
        h("td", {}, formatTime(token.created_at)),
        h("td", {}, token.last_used_at ? formatTime(token.last_used_at) : "never"),
        h("td", {}, token.revoked ? h("span", { class: "badge badge-error" }, "revoked") : h("span", { class: "badge badge-complete" }, "active")),
        h("td", {}, revoke),
      ),
    );
  }
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.textContent = "";
  try {
    const token = await api("POST", "/tokens", { name: nameField.value.trim() });
    secret.textContent = token.token;
    created.hidden = false;
    nameField.value = "";
    load();
  } catch (err) {
    error.textContent = err.errors && err.errors.length ? err.errors.map((e) => `${e.path}: ${e.message}`).join("; ") : err.message;
  }
});

document.getElementById("token-copy").addEventListener("click", async (event) => {
  try {
    await navigator.clipboard.writeText(secret.textContent);
    event.target.textContent = "Copied";
  } catch (err) {
    event.target.textContent = "Select the text and copy it";
  }
});

load();
