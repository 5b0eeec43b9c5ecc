// The SLA report (SLA 达成报表): how the commitments of the cases opened in a period were kept,
// met on time by case kind, severity, hospital and commitment (charts and tables), the mean
// time to restore, escalations by level, every row in detail, and the rows as CSV; the reports
// of adverse events to their regulators by jurisdiction and event type, and those as CSV.

import { call, explain, get } from "../api.js";
import { barChart } from "../chart.js";
import { el, message, section, table } from "../dom.js";
import { commitmentName, jurisdictionName } from "../events.js";
import { t, word } from "../i18n.js";
import { localDate } from "../time.js";

const KINDS = ["repair", "complaint", "emergency", "installation", "maintenance", "adverse_event"];
const SEVERITIES = ["critical", "severe", "general", "minor"];
const LEVELS = [1, 2, 3];
const TARGET = 90; // the line the board's weekly chart draws too
const DAY = /^\d{4}-\d{2}-\d{2}$/;

// YYYY-MM-DD `days` later (calendar days: no time zone involved).
function shift(day, days) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

const pct = (value) => (value === null || value === undefined ? "–" : `${value}%`);
const num = (value) => (value === null || value === undefined ? "–" : String(value));

// #/sla/<first day>/<last day>/<hospital>/<kind>: the last day is inclusive (the API's `to` is
// the day after it); an empty hospital or kind is every one.
export async function render(page, [fromArg, lastArg, hospitalArg, kindArg]) {
  const last = DAY.test(lastArg || "") ? lastArg : localDate();
  const from = DAY.test(fromArg || "") ? fromArg : shift(last, -29);
  const hospitalId = hospitalArg || "";
  const kind = KINDS.includes(kindArg) ? kindArg : "";
  const params = { from, to: shift(last, 1), hospital_id: hospitalId, kind };
  const hospitals = await get("/v1/hospitals");
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));

  const field = (label, control) => el("div", { class: "field" }, el("label", { for: control.id }, label), control);
  const fromInput = el("input", { id: "sla-from", type: "date", value: from, required: true });
  const lastInput = el("input", { id: "sla-to", type: "date", value: last, required: true });
  const hospitalSelect = el("select", { id: "sla-hospital" },
    el("option", { value: "" }, t("intake.anyHospital")),
    hospitals.map((h) => el("option", { value: h.id, selected: h.id === hospitalId, translate: "no" }, h.name)));
  const kindSelect = el("select", { id: "sla-kind" },
    el("option", { value: "" }, t("sla.anyKind")),
    KINDS.map((k) => el("option", { value: k, selected: k === kind }, word(k))));
  const status = el("div", { "aria-live": "polite" });
  const form = el("form", { class: "filters card", id: "sla-form", onsubmit: (event) => {
    event.preventDefault();
    const parts = [fromInput.value, lastInput.value, hospitalSelect.value, kindSelect.value];
    location.hash = `#/sla/${parts.map(encodeURIComponent).join("/")}`;
  } },
  el("div", { class: "grid" },
    field(t("sla.from"), fromInput), field(t("sla.to"), lastInput),
    field(t("col.hospital"), hospitalSelect), field(t("sla.kind"), kindSelect)),
  el("div", { class: "buttons" },
    el("button", { type: "submit" }, t("sla.show")),
    el("button", { type: "button", class: "secondary download", id: "sla-csv", onclick: () => downloadCsv(params, status) },
      t("sla.csv")),
    el("button", { type: "button", class: "secondary download", id: "sla-regulatory-csv",
      onclick: () => downloadCsv({ ...params, section: "regulatory" }, status) }, t("sla.regCsv"))));
  page.append(el("div", { class: "page-head" }, el("h1", {}, t("sla.title"))), form, status);

  if (from > last) {
    status.replaceChildren(message("error", t("sla.badPeriod")));
    return;
  }
  let report;
  try {
    report = await get("/v1/reports/sla", params);
  } catch (error) {
    status.replaceChildren(message("error", explain(error)));
    return;
  }
  draw(page, report, names);
}

// Sums of rows grouped by `keyOf`: the counts add up; met % is the formula of the sums (never
// an average of percentages), as the API computes it for one row.
function tally(rows, keyOf) {
  const groups = new Map();
  for (const row of rows) {
    const key = keyOf(row);
    const g = groups.get(key) || { key, row, cases: 0, rounds: 0, met: 0, met_late: 0,
      breached_open: 0, open: 0, waived: 0, levels: { 1: 0, 2: 0, 3: 0 } };
    for (const name of ["cases", "rounds", "met", "met_late", "breached_open", "open", "waived"]) g[name] += row[name];
    for (const [level, count] of Object.entries(row.escalations_by_level || {})) g.levels[level] = (g.levels[level] || 0) + count;
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => {
    const decided = g.met + g.met_late + g.breached_open;
    return { ...g, decided, met_percent: decided ? Math.round(1000 * g.met / decided) / 10 : null };
  });
}

function draw(page, report, names) {
  const rows = report.rows;
  const all = tally(rows, () => "all")[0];
  const escalations = all ? LEVELS.reduce((sum, level) => sum + (all.levels[level] || 0), 0) : 0;
  page.append(
    el("div", { class: "counters", id: "sla-counters" },
      counter(t("sla.cases"), report.cases, "open"),
      counter(t("sla.metPct"), all ? pct(all.met_percent) : "–", "met"),
      counter(t("sla.breachedOpen"), all ? all.breached_open : 0, "breached"),
      counter(t("sla.escalations"), escalations, "escalated")),
    el("p", { class: "hint" }, t("sla.note")));
  if (!rows.length) {
    page.append(message("info", t("sla.empty")));
    return;
  }
  const regulatoryPart = report.regulatory?.length ? regulatory(report.regulatory) : null;
  const severityName = (s) => (s ? word(s) : t("sla.noSeverity"));
  const bySeverity = tally(rows, (r) => r.severity || "")
    .sort((a, b) => rank(SEVERITIES, a.key) - rank(SEVERITIES, b.key));
  const byKind = tally(rows, (r) => r.kind).sort((a, b) => rank(KINDS, a.key) - rank(KINDS, b.key));
  const byHospital = tally(rows, (r) => r.hospital_id)
    .sort((a, b) => String(names[a.key] || a.key).localeCompare(String(names[b.key] || b.key)));
  const byCommitment = tally(rows, (r) => `${r.kind}/${r.commitment}`)
    .sort((a, b) => rank(KINDS, a.row.kind) - rank(KINDS, b.row.kind) || b.decided - a.decided);
  const hospitalName = (id) => el("span", { translate: "no" }, names[id] || id);
  const commitmentOf = (g) => `${word(g.row.kind)} · ${commitmentName(g.row.commitment)}`;

  page.append(
    group("kind", t("sla.byKind"), byKind, (g) => word(g.key)),
    group("severity", t("sla.bySeverity"), bySeverity, (g) => severityName(g.key)),
    group("hospital", t("sla.byHospital"), byHospital, (g) => hospitalName(g.key),
      (g) => names[g.key] || g.key),
    group("commitment", t("sla.byCommitment"), byCommitment, commitmentOf, null, true,
      (g) => commitmentName(g.row.commitment)),
    mttr(report.mean_hours_to_restore),
    levels(all, byKind),
    section(t("sla.details"), el("details", { id: "sla-details" }, el("summary", {}, t("rel.table")), table([
      { label: t("col.kind"), cell: (r) => word(r.kind) },
      { label: t("col.severity"), cell: (r) => severityName(r.severity) },
      { label: t("col.hospital"), cell: (r) => hospitalName(r.hospital_id) },
      { label: t("col.commitment"), cell: (r) => commitmentName(r.commitment) },
      { label: t("sla.cases"), cell: (r) => r.cases },
      { label: t("sla.rounds"), cell: (r) => r.rounds },
      { label: t("col.onTime"), cell: (r) => r.met },
      { label: t("col.metLate"), cell: (r) => r.met_late },
      { label: t("sla.breachedOpen"), cell: (r) => r.breached_open },
      { label: t("col.open"), cell: (r) => r.open },
      { label: t("col.waived"), cell: (r) => r.waived },
      { label: t("sla.metPct"), cell: (r) => pct(r.met_percent) },
      { label: t("sla.median"), cell: (r) => num(r.median_minutes_to_meet) },
      { label: t("sla.p90"), cell: (r) => num(r.p90_minutes_to_meet) },
      ...LEVELS.map((level) => ({ label: t("board.level", { level }), cell: (r) => (r.escalations_by_level || {})[level] || 0 })),
    ], rows))));
  if (regulatoryPart) page.append(regulatoryPart);
}

// The regulatory section: reports to regulators on time / late / overdue per jurisdiction (a
// chart of on time of decided) and per jurisdiction, event type and report (a table).
function regulatory(rows) {
  const byJurisdiction = tally(rows.map((r) => ({ ...r, cases: r.events, rounds: r.reports, waived: 0 })), (r) => r.jurisdiction);
  const reportName = (r) => (r.report === "initial" ? t("sla.initial") : word(r.report));
  return el("div", { class: "sla-group", "data-group": "regulatory", id: "sla-regulatory" }, section(t("sla.regulatory"),
    el("p", { class: "hint" }, t("sla.regNote")),
    barChart(byJurisdiction.filter((g) => g.decided).map((g) => ({ label: jurisdictionName(g.key), value: g.met_percent,
      note: `${g.met}/${g.decided}` })), { title: t("sla.regulatory"), target: TARGET }),
    table([
      { label: t("sla.jurisdiction"), cell: (r) => jurisdictionName(r.jurisdiction) },
      { label: word("event_type"), cell: (r) => word(r.event_type) },
      { label: t("sla.report"), cell: reportName },
      { label: t("sla.events"), cell: (r) => r.events },
      { label: t("sla.reports"), cell: (r) => r.reports },
      { label: t("sla.regOnTime"), cell: (r) => r.met },
      { label: t("sla.regLate"), cell: (r) => r.met_late },
      { label: t("sla.regOverdue"), cell: (r) => el("span", { class: "reg-overdue", "data-key": `${r.jurisdiction}/${r.event_type}/${r.report}` }, String(r.breached_open)) },
      { label: t("sla.regOpen"), cell: (r) => r.open },
      { label: t("sla.metPct"), cell: (r) => el("span", { class: "met-percent", "data-key": `${r.jurisdiction}/${r.event_type}/${r.report}` }, pct(r.met_percent)) },
    ], rows)));
}

function rank(order, value) {
  const found = order.indexOf(value);
  return found < 0 ? order.length : found;
}

function counter(label, value, kind) {
  return el("div", { class: `counter ${kind}` }, el("span", { class: "value" }, String(value)), el("span", { class: "label" }, label));
}

// One grouping: met on time as a chart (the 90% line; the groups with something decided), and
// the counts in a table. `named`: the chart's label is a name people gave (a hospital's), not
// our words; `short`: a shorter label for the chart than the table's.
function group(name, title, groups, label, named = null, withCases = false, short = null) {
  const chartLabel = (g) => {
    if (named) return named(g);
    if (short) return short(g);
    const shown = label(g);
    return typeof shown === "string" ? shown : shown.textContent;
  };
  return el("div", { class: "sla-group", "data-group": name }, section(title,
    barChart(groups.filter((g) => g.decided).map((g) => ({ label: chartLabel(g), value: g.met_percent,
      named: Boolean(named), note: `${g.met}/${g.decided}` })), { title, target: TARGET }),
    table([
      { label: t("sla.group"), cell: label },
      withCases ? { label: t("sla.cases"), cell: (g) => g.cases } : null,
      { label: t("sla.decided"), cell: (g) => g.decided },
      { label: t("col.onTime"), cell: (g) => g.met },
      { label: t("col.metLate"), cell: (g) => g.met_late },
      { label: t("sla.breachedOpen"), cell: (g) => g.breached_open },
      { label: t("col.open"), cell: (g) => g.open },
      { label: t("sla.metPct"), cell: (g) => el("span", { class: "met-percent", "data-key": g.key }, pct(g.met_percent)) },
      ...LEVELS.map((level) => ({ label: t("board.level", { level }), cell: (g) => g.levels[level] || 0 })),
    ].filter(Boolean), groups)));
}

// Mean time to restore of the repairs restored, by severity, in hours.
function mttr(hours) {
  const entries = Object.entries(hours || {}).sort((a, b) => rank(SEVERITIES, a[0]) - rank(SEVERITIES, b[0]));
  const name = (s) => (s === "unclassified" ? t("board.unclassified") : word(s));
  const top = Math.max(0, ...entries.map(([, h]) => h));
  return el("div", { class: "sla-group", "data-group": "mttr" }, section(t("sla.mttr"),
    entries.length ? barChart(entries.map(([s, h]) => ({ label: name(s), value: h })),
      { title: t("sla.mttr"), max: top, unit: t("sla.hours") }) : null,
    table([
      { label: t("col.severity"), cell: ([s]) => name(s) },
      { label: t("sla.mttrHours"), cell: ([s, h]) => el("span", { class: "mttr", "data-severity": s }, String(h)) },
    ], entries)));
}

// Escalations raised by level (1: supervisor, 2: manager, 3: director by default), each kind.
function levels(all, byKind) {
  const counts = LEVELS.map((level) => (all ? all.levels[level] || 0 : 0));
  return el("div", { class: "sla-group", "data-group": "levels" }, section(t("sla.byLevel"),
    barChart(LEVELS.map((level, i) => ({ label: t("board.level", { level }), value: counts[i] })),
      { title: t("sla.byLevel"), max: Math.max(...counts), unit: "" }),
    table([
      { label: t("col.kind"), cell: (g) => word(g.key) },
      ...LEVELS.map((level) => ({ label: t("board.level", { level }),
        cell: (g) => el("span", { class: "level-count", "data-level": level }, String(g.levels[level] || 0)) })),
    ], byKind)));
}

// The rows as CSV (GET /v1/reports/sla.csv with the page's parameters), fetched with the
// sign-in's token and saved from the browser.
async function downloadCsv(params, status) {
  try {
    const response = await call("GET", "/v1/reports/sla.csv", { params, raw: true });
    const url = URL.createObjectURL(await response.blob());
    const name = params.section === "regulatory" ? "sla-regulatory" : "sla";
    const link = el("a", { href: url, download: `${name}-${params.from}-${params.to}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (error) {
    status.replaceChildren(message("error", explain(error)));
  }
}
