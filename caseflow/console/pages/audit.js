// Search and audit: find cases by id or filters, page through them, export them as CSV; each
// case opens on its page (timeline, commitments, export, replay, Temporal UI).

import { call, explain, get, schemas } from "../api.js";
import { badge, caseLink } from "../cases.js";
import { clear, el, message, table } from "../dom.js";
import { t, word } from "../i18n.js";
import { fromInput, when } from "../time.js";

const KINDS = ["repair", "complaint", "emergency", "installation", "maintenance", "adverse_event"];
const SEVERITIES = ["critical", "severe", "general", "minor"];

// The statuses of each kind, from the API's own enums: a closed vocabulary, chosen from a list.
const STATUS_ENUMS = { repair: "RepairStatus", complaint: "ComplaintStatus", emergency: "EmergencyStatus",
  installation: "InstallationStatus", maintenance: "VisitStatus", adverse_event: "AdverseEventStatus" };

export async function render(page) {
  const [hospitals, defs] = await Promise.all([get("/v1/hospitals"), schemas()]);
  const statuses = [...new Set(Object.values(STATUS_ENUMS).flatMap((name) => defs[name]?.enum || []))];
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const field = (label, control) => el("div", { class: "field" }, el("label", { for: control.id }, label), control);
  const select = (id, values, label = word) => el("select", { id, name: id },
    el("option", { value: "" }, t("search.any")), values.map((v) => el("option", { value: v, translate: label === word ? null : "no" }, label(v))));
  const caseId = el("input", { id: "case-id", name: "case_id", placeholder: "RP-20261122-000001", autocomplete: "off", translate: "no" });
  const controls = {
    kind: select("kind", KINDS),
    severity: select("severity", SEVERITIES),
    status: select("status", statuses),
    hospital_id: select("hospital_id", hospitals.map((h) => h.id), (id) => names[id]),
    equipment_serial: el("input", { id: "equipment_serial", name: "equipment_serial" }),
    q: el("input", { id: "q", name: "q", type: "search" }),
    opened_from: el("input", { id: "opened_from", type: "datetime-local" }),
    opened_to: el("input", { id: "opened_to", type: "datetime-local" }),
  };
  const breached = el("input", { id: "breached", type: "checkbox" });
  const results = el("div", { class: "results", "aria-live": "polite" });
  const params = () => {
    const found = { sort: "-opened_at", limit: 50 };
    for (const [name, control] of Object.entries(controls)) {
      const value = control.type === "datetime-local" ? fromInput(control.value) : control.value.trim();
      if (value) found[name] = value;
    }
    if (breached.checked) found.breached = "true";
    return found;
  };
  let asked = 0; // an answer to an earlier search arriving late does not replace a later one
  const search = async (cursor) => {
    const mine = ++asked;
    try {
      const found = await get("/v1/cases", { ...params(), cursor });
      if (mine !== asked) return;
      const list = table([
        { label: t("col.case"), cell: (c) => caseLink(c.case_id) },
        { label: t("col.kind"), cell: (c) => word(c.kind) },
        { label: t("col.status"), cell: (c) => badge(c.status) },
        { label: t("col.severity"), cell: (c) => badge(c.severity, "severity") },
        { label: t("col.hospital"), cell: (c) => el("span", { translate: "no" }, names[c.hospital_id] || c.hospital_id) },
        { label: t("col.title"), cell: (c) => el("span", { translate: "no" }, c.title) },
        { label: t("col.opened"), cell: (c) => when(c.opened_at) },
        { label: t("breached"), cell: (c) => (c.breached ? el("span", { class: "badge breached" }, t("breached")) : "") },
      ], found.items, { empty: t("search.none") });
      if (!cursor) clear(results);
      results.querySelector(".more")?.remove();
      results.append(list);
      if (found.next_cursor) {
        results.append(el("button", { type: "button", class: "secondary more", onclick: () => search(found.next_cursor) }, t("search.more")));
      }
    } catch (error) {
      if (mine === asked) clear(results).append(message("error", explain(error)));
    }
  };
  const csv = async () => {
    try {
      const filters = params(); // the CSV takes the filters, oldest first, no sort or page
      delete filters.sort;
      filters.limit = 10000;
      const response = await call("GET", "/v1/exports/cases.csv", { params: filters, raw: true });
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: "cases.csv" });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      clear(results).append(message("error", explain(error)));
    }
  };
  page.append(
    el("h1", {}, t("search.title")),
    el("form", { class: "inline card", role: "search", id: "open-case",
      onsubmit: (event) => {
        event.preventDefault();
        if (caseId.value.trim()) location.hash = `#/case/${encodeURIComponent(caseId.value.trim())}`;
      } },
    field(t("search.caseId"), caseId), el("button", { type: "submit" }, t("search.open"))),
    el("form", { class: "filters card", role: "search", id: "filters",
      onsubmit: (event) => {
        event.preventDefault();
        search();
      } },
    el("div", { class: "grid" },
      field(t("col.kind"), controls.kind), field(t("col.severity"), controls.severity),
      field(t("col.status"), controls.status), field(t("col.hospital"), controls.hospital_id),
      field(t("col.serial"), controls.equipment_serial), field(t("col.from"), controls.opened_from),
      field(t("col.to"), controls.opened_to), field(t("hotline.find"), controls.q),
      el("div", { class: "field check" }, breached, el("label", { for: "breached" }, t("col.breachedOnly")))),
    el("div", { class: "buttons" }, el("button", { type: "submit" }, t("search.go")),
      el("button", { type: "button", class: "secondary", onclick: csv }, t("search.csv")))),
    results);
  await search();
}
