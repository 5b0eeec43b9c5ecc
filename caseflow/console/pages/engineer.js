// The engineer's cases: open cases assigned to them, the next deadline first with a live
// countdown, and the steps they may report now as buttons.

import { get } from "../api.js";
import { actionButtons, badge, caseLink, dueCell } from "../cases.js";
import { clear, el, message } from "../dom.js";
import { t, word } from "../i18n.js";

export async function render(page, args, me) {
  const list = el("div", { class: "my-cases" });
  const status = el("div", { "aria-live": "polite" });
  page.append(el("h1", {}, t("mine.title")), status, list);
  await show(list, status, me);
}

async function show(list, status, me) {
  const [found, hospitals] = await Promise.all([
    get("/v1/cases", { assignee_id: me.id, sort: "next_due_at", limit: 200 }),
    get("/v1/hospitals"),
  ]);
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const open = found.items.filter((c) => !c.closed_at);
  clear(list);
  if (!open.length) {
    list.append(el("p", { class: "empty" }, t("mine.none")));
    return;
  }
  const cards = await Promise.all(open.map(async (item) => el("article", { class: "case-card", "data-case": item.case_id },
    el("header", {}, el("h2", {}, caseLink(item.case_id)), badge(item.severity, "severity"), badge(item.status)),
    el("p", { class: "title" }, item.title),
    el("p", { class: "meta" }, `${word(item.kind)} · ${names[item.hospital_id] || item.hospital_id}`, item.equipment_serial ? ` · ${item.equipment_serial}` : ""),
    el("p", { class: "next" }, el("span", { class: "label" }, `${t("mine.next")}: `), dueCell(item)),
    await actionButtons(item.case_id, (view, action) => {
      status.replaceChildren(message("ok", t("case.done", { action: word(action.action) }), " ", caseLink(view.case_id)));
      show(list, status, me);
    }))));
  list.append(...cards);
}
