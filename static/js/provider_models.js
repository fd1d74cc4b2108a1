// The user's stored providers (GET /api/providers) and each one's model list, fetched once per page.
import { api } from "./api.js";

let providers = null;
const lists = new Map(); // provider name -> Promise of its model ids

/** Every provider the user may use (theirs and the shared ones); [] when they cannot be listed. */
export function storedProviders() {
  if (!providers) providers = api("GET", "/providers").catch(() => []);
  return providers;
}

/** The model ids a provider lists (GET /api/providers/{id}/models); a failure is not kept, so the next call asks again. */
export function modelsOf(name) {
  if (!lists.has(name)) {
    const list = storedProviders().then((all) => {
      const provider = all.find((p) => p.name === name);
      if (!provider) throw new Error(`you have no provider named ${name}`);
      return api("GET", `/providers/${provider.id}/models`).then((answer) => answer.models);
    });
    list.catch(() => lists.delete(name));
    lists.set(name, list);
  }
  return lists.get(name);
}
