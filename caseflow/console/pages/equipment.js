// One unit (设备): what it is and where, its status, warranty and service contract, its
// preventive-maintenance plan with the visits, and every case on it, each a link; kept live
// while a case of its hospital changes.

import { explain, get, newKey, post } from "../api.js";
import { badge, caseLink } from "../cases.js";
import { readings } from "../events.js";
import { clear, el, message, modal, section, table } from "../dom.js";
import { t, word } from "../i18n.js";
import { keepLive } from "../live.js";
import { localDate, when } from "../time.js";

// A calendar day of the API (YYYY-MM-DD) as it is: no time zone to convert.
const day = (value) => value || "—";

// #/equipment/<serial>
export async function render(page, [serial], me) {
  const body = el("div", { class: "equipment-body" });
  page.append(body);
  const unit = await fill(body, serial, me);
  keepLive(body, (box) => fill(box, serial, me),
    (m) => m.type === "case" && m.hospital_id === unit.hospital_id);
}

async function fill(box, serial, me) {
  const path = `/v1/equipment/${encodeURIComponent(serial)}`;
  const [unit, stream] = await Promise.all([get(path), get(`${path}/alarms`, { limit: 50 })]);
  const year = localDate().slice(0, 4);
  box.append(
    el("div", { class: "page-head" },
      el("h1", {}, t("eq.title", { serial: "" }).trim(), " ", el("span", { translate: "no" }, unit.serial), " ",
        el("span", { class: `badge unit-status unit-${unit.status}` }, word(unit.status)), " ",
        warrantyBadge(unit)),
      me.capabilities.includes("read_reports") ? el("a", { class: "reliability-link", id: "unit-reliability",
        href: `#/reliability/${encodeURIComponent(unit.hospital_id)}/${year}/unit` }, t("eq.reliability")) : null),
    section(t("eq.unit"), facts([
      [t("col.hospital"), el("span", { translate: "no" }, unit.hospital_name)],
      [t("eq.modality"), el("span", { translate: "no" }, `${unit.modality} ${unit.brand} ${unit.model}`)],
      [t("col.department"), el("span", { translate: "no" }, unit.department || "—")],
      [t("eq.status"), [word(unit.status), unit.status_changed_at ? ` · ${t("eq.since", { at: when(unit.status_changed_at) })}` : "",
        unit.status_reason ? [" · ", reason(unit.status_reason)] : ""]],
      [t("eq.inService"), day(unit.in_service_on)],
    ])),
    section(t("eq.warranty"), unit.warranty_start || unit.warranty_end ? facts([
      [t("eq.warrantyFrom"), day(unit.warranty_start)],
      [t("eq.warrantyTo"), day(unit.warranty_end)],
      [t("col.state"), warrantyBadge(unit)],
    ]) : el("p", { class: "empty" }, t("eq.noWarranty"))),
    section(t("eq.contract"), contract(unit.contract)),
    section(t("eq.plan"), plan(unit), planButtons(unit, me, () => fill(clear(box), serial, me))),
    section(t("eq.cases"), table([
      { label: t("col.case"), cell: (c) => caseLink(c.case_id) },
      { label: t("col.kind"), cell: (c) => word(c.kind) },
      { label: t("col.status"), cell: (c) => badge(c.status) },
      { label: t("col.title"), cell: (c) => el("span", { translate: "no" }, c.title) },
      { label: t("col.opened"), cell: (c) => when(c.opened_at) },
      { label: t("col.closed"), cell: (c) => when(c.closed_at) },
      { label: t("breached"), cell: (c) => (c.breached ? el("span", { class: "badge breached" }, t("breached")) : "") },
    ], unit.cases, { empty: t("eq.noCases") })),
    section(t("mon.title"), alarmStream(stream)));
  return unit;
}

// The unit's alarm stream: each fault episode (what it did, the case it opened or fed), then
// the latest alarms themselves.
function alarmStream(stream) {
  if (!stream.alarms.length) return el("p", { class: "empty", id: "no-alarms" }, t("mon.none"));
  return el("div", { class: "alarm-stream" },
    el("h3", {}, t("mon.episodes")),
    table([
      { label: t("mon.code"), cell: (e) => el("span", { translate: "no" }, e.code) },
      { label: t("mon.outcome"), cell: (e) => word(e.action) },
      { label: t("col.case"), cell: (e) => (e.case_id ? caseLink(e.case_id) : "—") },
      { label: t("mon.raised"), cell: (e) => when(e.opened_at) },
      { label: t("mon.last"), cell: (e) => when(e.last_at) },
      { label: t("mon.count"), cell: (e) => String(e.alarms) },
      { label: t("mon.cleared"), cell: (e) => (e.active ? el("span", { class: "badge breached" }, t("mon.active")) : when(e.cleared_at)) },
    ], stream.episodes),
    el("h3", {}, t("mon.latest")),
    table([
      { label: t("mon.raised"), cell: (a) => when(a.raised_at) },
      { label: t("mon.code"), cell: (a) => el("span", { translate: "no" }, a.code) },
      { label: t("mon.severity"), cell: (a) => word(a.severity) },
      { label: t("mon.values"), cell: (a) => readings(a.values) || "" },
      { label: t("mon.outcome"), cell: (a) => word(a.outcome) },
      { label: t("mon.cleared"), cell: (a) => when(a.cleared_at) },
    ], stream.alarms));
}

function facts(rows) {
  return el("dl", { class: "facts" }, rows.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)]));
}

function warrantyBadge(unit) {
  if (!unit.warranty_end) return null;
  return el("span", { class: `badge warranty ${unit.in_warranty ? "in" : "out"}` },
    unit.in_warranty ? t("eq.inWarranty") : t("eq.outOfWarranty"));
}

// Why the unit is in its status: a code of the register (ordered, accepted), else the reason
// a person gave, as written.
function reason(text) {
  return ["ordered", "accepted"].includes(text) ? word(text) : el("span", { translate: "no" }, text);
}

function contract(found) {
  if (!found) return el("p", { class: "empty", id: "no-contract" }, t("eq.noContract"));
  return facts([
    [t("eq.contractCode"), el("span", { translate: "no", id: "contract-code" }, found.code)],
    [t("eq.term"), [`${found.starts_on} – ${found.ends_on} `,
      el("span", { class: `badge contract ${found.in_force ? "in" : "out"}` }, found.in_force ? t("eq.inForce") : t("eq.notInForce"))]],
    [t("eq.warrantyMonths"), String(found.warranty_months)],
    [t("eq.interval"), String(found.maintenance_interval_days)],
  ]);
}

// What a plan in this status may do next (the plan workflow refuses the rest with a 409).
const CHANGES = { active: ["pause", "end"], paused: ["resume", "end"], ended: [] };

// Pause (out of service), resume or end (decommissioned) the unit's plan, with a reason: for
// those who may (supervisors, managers, directors).
function planButtons(unit, me, redraw) {
  const found = unit.plan;
  if (!found || !me.capabilities.includes("change_plans")) return null;
  const changes = CHANGES[found.status] || [];
  if (!changes.length) return null;
  return el("div", { class: "buttons plan-actions" }, changes.map((change) =>
    el("button", { type: "button", class: change === "end" ? "danger" : "secondary", "data-change": change,
      onclick: async () => { if (await changePlan(unit.serial, change)) redraw(); } }, t(`eq.do.${change}`))));
}

function changePlan(serial, change) {
  const key = newKey();
  return modal("plan-dialog", t(`eq.do.${change}`), (done) => {
    const reason = el("textarea", { id: "plan-reason", required: true, maxlength: 4000, rows: 3 });
    const status = el("div", { class: "status" });
    const form = el("form", { class: "plan-change" },
      el("h2", {}, t(`eq.do.${change}`)),
      el("div", { class: "field" }, el("label", { for: "plan-reason" }, word("reason")), reason),
      status,
      el("div", { class: "buttons" },
        el("button", { type: "submit", class: change === "end" ? "danger" : "" }, t(`eq.do.${change}`)),
        el("button", { type: "button", class: "secondary", onclick: () => done(false) }, t("cancel"))));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try {
        await post(`/v1/equipment/${encodeURIComponent(serial)}/plan/${change}`, { reason: reason.value }, key);
        done(true);
      } catch (error) {
        status.replaceChildren(message("error", explain(error)));
      }
    });
    return { content: form, focus: () => reason.focus() };
  }, false);
}

// What the plan says itself (a code and its parameters) in the console's language, else what
// a person wrote (or a plan before the codes), as written.
function planNote(code, params, written) {
  if (code) return el("span", { class: "plan-note", "data-code": code }, t(`eq.note.${code}`, params || {}));
  return el("span", { translate: "no" }, written || "");
}

function plan(unit) {
  if (unit.plan_unavailable) return message("info", t("eq.planUnavailable"));
  const found = unit.plan;
  if (!found) return el("p", { class: "empty", id: "no-plan" }, t("eq.noPlan"));
  return el("div", { class: "plan", "data-status": found.status },
    facts([
      [t("eq.planStatus"), el("span", { class: `badge plan-${found.status}` }, word(found.status))],
      [t("eq.interval"), String(found.interval_days)],
      [t("eq.nextDue"), day(found.next_due)],
      [t("eq.upcoming"), found.upcoming.length ? found.upcoming.join(", ") : "—"],
      found.ends_on ? [t("eq.planEnds"), found.ends_on] : null,
    ].filter(Boolean)),
    el("h3", {}, t("eq.visits")),
    table([
      { label: t("eq.dueOn"), cell: (v) => v.due_on },
      { label: t("col.case"), cell: (v) => (v.case_id ? caseLink(v.case_id) : el("span", { class: "muted" }, t("eq.notOpened"))) },
      { label: t("col.opened"), cell: (v) => when(v.opened_at) },
      { label: word("note"), cell: (v) => planNote(v.note_code, v.note_params, v.note) },
    ], [...found.visits].reverse()),
    found.changes.length ? [el("h3", {}, t("eq.changes")), table([
      { label: t("col.what"), cell: (c) => t(`eq.change.${c.change}`) },
      { label: word("reason"), cell: (c) => planNote(c.reason_code, c.reason_params, c.reason) },
      { label: t("col.who"), cell: (c) => el("span", { translate: "no" }, c.by.name) },
      { label: t("col.at"), cell: (c) => when(c.at) },
    ], found.changes)] : null);
}
