// A person's notices (GET /v1/notices), newest first, unread ones marked; pages and breaches
// stand out. New ones arrive by the live feed; desktop alerts where the browser allows.

import { explain, get, post } from "../api.js";
import { caseLink } from "../cases.js";
import { append, el, message } from "../dom.js";
import { noticeText, noticeTitle, pressing } from "../events.js";
import { t } from "../i18n.js";
import { keepLive } from "../live.js";
import { when } from "../time.js";
import { refreshUnread } from "../notices.js";

export async function render(page) {
  const list = el("div", { class: "inbox" });
  const status = el("div", { "aria-live": "polite" });
  const desktop = "Notification" in window && Notification.permission === "default"
    ? el("button", { type: "button", class: "secondary", id: "desktop-alerts", onclick: async (event) => {
      const answer = await Notification.requestPermission();
      event.target.replaceWith(message(answer === "granted" ? "ok" : "error", t(answer === "granted" ? "inbox.desktopOn" : "inbox.desktopBlocked")));
    } }, t("inbox.desktop")) : null;
  const draw = async (box) => {
    const found = await get("/v1/notices", { limit: 100 });
    box.append(el("div", { class: "page-head" }, el("p", { class: "unread-count" }, t("inbox.unread", { n: found.unread })),
      found.unread ? el("button", { type: "button", class: "secondary", id: "mark-all", onclick: async () => {
        try {
          await post("/v1/notices/read", { up_to: found.items[0].id });
          await redraw();
          refreshUnread();
        } catch (error) {
          status.replaceChildren(message("error", explain(error)));
        }
      } }, t("inbox.markAll")) : null));
    if (!found.items.length) {
      box.append(el("p", { class: "empty" }, t("inbox.none")));
      return;
    }
    box.append(el("ol", { class: "notices" }, found.items.map((n) => el("li", {
      class: `notice${n.read_at ? "" : " unread"}${pressing(n) ? " pressing" : ""}`, "data-notice": n.id, "data-case": n.case_id },
    el("div", { class: "notice-head" }, el("strong", {}, noticeTitle(n)), " ", caseLink(n.case_id),
      el("time", { datetime: n.created_at }, when(n.created_at))),
    el("p", { class: "notice-text" }, noticeText(n))))));
  };
  const redraw = async () => {
    const fresh = el("div", {});
    await draw(fresh);
    list.replaceChildren(...fresh.childNodes);
  };
  append(page, [el("h1", {}, t("inbox.title")), desktop, status, list]);
  await draw(list);
  keepLive(list, draw, (m) => m.type === "notice");
}
