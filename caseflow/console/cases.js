// What several pages show of cases: links, badges, commitments, and the buttons of the steps a
// person may take now, each opening its form (made from the action's payload schema).

import { explain, get, newKey, post } from "./api.js";
import { el, message, modal, table } from "./dom.js";
import { commitmentName } from "./events.js";
import { schemaForm } from "./forms.js";
import { t, word } from "./i18n.js";
import { countdown, when } from "./time.js";

export function caseLink(caseId) {
  return el("a", { href: `#/case/${encodeURIComponent(caseId)}`, class: "case-id", translate: "no" }, caseId);
}

// A unit's serial, linking to its page (#/equipment/<serial>).
export function equipmentLink(serial) {
  return el("a", { href: `#/equipment/${encodeURIComponent(serial)}`, class: "serial", translate: "no",
    "data-serial": serial }, serial);
}

export function badge(value, kind = "status") {
  if (!value) return el("span", { class: `badge ${kind} none` }, kind === "severity" ? t("board.unclassified") : "");
  return el("span", { class: `badge ${kind} ${kind}-${value}` }, word(value));
}

// The status of a case view; "on site" reached by a remote connection says so.
export function statusBadge(view) {
  const arrived = [...(view.steps || [])].reverse().find((s) => s.action === "arrive" || s.action === "on-site");
  if (view.status === "on_site" && arrived?.data?.mode === "remote") {
    return el("span", { class: "badge status status-on_site remote" }, t("status.remote"));
  }
  return badge(view.status);
}

// An action's name on a case of this kind (a complaint's "assign" names a handler).
export function actionName(action, kind) {
  const own = word(`${kind}:${action}`);
  return own.includes(":") ? word(action) : own;
}

export function dueCell(item) {
  if (!item.next_due_at) return el("span", { class: "muted" }, t("board.noDeadline"));
  return el("span", { class: "due" }, el("span", { class: "due-key" }, commitmentName(item.next_due_key)), " ",
    countdown(item.next_due_at), el("small", {}, when(item.next_due_at)));
}

export function commitmentTable(commitments) {
  return table([
    { label: t("col.commitment"), cell: (c) => commitmentName(c.key, c.round) },
    // waived after its breach: it was never met, and says so
    { label: t("col.state"), cell: (c) => (c.state === "waived" && c.breached
      ? [badge("breached", "state"), " ", badge("waived", "state")] : badge(c.state, "state")) },
    { label: t("col.due"), cell: (c) => c.due_at ? when(c.due_at) : "" },
    { label: t("col.left"), cell: (c) => (c.state === "open" && c.due_at ? countdown(c.due_at) : "") },
    { label: t("col.met"), cell: (c) => when(c.met_at || c.waived_at) },
    { label: t("col.level"), cell: (c) => (c.escalation_level ? t("board.level", { level: c.escalation_level }) : "") },
  ], commitments);
}

const staffCache = new Map();

async function staff(roles) {
  const key = (roles || []).join(",");
  if (!staffCache.has(key)) staffCache.set(key, get("/v1/staff", { role: roles || [] }));
  return staffCache.get(key);
}

// The form of one action in a <dialog>: resolves with the case's new view, or null if closed.
// `intro`: shown above the form (e.g. the callback script).
export async function actionDialog(caseId, action, { intro, kind } = {}) {
  const choices = {};
  const hidden = new Set();
  for (const person of action.people) {
    const prefix = person.within ? `${person.within}.*.` : "";
    hidden.add(prefix + person.name_field);
    const people = await staff(person.roles);
    choices[prefix + person.field] = people.map((p) => ({ value: p.id, label: `${p.name} (${p.id})` }));
  }
  const form = schemaForm(action.payload_schema, { choices, hidden });
  const key = newKey(); // the same key for every submit of this form: one step
  const title = `${actionName(action.action, kind)} · ${caseId}`;
  return modal("action-dialog", title, (done) => {
    const submit = el("button", { type: "submit" }, t("submit"));
    const content = el("form", {
      method: "dialog",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        try {
          done(await post(`/v1/cases/${encodeURIComponent(caseId)}/actions/${action.action}`, form.read(), key));
        } catch (error) {
          form.showError(error);
          submit.disabled = false;
        }
      },
    },
    el("h2", {}, title),
    intro || null,
    form.node,
    el("div", { class: "buttons" }, submit,
      el("button", { type: "button", class: "secondary", onclick: () => done(null) }, t("cancel"))));
    return { content, focus: form.focus };
  });
}

// The buttons of what this person may do on the case now; `after(view)` once a step is taken.
export async function actionButtons(caseId, after, { kind } = {}) {
  const box = el("div", { class: "actions", "data-case": caseId });
  let found;
  try {
    found = await get(`/v1/cases/${encodeURIComponent(caseId)}/actions`);
  } catch (error) {
    box.append(message("error", explain(error)));
    return box;
  }
  if (!found.actions.length) {
    box.append(el("span", { class: "muted" }, t("case.noActions")));
    return box;
  }
  for (const action of found.actions) {
    box.append(el("button", {
      type: "button", class: "action", "data-action": action.action,
      onclick: async () => {
        const view = await actionDialog(caseId, action, { kind });
        if (view) after(view, action);
      },
    }, actionName(action.action, kind)));
  }
  return box;
}
