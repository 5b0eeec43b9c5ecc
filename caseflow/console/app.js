// The console's shell: who is signed in, the navigation their capabilities allow, the language
// switch, and the page of the address after "#".

import { ApiError, explain, get, post, setToken, token, whenSignedOut } from "./api.js";
import { clear, el, message } from "./dom.js";
import { language, setLanguage, t, word } from "./i18n.js";
import * as audit from "./pages/audit.js";
import * as casePage from "./pages/case.js";
import * as engineer from "./pages/engineer.js";
import * as equipment from "./pages/equipment.js";
import * as live from "./live.js";
import { refreshUnread, show as showUnread, watchNotices } from "./notices.js";
import * as hotline from "./pages/hotline.js";
import * as inbox from "./pages/inbox.js";
import * as manager from "./pages/manager.js";
import * as people from "./pages/people.js";
import * as regulatory from "./pages/regulatory.js";
import * as reliability from "./pages/reliability.js";
import * as reviews from "./pages/reviews.js";
import * as migrations from "./pages/migrations.js";
import * as rosters from "./pages/rosters.js";
import * as signin from "./pages/signin.js";
import * as sla from "./pages/sla.js";

const main = document.getElementById("main");
let me = null;
let visits = 0; // each route() is a visit; a slow page of an earlier visit is dropped

// #/name/arg -> page; `needs`: the capability that shows it in the navigation; `under`: the
// navigation entry a page without one belongs to.
const PAGES = {
  "sign-in": { page: signin },
  hotline: { page: hotline, nav: "nav.hotline", needs: "open_repair" },
  intake: { page: hotline.intake },
  mine: { page: engineer, nav: "nav.mine", roles: ["engineer"] },
  reviews: { page: reviews, nav: "nav.reviews", roles: ["regulatory", "auditor", "manager", "director"] },
  board: { page: manager, nav: "nav.board", needs: "read_reports" },
  regulatory: { page: regulatory, nav: "nav.regulatory", needs: "read_regulatory" },
  sla: { page: sla, nav: "nav.sla", needs: "read_reports" },
  reliability: { page: reliability, nav: "nav.reliability", needs: "read_reports" },
  rosters: { page: rosters, nav: "nav.rosters", needs: "maintain_rosters" },
  migrations: { page: migrations, nav: "nav.migrations", needs: "maintain_policy" },
  search: { page: audit, nav: "nav.search", needs: "read_cases" },
  people: { page: people, nav: "nav.people", needs: "manage_people" },
  inbox: { page: inbox },
  person: { page: people.person, under: "people" },
  case: { page: casePage },
  equipment: { page: equipment, under: "search" },
};

function shown(entry) {
  if (!me) return false;
  if (entry.roles) return entry.roles.includes(me.role);
  return me.capabilities.includes(entry.needs);
}

// Where each role starts.
const HOME = { hotline: "hotline", engineer: "mine", supervisor: "board", manager: "board",
  director: "board", auditor: "search", admin: "people", regulatory: "regulatory" };

function home() {
  if (!me) return "sign-in";
  const page = HOME[me.role];
  return page && shown(PAGES[page]) ? page : "search";
}

function shell() {
  document.documentElement.lang = language();
  document.title = t("app");
  document.getElementById("skip").textContent = t("skip");
  document.getElementById("lang").textContent = t("lang.switch");
  document.getElementById("lang").lang = language() === "en" ? "zh-CN" : "en";
  const here = location.hash.replace(/^#\/?/, "").split("/")[0];
  const current = PAGES[here]?.under || here;
  const nav = clear(document.getElementById("nav"));
  if (me) {
    nav.append(el("ul", {}, Object.entries(PAGES).filter(([, e]) => e.nav && shown(e)).map(([name, e]) =>
      el("li", {}, el("a", { href: `#/${name}`, "aria-current": name === current ? "page" : null }, t(e.nav))))));
  }
  const who = clear(document.getElementById("who"));
  if (me) {
    who.append(
      el("span", { class: "live-state", id: "live-state" }),
      el("a", { href: "#/inbox", id: "inbox-link", class: "inbox-link", "aria-current": here === "inbox" ? "page" : null },
        t("nav.inbox"), " ", el("span", { class: "unread", id: "unread", hidden: true })),
      el("span", { class: "me" }, el("span", { translate: "no" }, me.name), ` · ${word(me.role)}`),
      el("button", { type: "button", class: "link", id: "sign-out", onclick: signOut }, t("nav.signout")));
    showUnread();
    showLiveState();
  }
}

function showLiveState(state = live.current()) {
  const node = document.getElementById("live-state");
  if (!node) return;
  node.textContent = state === "live" ? t("live.live") : state === "reconnecting" ? t("live.reconnecting") : "";
  node.className = `live-state ${state}`;
}

async function signOut() {
  try {
    await post("/v1/auth/sign-out");
  } catch {
    // the token may already be gone; signing out here is what matters
  }
  setToken(null);
  me = null;
  live.stop();
  location.hash = "#/sign-in";
}

// Once signed in: the live feed, the unread count and its state by the person's name.
function goLive() {
  live.start();
  refreshUnread();
}

async function whoAmI() {
  if (!token()) return null;
  try {
    return await get("/v1/me");
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return null;
    throw error;
  }
}

export async function signedIn() {
  me = await whoAmI();
  if (me) goLive();
  location.hash = `#/${home()}`;
  await route();
}

async function route() {
  const [name, ...args] = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  if (!me && name !== "sign-in") {
    location.hash = "#/sign-in";
    return;
  }
  const entry = PAGES[name];
  if (!entry || (me && name === "sign-in")) {
    location.hash = `#/${home()}`;
    return;
  }
  shell();
  clear(main);
  main.append(el("p", { class: "loading" }, t("loading")));
  const visit = ++visits;
  try {
    const page = el("div", { class: `page page-${name}` });
    await entry.page.render(page, args, me, { signedIn });
    if (visit !== visits) return; // the person went elsewhere meanwhile
    clear(main).append(page);
    const heading = main.querySelector("h1");
    if (heading) document.title = `${heading.textContent} · caseflow`;
  } catch (error) {
    if (visit !== visits) return;
    clear(main).append(el("h1", {}, t("error.title")), message("error", explain(error)));
  }
}

document.getElementById("lang").addEventListener("click", () => {
  setLanguage(language() === "en" ? "zh-CN" : "en");
  route();
});
whenSignedOut(() => {
  me = null;
  live.stop();
  if (!location.hash.startsWith("#/sign-in")) location.hash = "#/sign-in";
});
window.addEventListener("hashchange", route);

(async () => {
  setLanguage(language());
  try {
    me = await whoAmI();
  } catch (error) {
    main.append(message("error", explain(error)));
  }
  watchNotices();
  live.onState(showLiveState);
  if (me) goLive();
  if (!location.hash || location.hash === "#/") location.hash = `#/${home()}`;
  else await route();
})();
