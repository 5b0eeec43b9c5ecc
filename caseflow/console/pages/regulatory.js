// The regulatory board (法规事务看板): the reports still due to regulators on open adverse
// events, one column per jurisdiction, overdue first and then by the time left, each linking to
// its event; drawn again whenever something is recorded on an adverse event.

import { get } from "../api.js";
import { caseLink } from "../cases.js";
import { el } from "../dom.js";
import { commitmentName, jurisdictionName } from "../events.js";
import { keepLive } from "../live.js";
import { t, word } from "../i18n.js";
import { countdown, when } from "../time.js";

export async function render(page) {
  await draw(page);
  keepLive(page, draw, (m) => m.type === "case" && m.kind === "adverse_event");
}

async function draw(page) {
  const [board, hospitals] = await Promise.all([get("/v1/regulatory/board"), get("/v1/hospitals")]);
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const due = board.columns.reduce((sum, c) => sum + c.due, 0);
  const overdue = board.columns.reduce((sum, c) => sum + c.overdue, 0);
  page.append(
    el("div", { class: "page-head" }, el("h1", {}, t("reg.title"))),
    el("div", { class: "counters", id: "reg-counters" },
      counter(t("reg.events"), board.events, "open"),
      counter(t("reg.due"), due, "risk"),
      counter(t("reg.overdue"), overdue, "breached")),
    el("p", { class: "hint" }, t("reg.note")),
    el("div", { class: "board regulatory-board", id: "regulatory-board" }, board.columns.map((column) =>
      el("section", { class: "column", "data-jurisdiction": column.jurisdiction, "aria-label": jurisdictionName(column.jurisdiction) },
        el("h3", {}, jurisdictionName(column.jurisdiction), el("span", { class: "count" }, ` ${column.due}`)),
        el("p", { class: "meta" }, el("span", { translate: "no" }, column.regulator)),
        column.overdue ? el("p", { class: "overdue-count" }, t("reg.overdueN", { n: column.overdue })) : null,
        column.items.length
          ? el("ol", {}, column.items.map((item) => card(item, names)))
          : el("p", { class: "empty" }, t("reg.nothingDue"))))));
}

function card(item, names) {
  return el("li", { class: `card${item.overdue ? " breached" : ""}`, "data-case": item.case_id, "data-commitment": item.commitment },
    el("div", {}, caseLink(item.case_id), " ", el("span", { class: "badge" }, word(item.event_type))),
    el("p", { class: "meta" }, commitmentName(item.commitment)),
    el("p", { class: "meta" }, el("span", { translate: "no" }, names[item.hospital_id] || item.hospital_id),
      item.equipment_serial ? [" · ", el("span", { translate: "no" }, item.equipment_serial)] : null),
    el("p", { class: "next" }, item.due_at ? [when(item.due_at), " ", countdown(item.due_at)] : t("board.noDeadline")),
    item.escalation_level ? el("p", { class: `level level-${item.escalation_level}` }, t("board.level", { level: item.escalation_level })) : null);
}

function counter(label, value, kind) {
  return el("div", { class: `counter ${kind}` }, el("span", { class: "value" }, String(value)), el("span", { class: "label" }, label));
}
