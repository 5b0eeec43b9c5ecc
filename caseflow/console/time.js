// Times as people here read them: Asia/Shanghai whatever the browser's zone, and live
// countdowns to deadlines.

import { language, t } from "./i18n.js";

export const ZONE = "Asia/Shanghai";
const OFFSET = "+08:00"; // Asia/Shanghai has had no daylight saving time since 1991

function formatter(options) {
  return new Intl.DateTimeFormat(language() === "en" ? "en-GB" : "zh-CN", { timeZone: ZONE, ...options });
}

export function when(iso) {
  if (!iso) return "";
  return formatter({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false })
    .format(new Date(iso));
}

export function day(iso) {
  if (!iso) return "";
  return formatter({ month: "2-digit", day: "2-digit" }).format(new Date(iso));
}

// The local (Shanghai) date of an instant, YYYY-MM-DD.
export function localDate(date = new Date()) {
  const parts = Object.fromEntries(formatter({ year: "numeric", month: "2-digit", day: "2-digit" })
    .formatToParts(date).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// The value of an <input type="datetime-local"> for an instant, in Shanghai time.
export function localInput(date = new Date()) {
  const shifted = new Date(date.getTime() + 8 * 3600 * 1000);
  return shifted.toISOString().slice(0, 16);
}

// What the API takes from a datetime-local value: ISO 8601 with the Shanghai offset.
export function fromInput(value) {
  if (!value) return undefined;
  return (value.length === 16 ? value + ":00" : value) + OFFSET;
}

export function duration(seconds) {
  const s = Math.abs(Math.round(seconds));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const u = (key) => t(`unit.${key}`);
  if (d) return `${d}${u("d")}${h}${u("h")}`;
  if (h) return `${h}${u("h")}${String(m).padStart(2, "0")}${u("m")}`;
  if (m) return `${m}${u("m")}${String(s % 60).padStart(2, "0")}${u("s")}`;
  return `${s % 60}${u("s")}`;
}

export function left(iso, now = Date.now()) {
  const seconds = (new Date(iso).getTime() - now) / 1000;
  return seconds < 0 ? t("left.overdue", { t: duration(seconds) }) : t("left.remaining", { t: duration(seconds) });
}

// A <time> that counts down to `iso` every second (and turns red once overdue).
export function countdown(iso) {
  const node = document.createElement("time");
  node.className = "countdown";
  node.dateTime = iso;
  node.dataset.due = iso;
  tick(node);
  return node;
}

function tick(node) {
  const due = new Date(node.dataset.due).getTime();
  node.textContent = left(node.dataset.due);
  node.classList.toggle("overdue", due < Date.now());
  node.classList.toggle("soon", due >= Date.now() && due - Date.now() < 3600 * 1000);
}

setInterval(() => document.querySelectorAll("time.countdown").forEach(tick), 1000);
