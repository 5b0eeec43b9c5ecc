// Forms made from the JSON Schema of a payload (pydantic's, as the API gives it), so every form
// follows the action rules and intake models of the server; values read back into the payload.

import { explain, fieldReason } from "./api.js";
import { el, append } from "./dom.js";
import { language, t, word } from "./i18n.js";
import { fromInput, localInput } from "./time.js";

let counter = 0;
const nextId = () => `f${++counter}`;

// Paths are dotted ("verification.accuracy.0.measured"); patterns use "*" for list indices.
const pattern = (path) => path.split(".").map((p) => (/^\d+$/.test(p) ? "*" : p)).join(".");
const join = (path, name) => (path ? `${path}.${name}` : String(name));

// schemaForm(schema, {choices, hidden, values, labels})
//   -> {node, read(), showErrors(fields, fallback), showError(error), focus()}
//   choices: {pattern: [{value, label}]} renders a <select> for that field;
//   hidden: Set of patterns left out (fields the server fills in);
//   values: {path: value} initial values;
//   labels: {pattern: text} this form's own label of a field (else the i18n word).
export function schemaForm(schema, options = {}) {
  const context = {
    root: schema, choices: options.choices || {}, hidden: options.hidden || new Set(),
    values: options.values || {}, labels: options.labels || {}, slots: new Map(),
  };
  const control = objectFields(schema, "", context);
  const general = el("div", { class: "form-errors", role: "alert" });
  const node = el("div", { class: "schema-form" }, general, control.nodes);
  return {
    node,
    read: () => control.read(),
    focus: () => node.querySelector("input, select, textarea")?.focus(),
    showErrors(fields, fallback) {
      for (const slot of context.slots.values()) slot.textContent = "";
      for (const slot of node.querySelectorAll("[aria-invalid]")) slot.removeAttribute("aria-invalid");
      general.textContent = "";
      const unplaced = [];
      for (const item of fields || []) {
        const loc = (item.loc || []).filter((p, i) => !(i === 0 && p === "body")).map(String);
        let placed = false;
        for (let n = loc.length; n > 0 && !placed; n--) {
          const slot = context.slots.get(loc.slice(0, n).join("."));
          if (slot) {
            slot.textContent = fieldReason(item);
            slot.previousElementSibling?.setAttribute?.("aria-invalid", "true");
            placed = true;
          }
        }
        if (!placed) unplaced.push(`${loc.map((p) => word(p)).join(" · ")}: ${fieldReason(item)}`);
      }
      if (fallback) unplaced.unshift(fallback);
      if (unplaced.length) append(general, unplaced.map((text) => el("p", {}, text)));
      node.querySelector(".field-error:not(:empty), .form-errors:not(:empty)")
        ?.scrollIntoView({ block: "center" });
    },
    // A refused submit: the API's field errors next to their fields, or its reason over the form.
    showError(error) {
      this.showErrors(error.fields, error.fields?.length ? t("error.fields") : explain(error));
    },
  };
}

function resolve(schema, context) {
  if (schema && schema.$ref) {
    const name = schema.$ref.split("/").pop();
    return { ...context.root.$defs[name], ...omit(schema, "$ref") };
  }
  return schema || {};
}

function omit(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}

// {schema, optional, decimal}: anyOf [X, null] is an optional X; [number, string] a decimal.
function unwrap(raw, context) {
  let schema = resolve(raw, context);
  let optional = false;
  if (schema.anyOf) {
    const kinds = schema.anyOf.map((s) => resolve(s, context));
    const rest = kinds.filter((s) => s.type !== "null");
    optional = rest.length < kinds.length;
    if (rest.length === 2 && rest.some((s) => s.type === "number") && rest.some((s) => s.type === "string")) {
      return { schema: { ...schema, ...rest[0], anyOf: undefined }, optional, decimal: true };
    }
    if (rest.length === 1) schema = { ...omit(schema, "anyOf"), ...rest[0], description: schema.description || rest[0].description };
  }
  return { schema, optional, decimal: false };
}

function objectFields(schema, path, context) {
  const object = resolve(schema, context);
  const required = new Set(object.required || []);
  const parts = [];
  for (const [name, raw] of Object.entries(object.properties || {})) {
    const here = join(path, name);
    if (context.hidden.has(pattern(here))) continue;
    parts.push([name, field(raw, here, name, !required.has(name), context)]);
  }
  return {
    nodes: parts.map(([, c]) => c.node),
    read() {
      const value = {};
      for (const [name, c] of parts) {
        const one = c.read();
        if (one !== undefined) value[name] = one;
      }
      return value;
    },
  };
}

function label(name, schema) {
  const own = word(`field:${name}`);
  if (!own.startsWith("field:")) return own;
  const known = word(name);
  return known && known !== String(name).replace(/[_-]+/g, " ") ? known : (schema.title || known);
}

function hint(schema) {
  return language() === "en" && schema.description ? schema.description : null;
}

// One labelled field of any shape.
function field(raw, path, name, notRequired, context) {
  const { schema, optional: nullable, decimal } = unwrap(raw, context);
  const optional = notRequired || nullable;
  const id = nextId();
  const error = el("p", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
  context.slots.set(path, error);
  const title = context.labels[pattern(path)] || label(name, schema);
  const initial = path in context.values ? context.values[path] : schema.default;
  const choices = context.choices[pattern(path)];
  const attrs = { id, name: path, "aria-describedby": `${id}-error` };

  if (choices) { // a choice of value "" names what leaving the field empty means
    const select = el("select", { ...attrs, required: !optional },
      choices.some((c) => c.value === "") ? null : el("option", { value: "" }, optional ? `(${t("optional")})` : "—"),
      choices.map((c) => el("option", { value: c.value, selected: c.value === initial, translate: c.value ? "no" : null }, c.label)));
    return wrap(title, id, select, error, schema, optional, () => select.value || undefined);
  }
  if (schema.type === "object" && schema.additionalProperties && typeof schema.additionalProperties === "object") {
    return mapField(schema, path, title, error, context);
  }
  if (schema.type === "object" || schema.properties) {
    const inner = objectFields(schema, path, context);
    const box = el("fieldset", { class: "group" }, el("legend", {}, title), inner.nodes, error);
    return { node: box, read: inner.read };
  }
  if (schema.type === "array") return arrayField(schema, path, title, error, optional, context);
  if (schema.enum) {
    const select = el("select", { ...attrs, required: !optional },
      el("option", { value: "" }, optional ? `(${t("optional")})` : "—"),
      schema.enum.map((v) => el("option", { value: v, selected: v === initial }, word(v))));
    return wrap(title, id, select, error, schema, optional, () => select.value || undefined);
  }
  if (schema.type === "boolean") {
    const box = el("input", { ...attrs, type: "checkbox", checked: initial === true });
    const node = el("div", { class: "field check" }, box, el("label", { for: id }, title), error);
    return { node, read: () => box.checked };
  }
  if (schema.type === "integer" && schema.minimum !== undefined && schema.maximum !== undefined
      && schema.maximum - schema.minimum <= 10) {
    const options = [];
    for (let v = schema.minimum; v <= schema.maximum; v++) options.push(v);
    const group = el("fieldset", { class: "field scale" }, el("legend", {}, title),
      el("div", { class: "scale-options" }, options.map((v) => {
        const one = `${id}-${v}`;
        return el("span", {}, el("input", { type: "radio", id: one, name: path, value: v, required: !optional, checked: v === initial }),
          el("label", { for: one }, String(v)));
      })), error);
    return {
      node: group,
      read: () => {
        const chosen = group.querySelector("input:checked");
        return chosen ? Number(chosen.value) : undefined;
      },
    };
  }
  if (schema.type === "integer" || schema.type === "number" || decimal) {
    const input = el("input", {
      ...attrs, type: decimal ? "text" : "number", inputmode: "decimal", required: !optional,
      step: schema.type === "integer" ? 1 : "any", min: schema.minimum, max: schema.maximum,
      value: initial ?? "",
    });
    return wrap(title, id, input, error, schema, optional, () => {
      if (input.value.trim() === "") return undefined;
      return decimal ? input.value.trim() : Number(input.value);
    });
  }
  if (schema.format === "date-time") {
    const input = el("input", { ...attrs, type: "datetime-local", required: !optional,
      value: initial === "now" ? localInput() : (initial ? localInput(new Date(initial)) : "") });
    return wrap(title, id, input, error, schema, optional, () => fromInput(input.value));
  }
  if (schema.format === "date") {
    const input = el("input", { ...attrs, type: "date", required: !optional, value: initial ?? "" });
    return wrap(title, id, input, error, schema, optional, () => input.value || undefined);
  }
  if (schema.type === "string" && schema.format === "password") { // sent as typed, never trimmed
    const input = el("input", { ...attrs, type: "password", autocomplete: "new-password", required: !optional });
    return wrap(title, id, input, error, schema, optional, () => (input.value === "" && optional ? undefined : input.value));
  }
  if (schema.type === "string") {
    const long = (schema.maxLength || 0) > 200 && schema.format !== "uri";
    const type = schema.format === "uri" ? "url" : name.includes("phone") ? "tel" : "text";
    const input = long
      ? el("textarea", { ...attrs, rows: name === "note" || name === "comment" ? 2 : 3, required: !optional && schema.minLength > 0, maxlength: schema.maxLength }, initial ?? "")
      : el("input", { ...attrs, type, required: !optional && (schema.minLength > 0 || schema.pattern),
        maxlength: schema.maxLength, value: initial ?? "" });
    return wrap(title, id, input, error, schema, optional, () => {
      const value = input.value.trim();
      if (value === "") return optional ? undefined : "";
      return value;
    });
  }
  // Anything else: JSON, as the API documents it.
  const area = el("textarea", { ...attrs, rows: 3, class: "json" }, initial !== undefined ? JSON.stringify(initial) : "");
  return wrap(`${title} (JSON)`, id, area, error, schema, optional, () => {
    if (!area.value.trim()) return undefined;
    try {
      return JSON.parse(area.value);
    } catch {
      return area.value;
    }
  });
}

function wrap(title, id, control, error, schema, optional, read) {
  const node = el("div", { class: "field" },
    el("label", { for: id }, title, optional ? el("span", { class: "optional" }, ` (${t("optional")})`) : null),
    control, hint(schema) ? el("small", { class: "hint" }, hint(schema)) : null, error);
  return { node, read };
}

function arrayField(schema, path, title, error, optional, context) {
  const items = unwrap(schema.items || {}, context).schema;
  const initial = context.values[path] ?? schema.default;
  if (items.enum) { // a set of choices: check boxes
    const chosen = new Set(initial || []);
    const boxes = items.enum.map((v) => {
      const id = nextId();
      return [v, el("input", { type: "checkbox", id, value: v, checked: chosen.has(v) }), id];
    });
    const node = el("fieldset", { class: "field checks" }, el("legend", {}, title),
      boxes.map(([v, box, id]) => el("span", {}, box, el("label", { for: id }, word(v)))), error);
    return { node, read: () => boxes.filter(([, box]) => box.checked).map(([v]) => v) };
  }
  if (items.type === "string" || items.type === "number") { // one per line
    const id = nextId();
    const area = el("textarea", { id, name: path, rows: 2 }, (initial || []).join("\n"));
    const node = wrap(title, id, area, error, schema, true, null).node;
    return {
      node,
      read: () => {
        const lines = area.value.split("\n").map((s) => s.trim()).filter(Boolean);
        if (!lines.length && optional) return undefined;
        return items.type === "number" ? lines.map(Number) : lines;
      },
    };
  }
  // A list of objects: one fieldset per item, added and removed by buttons.
  const list = el("ol", { class: "items" });
  const rows = [];
  const add = () => {
    const index = rows.length;
    const inner = objectFields(items, join(path, index), context);
    const row = { read: inner.read };
    const item = el("li", {}, el("fieldset", { class: "group" }, el("legend", {}, `${title} ${index + 1}`), inner.nodes,
      el("button", { type: "button", class: "link", onclick: () => { item.remove(); rows.splice(rows.indexOf(row), 1); } }, t("remove"))));
    rows.push(row);
    list.append(item);
  };
  for (let i = 0; i < Math.max(schema.minItems || 0, (initial || []).length); i++) add();
  const node = el("fieldset", { class: "field list" }, el("legend", {}, title), list,
    el("button", { type: "button", class: "secondary", onclick: add }, `${t("add")}: ${title}`), error);
  return {
    node,
    read: () => {
      const values = rows.map((r) => r.read());
      return values.length || !optional ? values : undefined;
    },
  };
}

// {key: value} whose keys are an enum (e.g. site checks by item): one fieldset per key, with a
// box to include it.
function mapField(schema, path, title, error, context) {
  const keys = resolve(schema.propertyNames || {}, context).enum || [];
  const parts = keys.map((key) => {
    const id = nextId();
    const include = el("input", { type: "checkbox", id, checked: true });
    const inner = objectFields(schema.additionalProperties, join(path, key), context);
    const node = el("fieldset", { class: "group" }, el("legend", {}, include, el("label", { for: id }, word(key))), inner.nodes);
    return { key, include, inner, node };
  });
  const node = el("fieldset", { class: "field map" }, el("legend", {}, title), parts.map((p) => p.node), error);
  return {
    node,
    read() {
      const value = {};
      for (const p of parts) if (p.include.checked) value[p.key] = p.inner.read();
      return value;
    },
  };
}
