// Regulatory affairs' home: the reportability reviews waiting for a decision, the one due first
// at the top with a live countdown, what each reviews and the rules that flagged it, and the
// decide button; below, the reviews decided most recently. Follows the live feed.

import { explain, get } from "../api.js";
import { actionButtons, caseLink, statusBadge } from "../cases.js";
import { el, message, section, table } from "../dom.js";
import { commitmentName, flagWords } from "../events.js";
import { t, word } from "../i18n.js";
import { keepLive } from "../live.js";
import { countdown, when } from "../time.js";

const CARDS = 10; // reviews shown as cards with their decide button

export async function render(page, args, me) {
  const status = el("div", { "aria-live": "polite" });
  const list = el("div", { class: "my-cases" });
  page.append(el("h1", {}, t("reviews.title")), status, list);
  const draw = async (box) => box.append(...await cards(status, () => redraw()));
  const redraw = async () => {
    const fresh = el("div", {});
    await draw(fresh);
    list.replaceChildren(...fresh.childNodes);
  };
  await draw(list);
  keepLive(list, draw, (m) => m.kind === "review");
}

async function cards(status, again) {
  const [pending, decided] = await Promise.all([
    get("/v1/cases", { kind: "review", status: "pending", sort: "next_due_at", limit: 100 }),
    get("/v1/cases", { kind: "review", status: "decided", sort: "-updated_at", limit: 10 }),
  ]);
  const after = (view, action) => {
    status.replaceChildren(message("ok", t("case.done", { action: word(action.action) }), " ", caseLink(view.case_id)));
    again();
  };
  // The ones due first as cards, drawn at once from the list's rows; each then reads its
  // review and its actions on its own, so one case slow to answer holds up nothing else. The
  // others, which can be many, as one table of the list's rows.
  const first = pending.items.slice(0, CARDS), rest = pending.items.slice(CARDS);
  const open = first.map((item) => card(item, after));
  return [
    ...(open.length ? open : [el("p", { class: "empty" }, t("reviews.none"))]),
    rest.length ? section(t("reviews.more", { n: rest.length }), table([
      { label: t("col.case"), cell: (item) => caseLink(item.case_id) },
      { label: t("reviews.of"), cell: (item) => el("span", { translate: "no" }, item.title) },
      { label: t("col.status"), cell: (item) => word(item.status) },
      { label: t("col.due"), cell: (item) => item.next_due_at ? countdown(item.next_due_at) : "" },
    ], rest)) : null,
    decided.items.length ? section(t("reviews.decided"), table([
      { label: t("col.case"), cell: (item) => caseLink(item.case_id) },
      { label: t("reviews.of"), cell: (item) => el("span", { translate: "no" }, item.title) },
      { label: t("col.status"), cell: (item) => word(item.status) },
      { label: t("col.at"), cell: (item) => when(item.updated_at) },
    ], decided.items)) : null,
  ].filter(Boolean);
}

function card(item, after) {
  const details = el("div", { class: "details" }, el("p", { class: "muted" }, t("loading")));
  const badge = el("span", {}, word(item.status));
  Promise.all([
    get(`/v1/cases/${encodeURIComponent(item.case_id)}`),
    actionButtons(item.case_id, after, { kind: "review" }),
  ]).then(([view, buttons]) => {
    badge.replaceChildren(statusBadge(view));
    details.replaceChildren(...reviewed(view), buttons);
  }, (error) => details.replaceChildren(message("error", explain(error))));
  return el("article", { class: "case-card", "data-case": item.case_id },
    el("header", {}, el("h2", {}, caseLink(item.case_id)), badge),
    item.next_due_at ? el("p", { class: "next" }, `${commitmentName("decision")}: `,
      countdown(item.next_due_at), el("small", {}, when(item.next_due_at))) : null,
    details);
}

function reviewed(view) {
  return [
    el("p", { class: "title" }, `${t("reviews.of")}: `, word(view.origin.kind), " ", caseLink(view.origin.case_id)),
    el("p", { class: "meta" }, `${t("reviews.flagged")}: `,
      view.flags.length ? view.flags.map(flagWords).join(" · ") : t("reviews.unflagged")),
  ];
}
