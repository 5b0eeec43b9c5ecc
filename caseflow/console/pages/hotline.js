// The hotline: open a repair, complaint or emergency from its form (with the unit found by
// serial or hospital, and a warning when it already has an open case), find a case by any
// text, and its own work queues (hand-over checks, confirmations to chase, callbacks), live.

import { call, explain, get, newKey, schemas } from "../api.js";
import { actionDialog, badge, caseLink } from "../cases.js";
import { clear, el, message, section, table } from "../dom.js";
import { commitmentName } from "../events.js";
import { schemaForm } from "../forms.js";
import { t, word } from "../i18n.js";
import { keepLive } from "../live.js";
import { countdown, localDate, when } from "../time.js";

// What a form starts with, for the kinds that want more than their schema's defaults.
const DEFAULTS = { repair: { observed_at: "now", channel: "phone" }, complaint: { channel: "hotline" } };

// The kinds opened at the desk that this sign-in may open (GET /v1/kinds: the registry's).
async function deskKinds(me) {
  const kinds = await get("/v1/kinds");
  return kinds.filter((k) => k.desk && k.open_with && me.capabilities.includes(k.open_with));
}

// A text of the console about a kind (`hotline.repair`), or the kind's own word if it has none.
const about = (key, kind) => (t(key) === key ? word(kind) : t(key));

export async function render(page, args, me) {
  const hospitals = await get("/v1/hospitals");
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const queues = el("div", { class: "queues" });
  const draw = async (box) => box.append(...await Promise.all(QUEUES.map((name) => queueSection(name, names, me))));
  page.append(
    el("h1", {}, t("hotline.title")),
    section(t("hotline.open"), el("div", { class: "big-buttons" },
      (await deskKinds(me)).map(({ name }) => el("a", { class: `button big ${name}`, href: `#/intake/${name}` }, about(`hotline.${name}`, name))))),
    section(t("hotline.find"), finder(names)),
    queues);
  await draw(queues);
  keepLive(queues, draw, (m) => m.type === "case");
}

// The hotline's own work, each queue the soonest due first.
const QUEUES = ["handover", "confirmation", "callback"];

async function queueSection(name, names, me) {
  const found = await get(`/v1/queues/${name}`, { limit: 100 });
  const today = localDate();
  return section(t(`queue.${name}`), table([
    { label: t("col.case"), cell: (i) => caseLink(i.case.case_id) },
    { label: t("col.kind"), cell: (i) => word(i.case.kind) },
    { label: t("col.hospital"), cell: (i) => el("span", { translate: "no" }, names[i.case.hospital_id] || i.case.hospital_id) },
    { label: t("col.title"), cell: (i) => el("span", { translate: "no" }, i.case.title) },
    { label: t("col.due"), cell: (i) => el("span", { class: "due" }, el("span", { class: "due-key" }, commitmentName(i.commitment)), " ",
      i.due_at ? countdown(i.due_at) : null, i.due_at ? el("small", {}, when(i.due_at)) : null,
      i.due_at && localDate(new Date(i.due_at)) <= today ? el("strong", { class: "today" }, ` ${t("hotline.dueToday")}`) : null) },
    { label: "", cell: (i) => el("button", { type: "button", class: "action", "data-action": QUEUE_ACTION[name], "data-case": i.case.case_id,
      onclick: () => step(i.case, QUEUE_ACTION[name], names[i.case.hospital_id] || i.case.hospital_id, me) },
    word(QUEUE_ACTION[name])) },
  ], found.items, { empty: t(`queue.${name}None`) }));
}

const QUEUE_ACTION = { handover: "confirm-handover", confirmation: "confirm", callback: "callback" };

// The queue's step on a case, in its form; a callback with the script and the number to call.
async function step(item, name, hospital, me) {
  const [found, view] = await Promise.all([get(`/v1/cases/${encodeURIComponent(item.case_id)}/actions`),
    get(`/v1/cases/${encodeURIComponent(item.case_id)}`)]);
  const action = found.actions.find((a) => a.action === name || (name === "callback" && a.action === "survey"));
  if (!action) return;
  const intake = view.intake || {};
  const phone = intake.reporter_phone || intake.complainant_contact || intake.contact_phone;
  const caller = intake.reporter_name || intake.complainant_name || intake.contact_name;
  const call = phone ? el("p", { class: "call" }, `${t("hotline.call")}: `, el("span", { translate: "no" }, caller || ""), " ",
    el("a", { href: `tel:${phone.replace(/[^0-9+]/g, "")}`, class: "tel", translate: "no" }, phone)) : null;
  const intro = name === "callback"
    ? el("aside", { class: "script" }, el("h3", {}, t("hotline.script")), call,
      el("p", {}, t("hotline.scriptText", { agent: me.name, hospital, case: item.case_id, title: item.title })))
    : call;
  await actionDialog(item.case_id, action, { intro, kind: item.kind });
}

// Find a case by any text: number, caller's name or phone, words of the symptom or a step.
function finder(names) {
  const input = el("input", { id: "find-q", type: "search", "aria-label": t("hotline.find"), placeholder: t("hotline.findHint") });
  const results = el("div", { class: "find-results", "aria-live": "polite" });
  const search = async (event) => {
    event.preventDefault();
    if (!input.value.trim()) return;
    try {
      const found = await get("/v1/cases", { q: input.value.trim(), limit: 50 });
      results.replaceChildren(table([
        { label: t("col.case"), cell: (c) => caseLink(c.case_id) },
        { label: t("col.kind"), cell: (c) => word(c.kind) },
        { label: t("col.status"), cell: (c) => badge(c.status) },
        { label: t("col.hospital"), cell: (c) => el("span", { translate: "no" }, names[c.hospital_id] || c.hospital_id) },
        { label: t("col.title"), cell: (c) => el("span", { translate: "no" }, c.title) },
        { label: t("col.opened"), cell: (c) => when(c.opened_at) },
      ], found.items, { empty: t("search.none") }));
    } catch (error) {
      results.replaceChildren(message("error", explain(error)));
    }
  };
  return el("form", { class: "card find", role: "search", id: "find-form", onsubmit: search },
    el("div", { class: "inline" }, input, el("button", { type: "submit" }, t("search.go"))), results);
}

export const intake = {
  async render(page, [kind], me) {
    const spec = (await deskKinds(me)).find((k) => k.name === kind);
    if (!spec) throw new Error(`unknown form ${kind}`);
    const [defs, hospitals] = await Promise.all([schemas(), get("/v1/hospitals")]);
    const schema = { ...defs[spec.intake_schema], $defs: defs };
    const hospitalChoices = hospitals.map((h) => ({ value: h.id, label: `${h.name} (${h.id})` }));
    const form = schemaForm(schema, {
      choices: { hospital_id: hospitalChoices },
      values: DEFAULTS[kind] || {},
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
          const created = await call("POST", `/v1/${spec.collection}`, { body: form.read(), key });
          status.replaceChildren(message("ok", t("intake.opened", { case: created.case_id }), " ", caseLink(created.case_id)));
          location.hash = `#/case/${encodeURIComponent(created.case_id)}`;
        } catch (error) {
          form.showError(error);
          submit.disabled = false;
        }
      },
    }, form.node, el("div", { class: "buttons" }, submit));
    const warning = el("div", { class: "open-already", "aria-live": "polite" });
    const serial = element.querySelector("[name=equipment_serial]");
    const check = async () => {
      const value = serial?.value.trim();
      if (!value) return warning.replaceChildren();
      try {
        const found = await get("/v1/cases", { equipment_serial: value, open: "true", limit: 10 });
        warning.replaceChildren(...(found.items.length ? [message("warning", t("intake.openAlready"), " ",
          found.items.map((c) => [caseLink(c.case_id), " ", badge(c.status), " "]))] : []));
      } catch {
        warning.replaceChildren();
      }
    };
    serial?.addEventListener("change", check);
    page.append(el("h1", {}, about(`intake.${kind}`, kind)), lookup(element, hospitals, check), warning, element, status);
    form.focus();
  },
};

// Find the unit by serial, model or department, or by hospital; "use" fills the form.
function lookup(formElement, hospitals, chosen) {
  const results = el("div", { class: "lookup-results", "aria-live": "polite" });
  const text = el("input", { id: "lookup-q", type: "search", placeholder: t("intake.lookupHint"), "aria-label": t("intake.lookup") });
  const hospital = el("select", { id: "lookup-hospital", "aria-label": t("col.hospital") },
    el("option", { value: "" }, t("intake.anyHospital")),
    hospitals.map((h) => el("option", { value: h.id, translate: "no" }, h.name)));
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const fill = (unit) => {
    for (const [name, value] of [["hospital_id", unit.hospital_id], ["equipment_serial", unit.serial], ["department", unit.department]]) {
      const input = formElement.elements.namedItem(name);
      if (input && value) input.value = value;
    }
    formElement.querySelector("[name=equipment_serial]")?.focus();
    chosen();
  };
  const search = async (event) => {
    event?.preventDefault();
    try {
      const units = await get("/v1/equipment", { q: text.value.trim(), hospital_id: hospital.value, limit: 20 });
      clear(results).append(table([
        { label: t("col.serial"), cell: (u) => u.serial },
        { label: t("col.model"), cell: (u) => `${u.modality} ${u.brand} ${u.model}` },
        { label: t("col.hospital"), cell: (u) => el("span", { translate: "no" }, names[u.hospital_id] || u.hospital_name) },
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
