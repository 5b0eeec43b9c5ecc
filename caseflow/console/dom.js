// Building the page from data: elements with text (never HTML strings, so what people typed
// can never become markup), tables, messages, confirmations.

import { t } from "./i18n.js";

// el("a", {href: "#/x", class: "btn"}, "text", child...): attributes starting with "on" are
// listeners; null/undefined/false children are skipped.
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      node.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(name, "");
    } else {
      node.setAttribute(name, String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

// A table: columns [{label, cell: (row) => node|text, class?}], rows.
export function table(columns, rows, { caption, empty } = {}) {
  if (!rows.length) return el("p", { class: "empty" }, empty || t("none"));
  return el("div", { class: "table-wrap" }, el("table", {},
    caption ? el("caption", {}, caption) : null,
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.label)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, columns.map((c) =>
      el("td", { class: c.class, "data-label": c.label }, c.cell(row))))))));
}

export function message(kind, ...text) {
  return el("p", { class: `message ${kind}`, role: kind === "error" ? "alert" : "status" }, ...text);
}

export function section(title, ...children) {
  const id = "s-" + Math.random().toString(36).slice(2, 8);
  return el("section", { "aria-labelledby": id }, el("h2", { id }, title), ...children);
}

// A modal <dialog>: `fill(done)` gives its content and what to focus; the promise resolves with
// what done() is given, or with `dismissed` when the person presses Escape.
export function modal(className, title, fill, dismissed = null) {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: className, "aria-label": title });
    const done = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const { content, focus } = fill(done);
    dialog.append(content);
    dialog.addEventListener("cancel", () => {
      dialog.remove();
      resolve(dismissed);
    });
    document.body.append(dialog);
    dialog.showModal();
    focus();
  });
}

// A question before something that cannot be undone: resolves true when the person confirms;
// "cancel" (or Escape) is the default.
export function confirmDialog(title, text, confirmLabel) {
  return modal("confirm-dialog", title, (done) => {
    const cancel = el("button", { type: "button", class: "secondary", onclick: () => done(false) }, t("cancel"));
    const content = el("div", {}, el("h2", {}, title), el("p", {}, text), el("div", { class: "buttons" },
      el("button", { type: "button", class: "danger confirm", onclick: () => done(true) }, confirmLabel), cancel));
    return { content, focus: () => cancel.focus() };
  }, false);
}
