// The hotline: open a repair, complaint or emergency from its form (with the unit found by
// serial or hospital), and the closed-loop callbacks due, with the script and the form.

import { call, explain, get, newKey, schemas } from "../api.js";
import { actionDialog, caseLink, dueCell } from "../cases.js";
import { clear, el, message, section, table } from "../dom.js";
import { schemaForm } from "../forms.js";
import { t, word } from "../i18n.js";
import { localDate } from "../time.js";

const KINDS = {
  repair: { schema: "RepairCreate", path: "/v1/repairs", title: "intake.repair" },
  complaint: { schema: "ComplaintCreate", path: "/v1/complaints", title: "intake.complaint" },
  emergency: { schema: "EmergencyCreate", path: "/v1/emergencies", title: "intake.emergency" },
};

export async function render(page, args, me) {
  const callbacks = el("div", {}, el("p", { class: "loading" }, t("loading")));
  page.append(
    el("h1", {}, t("hotline.title")),
    section(t("hotline.open"), el("div", { class: "big-buttons" },
      Object.keys(KINDS).map((kind) => el("a", { class: `button big ${kind}`, href: `#/intake/${kind}` }, t(`hotline.${kind}`))))),
    section(t("hotline.callbacks"), callbacks));
  await showCallbacks(callbacks, me);
}

async function showCallbacks(box, me) {
  const [found, hospitals] = await Promise.all([
    get("/v1/cases", { status: "awaiting_callback", sort: "next_due_at", limit: 100 }),
    get("/v1/hospitals"),
  ]);
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const today = localDate();
  const open = found.items.filter((c) => !c.closed_at);
  clear(box).append(table([
    { label: t("col.case"), cell: (c) => caseLink(c.case_id) },
    { label: t("col.kind"), cell: (c) => word(c.kind) },
    { label: t("col.hospital"), cell: (c) => names[c.hospital_id] || c.hospital_id },
    { label: t("col.title"), cell: (c) => c.title },
    { label: t("col.due"), cell: (c) => el("span", {}, dueCell(c),
      c.next_due_at && localDate(new Date(c.next_due_at)) <= today ? el("strong", { class: "today" }, ` ${t("hotline.dueToday")}`) : null) },
    { label: "", cell: (c) => el("button", { type: "button", class: "action", "data-action": "callback",
      onclick: () => callback(c, names[c.hospital_id] || c.hospital_id, me, box) }, word("callback")) },
  ], open, { empty: t("hotline.callbacksNone") }));
}

async function callback(item, hospital, me, box) {
  const found = await get(`/v1/cases/${encodeURIComponent(item.case_id)}/actions`);
  const action = found.actions.find((a) => a.action === "callback");
  if (!action) {
    box.prepend(message("error", t("case.noActions")));
    return;
  }
  const script = el("aside", { class: "script" }, el("h3", {}, t("hotline.script")),
    el("p", {}, t("hotline.scriptText", { agent: me.name, hospital, case: item.case_id, title: item.title })));
  if (await actionDialog(item.case_id, action, { intro: script })) await showCallbacks(box, me);
}

export const intake = {
  async render(page, [kind]) {
    const spec = KINDS[kind];
    if (!spec) throw new Error(`unknown form ${kind}`);
    const [defs, hospitals] = await Promise.all([schemas(), get("/v1/hospitals")]);
    const schema = { ...defs[spec.schema], $defs: defs };
    const hospitalChoices = hospitals.map((h) => ({ value: h.id, label: `${h.name} (${h.id})` }));
    const form = schemaForm(schema, {
      choices: { hospital_id: hospitalChoices },
      values: kind === "repair" ? { observed_at: "now", channel: "phone" } : kind === "complaint" ? { channel: "hotline" } : {},
    });
    const key = newKey();
    const status = el("div", { "aria-live": "polite" });
    const submit = el("button", { type: "submit" }, t("submit"));
    const element = el("form", {
      class: `intake intake-${kind}`, id: "intake-form",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          const created = await call("POST", spec.path, { body: form.read(), key });
          status.replaceChildren(message("ok", t("intake.opened", { case: created.case_id }), " ", caseLink(created.case_id)));
          location.hash = `#/case/${encodeURIComponent(created.case_id)}`;
        } catch (error) {
          form.showError(error);
          submit.disabled = false;
        }
      },
    }, form.node, el("div", { class: "buttons" }, submit));
    page.append(el("h1", {}, t(spec.title)), lookup(element, hospitals), element, status);
    form.focus();
  },
};

// Find the unit by serial, model or department, or by hospital; "use" fills the form.
function lookup(formElement, hospitals) {
  const results = el("div", { class: "lookup-results", "aria-live": "polite" });
  const text = el("input", { id: "lookup-q", type: "search", placeholder: t("intake.lookupHint"), "aria-label": t("intake.lookup") });
  const hospital = el("select", { id: "lookup-hospital", "aria-label": t("col.hospital") },
    el("option", { value: "" }, t("intake.anyHospital")),
    hospitals.map((h) => el("option", { value: h.id }, h.name)));
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const fill = (unit) => {
    for (const [name, value] of [["hospital_id", unit.hospital_id], ["equipment_serial", unit.serial], ["department", unit.department]]) {
      const input = formElement.elements.namedItem(name);
      if (input && value) input.value = value;
    }
    formElement.querySelector("[name=equipment_serial]")?.focus();
  };
  const search = async (event) => {
    event?.preventDefault();
    try {
      const units = await get("/v1/equipment", { q: text.value.trim(), hospital_id: hospital.value, limit: 20 });
      clear(results).append(table([
        { label: t("col.serial"), cell: (u) => u.serial },
        { label: t("col.model"), cell: (u) => `${u.modality} ${u.brand} ${u.model}` },
        { label: t("col.hospital"), cell: (u) => names[u.hospital_id] || u.hospital_name },
        { label: t("col.department"), cell: (u) => u.department },
        { label: "", cell: (u) => el("button", { type: "button", class: "secondary use", "data-serial": u.serial, onclick: () => fill(u) }, t("intake.use")) },
      ], units, { empty: t("intake.lookupNone") }));
    } catch (error) {
      clear(results).append(message("error", explain(error)));
    }
  };
  hospital.addEventListener("change", search);
  return el("form", { class: "lookup card", role: "search", onsubmit: search },
    el("h2", {}, t("intake.lookup")),
    el("div", { class: "inline" }, text, hospital, el("button", { type: "submit", class: "secondary" }, t("search.go"))),
    results);
}
