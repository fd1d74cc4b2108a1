// /usage/: tokens and cost per day over the last 30 days (SVG drawn here, no library), per team and
// per model, and this month's budget. Data: GET /api/usage?days=30.
import { api } from "./api.js";
import { clear, formatCost, h } from "./dom.js";

const SVG = "http://www.w3.org/2000/svg";
const W = 720;
const H = 180;
const PAD = { left: 56, right: 8, top: 10, bottom: 26 };

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** Bars per day; `series` = [{key, label, className}] stacked in that order. */
export function barChart(days, series, { title, format }) {
  const totals = days.map((d) => series.reduce((sum, s) => sum + (d[s.key] || 0), 0));
  const max = Math.max(...totals, 0) || 1;
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / days.length;
  const chart = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": title, class: "chart" });
  chart.append(svg("title", {}, title));
  for (const fraction of [0, 0.5, 1]) {
    const y = PAD.top + plotH * (1 - fraction);
    chart.append(svg("line", { x1: PAD.left, x2: W - PAD.right, y1: y, y2: y, class: "grid" }));
    chart.append(svg("text", { x: PAD.left - 6, y: y + 4, "text-anchor": "end", class: "axis" }, format(max * fraction)));
  }
  days.forEach((day, i) => {
    let y = PAD.top + plotH;
    const x = PAD.left + i * step + step * 0.15;
    const group = svg("g", { class: "day", "data-date": day.date });
    const label = series.map((s) => `${s.label} ${format(day[s.key] || 0)}`).join(", ");
    group.append(svg("title", {}, `${day.date}: ${label}`));
    for (const s of series) {
      const height = (plotH * (day[s.key] || 0)) / max;
      if (height <= 0) continue;
      y -= height;
      group.append(svg("rect", { x, y, width: step * 0.7, height, class: s.className }));
    }
    chart.append(group);
    if (i % 5 === 0 || i === days.length - 1) {
      chart.append(svg("text", { x: x + step * 0.35, y: H - 8, "text-anchor": "middle", class: "axis" }, day.date.slice(5)));
    }
  });
  const legend = h("p", { class: "legend small muted" }, series.map((s) => h("span", { class: `key ${s.className}` }, s.label)));
  return h("figure", { class: "chart-figure" }, chart, h("figcaption", {}, title), legend);
}

function tokens(n) {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

function table(rows, nameKey, nameLabel) {
  if (!rows.length) return h("p", { class: "muted" }, "No model calls in this period.");
  return h(
    "table",
    { class: "list" },
    h("thead", {}, h("tr", {}, [nameLabel, "Calls", "Input tokens", "Output tokens", "Cached", "Cost"].map((t) => h("th", { scope: "col" }, t)))),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h("tr", {}, h("td", {}, r[nameKey] || "—"), h("td", {}, r.calls), h("td", {}, tokens(r.input_tokens)), h("td", {}, tokens(r.output_tokens)), h("td", {}, tokens(r.cached_tokens)), h("td", {}, formatCost(r.cost))),
      ),
    ),
  );
}

function budgetLine(budget) {
  const spent = formatCost(budget.spent) || "$0";
  if (budget.limit === null) return `This month: ${spent} spent; no monthly budget.`;
  const left = Math.max(0, budget.limit - budget.spent);
  return `This month: ${spent} of your $${budget.limit.toFixed(2)} budget spent, ${formatCost(left) || "$0"} left (resets ${budget.resets_on}).`;
}

async function init() {
  const root = document.getElementById("usage");
  let report;
  try {
    report = await api("GET", "/usage?days=30");
  } catch (err) {
    clear(root).append(h("p", { class: "banner error", role: "alert" }, `Could not load your usage: ${err.message}`));
    return;
  }
  const t = report.totals;
  clear(root).append(
    h("p", { "data-testid": "budget" }, budgetLine(report.budget)),
    h("p", { class: "muted", "data-testid": "usage-totals" }, `Last 30 days: ${t.calls} model calls, ${tokens(t.input_tokens)} input and ${tokens(t.output_tokens)} output tokens, ${formatCost(t.cost) || "$0"}.`),
    barChart(report.days, [{ key: "input_tokens", label: "input", className: "s-input" }, { key: "output_tokens", label: "output", className: "s-output" }], { title: "Tokens per day", format: tokens }),
    barChart(report.days, [{ key: "cost", label: "cost", className: "s-cost" }], { title: "Cost per day (US dollars)", format: (v) => formatCost(v) || "$0" }),
    h("h2", {}, "By team"),
    table(report.teams, "team", "Team"),
    h("h2", {}, "By model"),
    table(report.models, "model", "Model"),
  );
}

init();
