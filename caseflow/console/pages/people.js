// People, for admins: the directory with its filters, adding and changing a person (role,
// hospital served, channels, console log-in, active), and their API tokens: issued with a
// label and an expiry and shown once, listed without their secret, revoked.

import { ApiError, explain, get, patch, post, remove, schemas } from "../api.js";
import { clear, confirmDialog, el, message, section, table } from "../dom.js";
import { schemaForm } from "../forms.js";
import { language, t, word } from "../i18n.js";
import { when } from "../time.js";

// The fields of PersonCreate / PersonUpdate the forms show, in this order; the work calendar
// and `active` (a button of its own) are left out.
const FIELDS = ["id", "name", "role", "hospital_id", "phone", "email", "channels", "webhook_url", "username", "password"];

let notice = null; // shown once on the next page drawn (after adding or saving)

// PersonCreate's fields (a PATCH takes the same ones); editing, the id is the page's and a
// blank password keeps the one they have.
function personForm(defs, hospitals, { editing = false, values = {} } = {}) {
  const own = defs.PersonCreate;
  const names = FIELDS.filter((f) => f in own.properties && !(editing && f === "id"));
  const properties = Object.fromEntries(names.map((f) => [f, own.properties[f]]));
  return schemaForm({ ...own, properties, required: own.required.filter((f) => names.includes(f)), $defs: defs }, {
    choices: { hospital_id: [{ value: "", label: t("people.everyHospital") },
      ...hospitals.map((h) => ({ value: h.id, label: `${h.name} (${h.id})` }))] },
    labels: { name: t("people.name"), hospital_id: t("people.hospital"),
      password: t(editing ? "people.newPassword" : "people.password") },
    values,
  });
}

function flash(box) {
  if (notice) box.append(message("ok", notice));
  notice = null;
}

const joined = (items) => items.map(word).join(language() === "en" ? ", " : "、");

// #/people: the list; #/people/add: the form of a new person.
export async function render(page, [sub]) {
  if (sub === "add") return add(page);
  const [defs, hospitals] = await Promise.all([schemas(), get("/v1/hospitals")]);
  const names = Object.fromEntries(hospitals.map((h) => [h.id, h.name]));
  const any = () => el("option", { value: "" }, t("search.any"));
  const role = el("select", { id: "people-role" }, any(), defs.Role.enum.map((r) => el("option", { value: r }, word(r))));
  const active = el("select", { id: "people-active" }, any(),
    el("option", { value: "true" }, t("people.active")), el("option", { value: "false" }, t("people.inactive")));
  const hospital = el("select", { id: "people-hospital" }, any(), hospitals.map((h) => el("option", { value: h.id, translate: "no" }, h.name)));
  const results = el("div", { class: "results", "aria-live": "polite" });
  const show = async (event) => {
    event?.preventDefault();
    try {
      const found = await get("/v1/people", { role: role.value, active: active.value, hospital_id: hospital.value });
      clear(results).append(table([
        { label: t("col.id"), cell: (p) => el("a", { href: `#/person/${encodeURIComponent(p.id)}`, class: "person-id", "data-person": p.id, translate: "no" }, p.id) },
        { label: t("col.name"), cell: (p) => el("span", { translate: "no" }, p.name) },
        { label: t("col.role"), cell: (p) => word(p.role) },
        { label: t("people.hospital"), cell: (p) => (p.hospital_id ? el("span", { translate: "no" }, names[p.hospital_id] || p.hospital_id)
          : el("span", { class: "muted" }, t("people.everyHospital"))) },
        { label: t("col.channels"), cell: (p) => joined(p.channels) },
        { label: t("col.username"), cell: (p) => el("span", { translate: "no" }, p.username || "") },
        { label: t("col.canSignIn"), cell: (p) => (p.can_sign_in ? t("yes") : t("no")) },
        { label: t("col.active"), cell: (p) => activeBadge(p) },
      ], found, { empty: t("people.none") }));
    } catch (error) {
      clear(results).append(message("error", explain(error)));
    }
  };
  for (const control of [role, active, hospital]) control.addEventListener("change", show);
  page.append(
    el("div", { class: "page-head" }, el("h1", {}, t("people.title")),
      el("a", { class: "button", href: "#/people/add", id: "add-person" }, t("people.add"))),
    el("form", { class: "inline card", id: "people-filters", role: "search", onsubmit: show },
      el("label", {}, t("people.role"), role), el("label", {}, t("people.status"), active),
      el("label", {}, t("people.hospital"), hospital),
      el("button", { type: "submit", class: "secondary" }, t("refresh"))),
    results);
  await show();
}

function activeBadge(person) {
  return el("span", { class: `badge ${person.active ? "person-active" : "person-inactive"}` },
    t(person.active ? "people.active" : "people.inactive"));
}

async function add(page) {
  const [defs, hospitals] = await Promise.all([schemas(), get("/v1/hospitals")]);
  const form = personForm(defs, hospitals, { values: { channels: ["log"] } });
  const submit = el("button", { type: "submit" }, t("people.create"));
  const element = el("form", {
    class: "person-form", id: "person-form",
    onsubmit: async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const created = await post("/v1/people", form.read());
        notice = t("people.added", { name: created.name });
        location.hash = `#/person/${encodeURIComponent(created.id)}`;
      } catch (error) {
        form.showError(error);
        submit.disabled = false;
      }
    },
  }, form.node, el("div", { class: "buttons" }, submit, el("a", { class: "button secondary", href: "#/people" }, t("cancel"))));
  page.append(el("h1", {}, t("people.add")), element);
  form.focus();
}

// What to PATCH: the fields that changed; a field emptied is cleared ("", or null for the
// webhook), and the API says which ones cannot be (a user name, a name).
function changes(before, after) {
  const body = {};
  for (const name of FIELDS.filter((f) => f !== "id")) {
    const now = after[name];
    const was = before[name];
    if (name === "password") {
      if (now) body.password = now;
    } else if (now === undefined) {
      if (was !== null && was !== undefined && was !== "") body[name] = name === "webhook_url" ? null : "";
    } else if (JSON.stringify(now) !== JSON.stringify(was)) {
      body[name] = now;
    }
  }
  return body;
}

// #/person/{id}: their details to change, deactivate or reactivate, and their API tokens.
export const person = {
  async render(page, [id], me) {
    const [defs, hospitals, everyone] = await Promise.all([schemas(), get("/v1/hospitals"), get("/v1/people")]);
    const one = everyone.find((p) => p.id === id);
    if (!one) throw new ApiError(404, { detail: t("people.unknown", { id }) });
    const again = async (text) => {
      notice = text;
      const fresh = el("div", {});
      await person.render(fresh, [id], me);
      page.replaceChildren(...fresh.childNodes);
    };
    const head = el("div", {});
    flash(head);

    const form = personForm(defs, hospitals, { editing: true, values: {
      name: one.name, role: one.role, hospital_id: one.hospital_id, phone: one.phone, email: one.email,
      channels: one.channels, webhook_url: one.webhook_url, username: one.username,
    } });
    const status = el("div", { "aria-live": "polite" });
    const save = el("button", { type: "submit" }, t("people.save"));
    const details = el("form", {
      class: "person-form", id: "person-form",
      onsubmit: async (event) => {
        event.preventDefault();
        const body = changes(one, form.read());
        form.showErrors([]);
        if (!Object.keys(body).length) {
          status.replaceChildren(message("ok", t("people.unchanged")));
          return;
        }
        save.disabled = true;
        try {
          await patch(`/v1/people/${encodeURIComponent(id)}`, body);
          await again(t("people.saved"));
        } catch (error) {
          form.showError(error);
          save.disabled = false;
        }
      },
    }, form.node, el("div", { class: "buttons" }, save), status);

    page.append(
      el("div", { class: "page-head" }, el("h1", {}, el("span", { translate: "no" }, `${one.name} (${one.id})`)), activeBadge(one)),
      el("p", {}, el("a", { href: "#/people" }, `← ${t("people.title")}`)),
      head,
      section(t("people.details"), details),
      section(t("people.account"), account(one, again)),
      section(t("tokens.title"), await tokens(one)));
  },
};

function account(one, again) {
  const status = el("div", { class: "account-status", "aria-live": "polite" });
  const deactivating = one.active;
  const toggle = async () => {
    const confirmed = await confirmDialog(
      t(deactivating ? "people.confirmDeactivate" : "people.confirmReactivate", { name: one.name }),
      t(deactivating ? "people.deactivateText" : "people.reactivateText"),
      t(deactivating ? "people.deactivate" : "people.reactivate"));
    if (!confirmed) return;
    try {
      await patch(`/v1/people/${encodeURIComponent(one.id)}`, { active: !deactivating });
      await again(t(deactivating ? "people.deactivated" : "people.reactivated", { name: one.name }));
    } catch (error) {
      status.replaceChildren(message("error", explain(error)));
    }
  };
  return el("div", { class: "card" },
    el("p", {}, t(one.active ? "people.isActive" : "people.isInactive")),
    el("button", { type: "button", id: "toggle-active", class: deactivating ? "danger" : "secondary", onclick: toggle },
      t(deactivating ? "people.deactivate" : "people.reactivate")),
    status);
}

function tokenState(token) {
  if (token.revoked_at) return el("span", { class: "badge token-revoked" }, t("tokens.isRevoked"));
  if (token.expires_at && new Date(token.expires_at) <= new Date()) return el("span", { class: "badge token-expired" }, t("tokens.expired"));
  return el("span", { class: "badge token-valid" }, t("tokens.valid"));
}

async function tokens(one) {
  const defs = await schemas();
  const list = el("div", { class: "token-list", "aria-live": "polite" });
  const status = el("div", { "aria-live": "polite" });
  const once = el("div", { id: "token-once" });
  const showRevoked = el("input", { type: "checkbox", id: "show-revoked" });
  const show = async () => {
    try {
      const found = await get("/v1/tokens", { person_id: one.id, include_revoked: showRevoked.checked ? "true" : null });
      clear(list).append(table([
        { label: "#", cell: (k) => String(k.id) },
        { label: t("col.label"), cell: (k) => el("span", { translate: "no" }, k.label) },
        { label: t("col.issued"), cell: (k) => when(k.created_at) },
        { label: t("col.issuedBy"), cell: (k) => k.created_by },
        { label: t("col.expires"), cell: (k) => (k.expires_at ? when(k.expires_at) : t("tokens.never")) },
        { label: t("col.state"), cell: tokenState },
        { label: "", cell: (k) => (k.revoked_at ? "" : el("button", {
          type: "button", class: "link revoke", "data-token": k.id, onclick: () => revoke(k),
        }, t("tokens.revoke"))) },
      ], found, { empty: t("tokens.none") }));
    } catch (error) {
      clear(list).append(message("error", explain(error)));
    }
  };
  const revoke = async (token) => {
    const confirmed = await confirmDialog(t("tokens.confirmRevoke", { label: token.label }), t("tokens.revokeText"), t("tokens.revoke"));
    if (!confirmed) return;
    try {
      await remove(`/v1/tokens/${token.id}`);
      status.replaceChildren(message("ok", t("tokens.revoked", { label: token.label })));
    } catch (error) {
      status.replaceChildren(message("error", explain(error)));
    }
    await show();
  };
  showRevoked.addEventListener("change", show);
  await show();
  const parts = [el("div", { class: "buttons" }, el("span", { class: "check" }, showRevoked,
    el("label", { for: "show-revoked" }, t("tokens.showRevoked")))), list, status, once];
  if (!one.active) return el("div", {}, parts, el("p", { class: "muted" }, t("tokens.inactive")));

  const form = schemaForm({ ...defs.TokenCreate, $defs: defs }, { values: { expires_in_days: 90 } });
  const submit = el("button", { type: "submit" }, t("tokens.issue"));
  const issue = el("form", {
    class: "card token-form", id: "token-form",
    onsubmit: async (event) => {
      event.preventDefault();
      const body = { expires_in_days: null, ...form.read() }; // a blank expiry: never expires
      submit.disabled = true;
      try {
        const issued = await post(`/v1/people/${encodeURIComponent(one.id)}/tokens`, body);
        form.showErrors([]);
        issue.reset();
        showOnce(once, issued);
        await show();
      } catch (error) {
        form.showError(error);
      }
      submit.disabled = false;
    },
  }, el("h3", {}, t("tokens.issue")), form.node,
  language() === "en" ? null : el("p", { class: "hint" }, t("tokens.neverHint")), // English: the schema's own
  el("div", { class: "buttons" }, submit));
  return el("div", {}, parts, issue);
}

// The new token, this once: nothing keeps it but this box, gone when closed or the page is left.
function showOnce(box, issued) {
  const secret = el("input", {
    id: "issued-token", class: "secret", readonly: true, value: issued.token, spellcheck: "false",
    autocomplete: "off", "aria-label": t("tokens.secret"),
  });
  const copied = el("span", { class: "copied", "aria-live": "polite" });
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(issued.token);
      copied.textContent = t("tokens.copied");
    } catch {
      secret.select();
      copied.textContent = document.execCommand("copy") ? t("tokens.copied") : t("tokens.copyByHand");
    }
  };
  box.replaceChildren(el("div", { class: "once", role: "alert" },
    el("h3", {}, t("tokens.issued", { label: issued.label })),
    el("p", {}, el("strong", {}, t("tokens.once"))),
    el("div", { class: "inline" }, secret,
      el("button", { type: "button", id: "copy-token", onclick: copy }, t("tokens.copy")), copied),
    el("div", { class: "buttons" },
      el("button", { type: "button", class: "secondary", id: "token-saved", onclick: () => box.replaceChildren() }, t("tokens.done")))));
  secret.focus();
  secret.select();
}
