// Whether a team runs with no model key: the playground preselects one, the first-run banner starts one.

/** True when every model in the team's config is the offline scripted one. */
export function isOffline(team) {
  const providers = [];
  const walk = (node) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === "object") {
      if (node.model && typeof node.model === "object") providers.push(node.model.provider);
      Object.values(node).forEach(walk);
    }
  };
  walk(team.config);
  return providers.length > 0 && providers.every((p) => p === "scripted");
}
