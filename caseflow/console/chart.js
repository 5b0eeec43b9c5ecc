// A bar chart drawn as inline SVG (no library): one bar per week, the percentage on it.

import { el } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// bars: [{label, value (0-100 or null), note}]; `title` names the chart for screen readers.
export function barChart(bars, { title, target = null } = {}) {
  const width = 720, height = 240, left = 40, bottom = 36, top = 16;
  const step = (width - left) / Math.max(bars.length, 1);
  const y = (v) => top + (height - top - bottom) * (1 - v / 100);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart", "aria-label": title },
    svg("title", {}, title));
  for (const tick of [0, 50, 100]) {
    chart.append(svg("line", { x1: left, x2: width, y1: y(tick), y2: y(tick), class: "grid" }),
      svg("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end", class: "axis" }, `${tick}%`));
  }
  if (target !== null) chart.append(svg("line", { x1: left, x2: width, y1: y(target), y2: y(target), class: "target" }));
  bars.forEach((bar, i) => {
    const x = left + i * step + step * 0.15;
    const w = step * 0.7;
    if (bar.value !== null && bar.value !== undefined) {
      chart.append(svg("rect", { x, y: y(bar.value), width: w, height: y(0) - y(bar.value),
        class: bar.value >= (target ?? 0) ? "bar" : "bar low" }, svg("title", {}, `${bar.label}: ${bar.value}% ${bar.note || ""}`)),
      svg("text", { x: x + w / 2, y: y(bar.value) - 4, "text-anchor": "middle", class: "value" }, `${Math.round(bar.value)}`));
    } else {
      chart.append(svg("text", { x: x + w / 2, y: y(0) - 4, "text-anchor": "middle", class: "axis" }, "–"));
    }
    chart.append(svg("text", { x: x + w / 2, y: height - bottom + 16, "text-anchor": "middle", class: "axis" }, bar.label));
  });
  return el("figure", { class: "chart-box" }, chart);
}
