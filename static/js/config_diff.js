// A config diff (the API's `changes`: path, change, old, new) as a side-by-side table:
// one row per changed field, the old value left, the new one right. Used by the team versions
// panel and the compare page.
import { h } from "./dom.js";

const LABEL = { added: "added", removed: "removed", changed: "changed", reordered: "reordered" };

function valueCell(value, absent) {
  if (absent) return h("td", { class: "diff-absent" }, h("span", { class: "muted" }, "—"));
  if (typeof value === "string") return h("td", {}, h("pre", { class: "diff-value" }, value));
  return h("td", {}, h("pre", { class: "diff-value" }, JSON.stringify(value, null, 2)));
}

export function changeTable(changes, leftLabel, rightLabel) {
  const rows = changes.map((c) =>
    h(
      "tr",
      { class: `diff-${c.change}`, "data-path": c.path },
      h("th", { scope: "row" }, h("code", {}, c.path || "(whole config)"), h("span", { class: "tag", style: "margin-left:6px" }, LABEL[c.change] || c.change)),
      valueCell(c.old, c.change === "added"),
      valueCell(c.new, c.change === "removed"),
    ),
  );
  return h(
    "table",
    { class: "list diff-table" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Field"), h("th", { scope: "col" }, leftLabel), h("th", { scope: "col" }, rightLabel))),
    h("tbody", {}, rows),
  );
}
