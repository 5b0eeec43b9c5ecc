// The engineer's cases: an emergency paging them first (with the acknowledge button in view on a
// phone), then the open cases assigned to them, the next deadline that is theirs first, with a
// live countdown, where to go and whom to call, and the steps they may report now as buttons.
// The list follows the live feed: a page or an assignment shows without a reload.

import { get } from "../api.js";
import { actionButtons, badge, caseLink, statusBadge } from "../cases.js";
import { el, message } from "../dom.js";
import { commitmentName } from "../events.js";
import { t, word } from "../i18n.js";
import { keepLive } from "../live.js";
import { countdown, when } from "../time.js";

// Commitments someone else keeps (the hotline's checks and calls): not the engineer's deadline.
const OTHERS = new Set(["handover", "customer_confirmation", "callback", "notify", "survey", "first_feedback", "answer", "site_fix"]);

export async function render(page, args, me) {
  const status = el("div", { "aria-live": "polite" });
  const list = el("div", { class: "my-cases" });
  page.append(el("h1", {}, t("mine.title")), status, list);
  const draw = async (box) => box.append(...await cards(me, status, () => redraw()));
  const redraw = async () => {
    const fresh = el("div", {});
    await draw(fresh);
    list.replaceChildren(...fresh.childNodes);
  };
  await draw(list);
  keepLive(list, draw, (m) => m.type === "notice" || m.assignee_id === me.id || m.kind === "emergency");
}

async function cards(me, status, again) {
  const [assigned, paging, notices, hospitals] = await Promise.all([
    get("/v1/cases", { assignee_id: me.id, sort: "next_due_at", limit: 200 }),
    get("/v1/cases", { kind: "emergency", status: "paging", sort: "-opened_at", limit: 50 }),
    get("/v1/notices", { limit: 200 }),
    get("/v1/hospitals"),
  ]);
  // The emergencies that paged this person (their page notices): only those are asked whether
  // they may acknowledge, not every emergency still paging anyone anywhere.
  const pagedMe = new Set(notices.items.filter((n) => n.event === "page").map((n) => n.case_id));
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const pagingMe = paging.items.filter((p) => pagedMe.has(p.case_id));
  const open = assigned.items.filter((c) => !c.closed_at && !pagingMe.some((p) => p.case_id === c.case_id));
  const after = (view, action) => {
    status.replaceChildren(message("ok", t("case.done", { action: word(action.action) }), " ", caseLink(view.case_id)));
    again();
  };
  // A page is theirs when the case would let them acknowledge it.
  const pages = (await Promise.all(pagingMe.map(async (item) => {
    const buttons = await actionButtons(item.case_id, after, { kind: item.kind });
    return buttons.querySelector("[data-action=acknowledge]") ? pageCard(item, names, buttons) : null;
  }))).filter(Boolean);
  const mine = await Promise.all(open.map(async (item) => caseCard(item, names, await get(`/v1/cases/${encodeURIComponent(item.case_id)}`),
    await actionButtons(item.case_id, after, { kind: item.kind }))));
  if (!pages.length && !mine.length) return [el("p", { class: "empty" }, t("mine.none"))];
  return [...pages, ...mine];
}

function pageCard(item, names, buttons) {
  const acknowledge = buttons.querySelector("[data-action=acknowledge]");
  acknowledge.classList.add("big", "urgent");
  return el("article", { class: "case-card paged", "data-case": item.case_id, role: "alert" },
    el("header", {}, el("strong", { class: "paged-label" }, t("mine.paged")), el("h2", {}, caseLink(item.case_id))),
    acknowledge,
    el("p", { class: "title" }, el("span", { translate: "no" }, item.title)),
    el("p", { class: "meta" }, el("span", { translate: "no" }, names[item.hospital_id] || item.hospital_id),
      item.equipment_serial ? [" · ", el("span", { translate: "no" }, item.equipment_serial)] : null),
    item.next_due_at ? el("p", { class: "next" }, `${commitmentName(item.next_due_key)}: `, countdown(item.next_due_at)) : null,
    buttons);
}

function caseCard(item, names, view, buttons) {
  const intake = view.intake || {};
  const phone = intake.reporter_phone || intake.contact_phone || intake.complainant_contact;
  const caller = intake.reporter_name || intake.contact_name || intake.complainant_name;
  const ownDue = (view.commitments || [])
    .filter((c) => (c.state === "open" || c.state === "breached") && c.due_at && !OTHERS.has(c.key))
    .sort((a, b) => a.due_at.localeCompare(b.due_at))[0];
  return el("article", { class: "case-card", "data-case": item.case_id },
    el("header", {}, el("h2", {}, caseLink(item.case_id)), badge(item.severity, "severity"), statusBadge(view)),
    el("p", { class: "title" }, el("span", { translate: "no" }, item.title)),
    el("p", { class: "meta" }, `${word(item.kind)} · `, el("span", { translate: "no" }, names[item.hospital_id] || item.hospital_id),
      item.equipment_serial ? [" · ", el("span", { translate: "no" }, item.equipment_serial)] : null),
    intake.location || intake.department ? el("p", { class: "where" }, `${t("mine.where")}: `,
      el("span", { translate: "no" }, [intake.department, intake.location].filter(Boolean).join(" "))) : null,
    phone ? el("p", { class: "caller" }, `${t("mine.caller")}: `, el("span", { translate: "no" }, caller || ""), " ",
      el("a", { href: `tel:${phone.replace(/[^0-9+]/g, "")}`, class: "tel" }, phone)) : null,
    el("p", { class: "next" }, el("span", { class: "label" }, `${t("mine.next")}: `),
      ownDue ? el("span", { class: "due" }, el("span", { class: "due-key" }, commitmentName(ownDue.key, ownDue.round)), " ",
        countdown(ownDue.due_at), el("small", {}, when(ownDue.due_at))) : el("span", { class: "muted" }, t("board.noDeadline"))),
    buttons);
}
