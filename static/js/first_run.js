// The playground's first-run banner (shown when there is no provider and no server key): run an
// offline team at once, or add a provider, prefilled with a local Ollama when one answers.
import { api, apiAll } from "./api.js";
import { isOffline } from "./offline.js";

const offline = document.getElementById("first-run-offline");
const add = document.getElementById("first-run-add");
const ollama = document.getElementById("first-run-ollama");

offline.addEventListener("click", async () => {
  offline.disabled = true;
  try {
    const team = (await apiAll("/teams")).find(isOffline);
    if (!team) {
      offline.textContent = "No offline team: add one from the gallery on the Teams page";
      return;
    }
    // The playground's own "New session" form starts it, as if the team had been picked by hand.
    const select = document.getElementById("team-select");
    select.value = String(team.id);
    document.getElementById("new-session").requestSubmit();
    document.getElementById("first-run").hidden = true;
  } catch (err) {
    offline.textContent = `Could not load the teams: ${err.message}`;
  } finally {
    offline.disabled = false;
  }
});

(async () => {
  try {
    const found = await api("GET", "/providers/ollama");
    if (!found.base_url) return;
    const query = new URLSearchParams({ kind: "openai_compatible", name: "ollama", base_url: found.base_url });
    add.href = `/providers/?${query}`;
    add.textContent = "Add your local Ollama";
    ollama.textContent = `Ollama answers at ${found.base_url}.`;
  } catch (err) {
    // No hint then: the plain "Add a provider" link stays.
  }
})();
