// Reliability (可靠性): a hospital's uptime guarantees live, uptime by month with the guarantee
// line, the figures per unit / model / brand / engineer, recurring faults, and the annual
// operation report made in the background with its progress, then downloaded as PDF or HTML.

import { call, get, post } from "../api.js";
import { equipmentLink } from "../cases.js";
import { barChart } from "../chart.js";
import { el, message, section, table } from "../dom.js";
import { t, word } from "../i18n.js";
import { localDate, when } from "../time.js";

const GROUPS = ["unit", "model", "brand", "engineer"];
const POLL_MS = 500;

const num = (value, digits = 1, suffix = "") =>
  (value === null || value === undefined ? "–" : `${Number(value).toFixed(digits)}${suffix}`);

// #/reliability/<hospital_id>/<year>/<group>
export async function render(page, [hospitalArg, yearArg, groupArg], me) {
  const hospitals = await get("/v1/hospitals");
  const thisYear = Number(localDate().slice(0, 4));
  const hospitalId = hospitalArg || (hospitals[0] && hospitals[0].id);
  const year = Number(yearArg) || thisYear;
  const by = GROUPS.includes(groupArg) ? groupArg : "unit";
  const go = (h, y, g) => { location.hash = `#/reliability/${encodeURIComponent(h)}/${y}/${g}`; };
  const period = { from: `${year}-01-01`, to: year === thisYear ? undefined : `${year + 1}-01-01` };
  const [uptime, figures, guarantees, patterns, monitoring] = await Promise.all([
    get("/v1/reliability/uptime", { hospital_id: hospitalId, ...period }),
    get("/v1/reliability/figures", { hospital_id: hospitalId, by, ...period }),
    get("/v1/reliability/guarantees", { hospital_id: hospitalId }),
    get("/v1/reliability/patterns", { hospital_id: hospitalId, ...period }),
    get("/v1/reliability/monitoring", { hospital_id: hospitalId, ...period }),
  ]);

  const hospitalSelect = el("select", { id: "rel-hospital", "aria-label": t("col.hospital"),
    onchange: (e) => go(e.target.value, year, by) },
  hospitals.map((h) => el("option", { value: h.id, selected: h.id === hospitalId, translate: "no" }, h.name)));
  const years = [0, 1, 2, 3, 4].map((n) => thisYear - n);
  const yearSelect = el("select", { id: "rel-year", "aria-label": t("rel.year"),
    onchange: (e) => go(hospitalId, e.target.value, by) },
  years.map((y) => el("option", { value: y, selected: y === year }, String(y))));
  page.append(el("div", { class: "page-head" }, el("h1", {}, t("rel.title")), hospitalSelect, yearSelect));
  if (figures.empty) page.append(message("info", t("rel.empty"), " ", figures.note ? t(`rel.note.${figures.note}`) : ""));

  page.append(
    section(t("rel.guarantees"), guaranteeTable(guarantees)),
    section(t("rel.uptime"), ...uptime.units.map((unit) => el("div", { class: "rel-unit", "data-serial": unit.serial },
      el("h3", {}, el("span", { translate: "no" }, equipmentLink(unit.serial), unit.label !== unit.serial
        ? ` ${unit.label.replace(unit.serial, "").trim()}` : "")),
      barChart(unit.points.map((p) => ({ label: p.period.slice(5), value: p.uptime_percent,
        note: `${num(p.downtime_hours)} h` })),
      { title: t("rel.uptime"), target: unit.points[0]?.guarantee_percent ?? null }),
      el("details", {}, el("summary", {}, t("rel.table")), table([
        { label: t("rel.month"), cell: (p) => p.period },
        { label: t("rel.uptimePct"), cell: (p) => num(p.uptime_percent, 2, "%") },
        { label: t("rel.downHours"), cell: (p) => num(p.downtime_hours) },
        { label: t("rel.coveredHours"), cell: (p) => num(p.covered_hours) },
      ], unit.points))))),
    section(t("rel.figures"), groupPicker(by, (g) => go(hospitalId, year, g)), figureTable(figures)),
    section(t("rel.patterns"), patternTable(patterns)),
    section(t("mon.section"), monitoringFigures(monitoring)),
    section(t("rel.annual"), annualBox(hospitalId, year)),
  );
}

function guaranteeTable(report) {
  const units = report.contracts.flatMap((c) => c.units.map((u) => ({ ...u, contract: c.contract_code })));
  const fired = (serial) => report.alerts.filter((a) => a.serial === serial);
  return table([
    { label: t("col.serial"), cell: (u) => equipmentLink(u.serial) },
    { label: t("rel.period"), cell: (u) => u.period },
    { label: t("rel.guarantee"), cell: (u) => `${num(u.percent, 0)}%` },
    { label: t("rel.budget"), cell: (u) => el("span", {},
      el("meter", { min: 0, max: u.budget_hours || 1, value: Math.min(u.used_hours, u.budget_hours || 1),
        high: (u.budget_hours || 1) * 0.75, optimum: 0, title: `${num(u.used_hours)} / ${num(u.budget_hours)} h` }),
      ` ${num(u.used_hours)} / ${num(u.budget_hours)} h`) },
    { label: t("rel.remaining"), cell: (u) => `${num(u.remaining_hours)} h` },
    { label: t("rel.rate"), cell: (u) => (u.rate ? `${num(u.rate * 100, 0)}%` : t("rel.up")) },
    { label: t("rel.exhausts"), cell: (u) => (u.exhausts_at ? when(u.exhausts_at) : "–") },
    { label: t("rel.state"), cell: (u) => {
      const levels = fired(u.serial).map((a) => a.level);
      const state = u.broken ? "broken" : levels.includes(0) ? "warned" : "ok";
      return el("span", { class: `badge rel-${state}` }, t(`rel.${state}`));
    } },
  ], units, { empty: t("rel.noGuarantee") });
}

// Remote monitoring over the period: its totals, then per unit.
function monitoringFigures(report) {
  if (!report.alarms && !report.repairs_by_monitoring) return el("p", { class: "empty", id: "mon-empty" }, t("mon.empty"));
  const total = { serial: null, alarms: report.alarms, episodes: Object.values(report.episodes).reduce((a, b) => a + b, 0),
    repairs_by_monitoring: report.repairs_by_monitoring,
    repairs_by_people: Object.entries(report.repairs_by_channel).filter(([c]) => c !== "remote_monitoring").reduce((a, [, n]) => a + n, 0),
    caught_first: report.caught_first };
  return el("div", { id: "mon-figures" },
    el("dl", { class: "facts" },
      el("dt", {}, t("mon.alarms")), el("dd", { id: "mon-alarms" }, String(report.alarms)),
      el("dt", {}, t("mon.byMonitoring")), el("dd", { id: "mon-by-monitoring" }, String(report.repairs_by_monitoring)),
      el("dt", {}, t("mon.byPhone")), el("dd", { id: "mon-by-phone" }, String(report.repairs_by_phone)),
      el("dt", {}, t("mon.caughtFirst")), el("dd", { id: "mon-caught-first" }, String(report.caught_first)),
      el("dt", {}, t("mon.calledFirst")), el("dd", { id: "mon-called-first" }, String(report.called_first))),
    table([
      { label: t("mon.unit"), cell: (u) => (u.serial ? equipmentLink(u.serial) : el("strong", {}, t("rel.total"))) },
      { label: t("mon.alarms"), cell: (u) => String(u.alarms) },
      { label: t("mon.episodes"), cell: (u) => String(u.episodes) },
      { label: t("mon.byMonitoring"), cell: (u) => String(u.repairs_by_monitoring) },
      { label: t("mon.byPeople"), cell: (u) => String(u.repairs_by_people) },
      { label: t("mon.caughtFirst"), cell: (u) => String(u.caught_first) },
    ], [...report.units.filter((u) => u.alarms || u.repairs_by_monitoring || u.repairs_by_people), total]));
}

function groupPicker(by, choose) {
  return el("p", { class: "rel-groups" }, t("rel.by"), " ", GROUPS.map((g) =>
    el("button", { type: "button", class: g === by ? "" : "secondary", "data-group": g,
      "aria-pressed": g === by ? "true" : "false", onclick: () => choose(g) }, t(`rel.by.${g}`))));
}

function figureTable(report) {
  const rows = [...report.groups.map((g) => ({ label: g.label, f: g.figures, serial: report.by === "unit" ? g.key : null })),
    { label: t("rel.total"), f: report.total, total: true }];
  return table([
    { label: t("rel.group"), cell: (r) => (r.total ? el("strong", {}, r.label)
      : r.serial ? el("span", { translate: "no" }, equipmentLink(r.serial), ` ${r.label.replace(r.serial, "").trim()}`) : el("span", { translate: "no" }, r.label)) },
    { label: t("rel.uptimePct"), cell: (r) => num(r.f.uptime_percent, 2, "%") },
    { label: t("rel.failures"), cell: (r) => r.f.failures },
    { label: "MTBF (h)", cell: (r) => num(r.f.mtbf_hours) },
    { label: "MTTR (h)", cell: (r) => num(r.f.mttr_hours, 2) },
    { label: t("rel.ftf"), cell: (r) => num(r.f.first_time_fix_percent, 1, "%") },
    { label: t("rel.repeats"), cell: (r) => r.f.repeat_repairs },
    { label: t("rel.pm"), cell: (r) => `${r.f.pm_on_time}/${r.f.pm_planned} (${num(r.f.pm_compliance_percent, 1, "%")})` },
    { label: t("rel.parts"), cell: (r) => r.f.parts_replaced },
    { label: t("rel.satisfaction"), cell: (r) => num(r.f.satisfaction, 2) },
  ], rows);
}

function patternTable(report) {
  return table([
    { label: t("col.model"), cell: (p) => el("span", { translate: "no" }, `${p.brand} ${p.model}`) },
    { label: t("rel.fault"), cell: (p) => word(p.fault_category) },
    { label: t("rel.count"), cell: (p) => p.count },
    { label: t("rel.cases"), cell: (p) => p.cases.map((c, i) => [i ? ", " : "", el("span", { translate: "no" }, c.ref),
      c.source === "imported" ? el("span", { class: "badge rel-imported" }, t("rel.imported")) : null]) },
    { label: t("rel.notified"), cell: (p) => (p.notified_at ? when(p.notified_at) : t("rel.notNotified")) },
  ], report.patterns, { empty: t("rel.noPatterns") });
}

// The annual report: the newest job of this hospital and year, a button that starts a new one,
// its progress while it runs, then its downloads and recommendations.
function annualBox(hospitalId, year) {
  const box = el("div", { class: "rel-annual", id: "rel-annual" });
  const path = `/v1/reports/annual/${encodeURIComponent(hospitalId)}/${year}`;
  const show = async (job) => {
    box.replaceChildren(startButton());
    if (!job) return;
    const bar = el("progress", { max: job.progress.total || 1, value: job.progress.done, id: "rel-progress" });
    box.append(el("p", { class: "rel-job", "data-status": job.status },
      t(`rel.job.${job.status}`), " ", bar, ` ${job.progress.done}/${job.progress.total}`));
    if (job.status === "queued" || job.status === "running") {
      setTimeout(async () => {
        if (!box.isConnected) return;
        show(await get(job.links.self));
      }, POLL_MS);
      return;
    }
    if (job.status === "failed") {
      box.append(message("error", job.error || ""));
      return;
    }
    box.append(el("p", { class: "buttons" },
      download(job.links.pdf, `annual-${hospitalId}-${year}.pdf`, t("rel.pdf"), "pdf"),
      " ", download(job.links.html, `annual-${hospitalId}-${year}.html`, t("rel.html"), "html")));
    const data = await get(job.links.json);
    if (data.empty) box.append(message("info", t("rel.empty"), " ", data.note ? t(`rel.note.${data.note}`) : ""));
    box.append(el("h3", {}, t("rel.recommendations")), el("ol", { class: "rel-recommendations" },
      data.recommendations.map((r) => el("li", { "data-code": r.code }, recommendation(r)))));
  };
  const startButton = () => el("button", { type: "button", id: "rel-make", onclick: async (e) => {
    e.target.disabled = true;
    try {
      show(await post(path));
    } catch (error) {
      e.target.disabled = false;
      box.append(message("error", String(error.message || error)));
    }
  } }, t("rel.make", { year }));
  get(path).then(show, () => show(null));
  return box;
}

function recommendation(r) {
  const p = r.params || {};
  return t(`rel.rec.${r.code}`, { unit: r.serial || "", count: p.count, category: word(p.category),
    planned: p.planned, period: p.period, uptime: num(p.uptime, 2), guarantee: num(p.guarantee, 0),
    satisfaction: num(p.satisfaction, 2), answers: p.answers, model: `${p.brand || ""} ${p.model || ""}`,
    serials: (p.serials || []).join(", ") });
}

// A download of a file the API serves to a bearer token: fetched, then saved from a blob.
function download(path, name, label, kind) {
  return el("button", { type: "button", class: "secondary download", "data-kind": kind, onclick: async () => {
    const response = await call("GET", path, { raw: true });
    const url = URL.createObjectURL(await response.blob());
    const link = el("a", { href: url, download: name });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } }, label);
}
