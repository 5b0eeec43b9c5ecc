// The unread count by the navigation and the desktop alert of a page or a breach: kept by the
// live feed for the whole tab, whatever page is shown.

import { get } from "./api.js";
import { noticePlain, noticeTitlePlain, pressing } from "./events.js";
import { t } from "./i18n.js";
import { listen } from "./live.js";

let unread = 0;
const shown = new Set();

export function show() {
  const badge = document.getElementById("unread");
  if (!badge) return;
  badge.textContent = unread ? String(unread) : "";
  badge.hidden = !unread;
  badge.setAttribute("aria-label", t("inbox.unread", { n: unread }));
}

export async function refreshUnread() {
  try {
    unread = (await get("/v1/notices", { limit: 1 })).unread;
  } catch {
    return;
  }
  show();
}

export function watchNotices() {
  listen((message) => {
    if (message.type !== "notice") return;
    unread += 1;
    show();
    if (pressing(message) && "Notification" in window && Notification.permission === "granted" && !shown.has(message.id)) {
      shown.add(message.id);
      const alert = new Notification(noticeTitlePlain(message), { body: noticePlain(message), tag: `caseflow-${message.id}` });
      alert.onclick = () => {
        window.focus();
        location.hash = `#/case/${encodeURIComponent(message.case_id)}`;
      };
    }
  });
}
