// The manager's board: open cases by severity and deadline, the commitments breached and at
// risk, the escalations, and SLA compliance by week.

import { get } from "../api.js";
import { badge, caseLink, dueCell } from "../cases.js";
import { barChart } from "../chart.js";
import { el, section, table } from "../dom.js";
import { commitmentName } from "../events.js";
import { keepLive } from "../live.js";
import { t, word } from "../i18n.js";
import { countdown, day, when } from "../time.js";

const SEVERITIES = ["critical", "severe", "general", "minor", null];
const TARGET = 90; // the line drawn across the chart, in percent on time

// #/board or #/board/<hospital_id>: everything, or one hospital's cases and compliance; drawn
// again whenever something is recorded on a case (a step, a warning, a breach).
export async function render(page, [hospitalId]) {
  await draw(page, hospitalId);
  keepLive(page, (box) => draw(box, hospitalId), (m) => m.type === "case" && (!hospitalId || m.hospital_id === hospitalId));
}

async function draw(page, hospitalId) {
  const [due, weeks, hospitals] = await Promise.all([
    get("/v1/cases/due", { within_hours: 24 * 90, limit: 500, hospital_id: hospitalId }),
    get("/v1/reports/sla/weekly", { weeks: 12, hospital_id: hospitalId }),
    get("/v1/hospitals"),
  ]);
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const cases = due.items;
  const commitments = cases.flatMap((c) => (c.commitments || []).map((k) => ({ case: c, ...k })));
  const breached = commitments.filter((k) => k.state === "breached");
  const atRisk = commitments.filter((k) => k.state === "open" && k.warned && !k.breached);
  const escalations = commitments.flatMap((k) => (k.fired || []).filter((f) => f.level >= 1)
    .map((f) => ({ ...f, case: k.case, key: k.key, round: k.round })))
    .sort((a, b) => String(b.fired_at).localeCompare(String(a.fired_at)));

  const scope = el("select", { id: "board-hospital", "aria-label": t("col.hospital"),
    onchange: (event) => { location.hash = `#/board/${encodeURIComponent(event.target.value)}`; } },
  el("option", { value: "" }, t("intake.anyHospital")),
  hospitals.map((h) => el("option", { value: h.id, selected: h.id === hospitalId, translate: "no" }, h.name)));
  page.append(
    el("div", { class: "page-head" }, el("h1", {}, t("board.title")), scope),
    el("div", { class: "counters" },
      counter(t("board.open"), cases.length, "open"),
      counter(t("board.breached"), breached.length, "breached"),
      counter(t("board.atRisk"), atRisk.length, "risk"),
      counter(t("board.escalations"), escalations.length, "escalated")),
    section(t("board.open"), board(cases, names)),
    section(t("board.breached"), commitmentList(breached, names, "breached")),
    section(t("board.atRisk"), commitmentList(atRisk, names, "at-risk")),
    section(t("board.escalations"), table([
      { label: t("col.case"), cell: (e) => caseLink(e.case.case_id) },
      { label: t("col.commitment"), cell: (e) => commitmentName(e.key, e.round) },
      { label: t("col.level"), cell: (e) => el("span", { class: `level level-${e.level}` }, t("board.level", { level: e.level })) },
      { label: t("col.who"), cell: (e) => word(e.notify) },
      { label: t("col.at"), cell: (e) => when(e.fired_at) },
    ], escalations)),
    section(t("board.chart"),
      barChart(weeks.map((w) => ({ label: day(w.week_from + "T12:00:00+08:00"), value: w.met_percent, note: t("board.cases", { n: w.cases }) })),
        { title: t("board.chart"), target: TARGET }),
      el("p", { class: "hint" }, t("board.chartNote")),
      el("details", {}, el("summary", {}, t("col.week")), table([
        { label: t("col.week"), cell: (w) => w.week_from },
        { label: word("cases"), cell: (w) => w.cases },
        { label: word("met"), cell: (w) => w.met },
        { label: word("met_late"), cell: (w) => w.met_late },
        { label: t("board.breached"), cell: (w) => w.breached_open },
        { label: t("col.percent"), cell: (w) => (w.met_percent === null ? "–" : `${w.met_percent}%`) },
      ], weeks))));
}

function counter(label, value, kind) {
  return el("div", { class: `counter ${kind}` }, el("span", { class: "value" }, String(value)), el("span", { class: "label" }, label));
}

function board(cases, names) {
  return el("div", { class: "board", id: "board" }, SEVERITIES.map((severity) => {
    const mine = cases.filter((c) => (c.severity || null) === severity);
    return el("section", { class: `column severity-${severity || "none"}`, "aria-label": severity ? word(severity) : t("board.unclassified") },
      el("h3", {}, severity ? word(severity) : t("board.unclassified"), el("span", { class: "count" }, ` ${mine.length}`)),
      el("ol", {}, mine.map((c) => el("li", { class: `card${c.breached ? " breached" : ""}`, "data-case": c.case_id },
        el("div", {}, caseLink(c.case_id), " ", badge(c.status)),
        el("p", { class: "title", translate: "no" }, c.title),
        el("p", { class: "meta" }, `${word(c.kind)} · `, el("span", { translate: "no" }, names[c.hospital_id] || c.hospital_id)),
        el("p", { class: "next" }, dueCell(c))))));
  }));
}

function commitmentList(items, names, kind) {
  return table([
    { label: t("col.case"), cell: (k) => caseLink(k.case.case_id) },
    { label: t("col.severity"), cell: (k) => badge(k.case.severity, "severity") },
    { label: t("col.hospital"), cell: (k) => el("span", { translate: "no" }, names[k.case.hospital_id] || k.case.hospital_id) },
    { label: t("col.commitment"), cell: (k) => commitmentName(k.key, k.round) },
    { label: t("col.due"), cell: (k) => when(k.due_at) },
    { label: t("col.left"), cell: (k) => (k.due_at ? countdown(k.due_at) : "") },
    { label: t("col.level"), cell: (k) => (k.escalation_level ? t("board.level", { level: k.escalation_level }) : "") },
  ], items.sort((a, b) => String(a.due_at).localeCompare(String(b.due_at))), { caption: null, empty: t("none") });
}
