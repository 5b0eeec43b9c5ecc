// A bar chart drawn as inline SVG (no library): one bar per week (or group), its value on it;
// percentages by default, or any count or hours up to `max`.

import { el } from "./dom.js";

const NS = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// bars: [{label, value (0-100 or null), note, named}]; `title` names the chart for screen
// readers; `max` and `unit` scale it for counts or hours (the top rounded up to a nice number);
// a bar `named` carries a name people gave (a hospital's), marked translate="no".
export function barChart(bars, { title, target = null, max = null, unit = "%" } = {}) {
  const width = 720, height = 240, left = 40, bottom = 36, top = 16;
  const step = (width - left) / Math.max(bars.length, 1);
  const top100 = max === null ? 100 : nice(Math.max(max, 2));
  const y = (v) => top + (height - top - bottom) * (1 - v / top100);
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", class: "chart", "aria-label": title },
    svg("title", {}, title));
  for (const tick of [0, top100 / 2, top100]) {
    chart.append(svg("line", { x1: left, x2: width, y1: y(tick), y2: y(tick), class: "grid" }),
      svg("text", { x: left - 6, y: y(tick) + 4, "text-anchor": "end", class: "axis" }, `${tick}${unit}`));
  }
  if (target !== null) chart.append(svg("line", { x1: left, x2: width, y1: y(target), y2: y(target), class: "target" }));
  bars.forEach((bar, i) => {
    const x = left + i * step + step * 0.15;
    const w = step * 0.7;
    if (bar.value !== null && bar.value !== undefined) {
      chart.append(svg("rect", { x, y: y(bar.value), width: w, height: y(0) - y(bar.value),
        class: bar.value >= (target ?? 0) ? "bar" : "bar low" }, svg("title", bar.named ? { translate: "no" } : {},
          `${bar.label}: ${bar.value}${unit} ${bar.note || ""}`)),
      svg("text", { x: x + w / 2, y: y(bar.value) - 4, "text-anchor": "middle", class: "value" },
        unit === "%" || Number.isInteger(bar.value) ? `${Math.round(bar.value)}` : bar.value.toFixed(1)));
    } else {
      chart.append(svg("text", { x: x + w / 2, y: y(0) - 4, "text-anchor": "middle", class: "axis" }, "–"));
    }
    chart.append(svg("text", { x: x + w / 2, y: height - bottom + 16, "text-anchor": "middle", class: "axis",
      ...(bar.named ? { translate: "no" } : {}) }, shortened(String(bar.label), step)));
  });
  return el("figure", { class: "chart-box" }, chart);
}

// A label cut to about `width` (12 px text: a Chinese character 12 wide, others about 7).
function shortened(label, width) {
  const wide = (text) => [...text].reduce((sum, c) => sum + (/[\u2e80-\uffff]/.test(c) ? 12 : 7), 0);
  if (wide(label) <= width) return label;
  let cut = [...label];
  while (cut.length > 1 && wide(cut.join("")) + 12 > width) cut = cut.slice(0, -1);
  return `${cut.join("")}…`;
}

// 1, 2 or 5 times a power of ten, at or above `value`: the top of a chart's scale.
function nice(value) {
  const power = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((m) => m * power).find((n) => n >= value);
}
