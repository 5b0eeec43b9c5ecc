// The one way the console talks to the server: the /v1 JSON API with the bearer token of this
// tab's sign-in (sessionStorage: gone when the tab closes; no cookie, so no CSRF surface).

import { language, refusal, t } from "./i18n.js";

const TOKEN = "caseflow.token";

export class ApiError extends Error {
  constructor(status, body) {
    const detail = body && body.detail;
    super(typeof detail === "string" ? detail : `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.reason = body && body.reason; // a stable code, worded in the console's language
    this.params = (body && body.params) || {};
    // [{loc: ["body", "field", ...], msg}] for 422
    this.fields = Array.isArray(detail) ? detail : [];
  }
}

export function token() {
  return sessionStorage.getItem(TOKEN);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN, value);
  else sessionStorage.removeItem(TOKEN);
}

// A fresh Idempotency-Key: one per form shown, so a double submit is one step.
export function newKey() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return "console-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

let onUnauthorized = () => {};

export function whenSignedOut(handler) {
  onUnauthorized = handler;
}

export async function call(method, path, { body, params, key, raw } = {}) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    for (const one of Array.isArray(value) ? value : [value]) {
      if (one !== undefined && one !== null && one !== "") url.searchParams.append(name, one);
    }
  }
  const headers = { Accept: "application/json" };
  if (token()) headers.Authorization = `Bearer ${token()}`;
  if (key) headers["Idempotency-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, { detail: "network" });
  }
  if (response.status === 401 && path !== "/v1/auth/sign-in") {
    setToken(null);
    onUnauthorized();
  }
  if (raw && response.ok) return response;
  const text = await response.text();
  let parsed = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = { detail: text };
    }
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

// A file as the body of a POST (an attachment), its type the file's own.
export async function send(path, file, params) {
  const url = new URL(path, location.origin);
  for (const [name, value] of Object.entries(params || {})) url.searchParams.append(name, value);
  let response;
  try {
    response = await fetch(url, { method: "POST", body: file, headers: {
      Accept: "application/json", Authorization: `Bearer ${token()}`, "Content-Type": file.type || "application/octet-stream" } });
  } catch {
    throw new ApiError(0, { detail: "network" });
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = { detail: text };
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const get = (path, params) => call("GET", path, { params });
export const post = (path, body, key) => call("POST", path, { body, key });
export const put = (path, body) => call("PUT", path, { body });
export const patch = (path, body) => call("PATCH", path, { body });
export const remove = (path) => call("DELETE", path);

// The API's schemas (components of /openapi.json), fetched once; the forms are made from them.
let schemaCache = null;
export function schemas() {
  schemaCache ||= call("GET", "/openapi.json").then((openapi) => openapi.components.schemas)
    .catch((error) => {
      schemaCache = null;
      throw error;
    });
  return schemaCache;
}

// One field's refusal in the console's language: by its stable reason code; the API's English
// message only in English, and a general word in Chinese when the code is not known here.
export function fieldReason(item) {
  return refusal(item.reason, item.params || {}) || (language() === "en" ? item.msg : t("error.invalidField"));
}

// What went wrong, in words for the person at the screen (the API's reason code, worded here).
export function explain(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (error.status === 0) return t("error.network");
  const known = { 403: "error.403", 404: "error.404", 409: "error.409", 413: "error.413", 415: "error.415",
    429: "error.429", 503: "error.503" }[error.status];
  if (error.status === 413 || error.status === 415) return t(known);
  if (error.fields.length) return error.fields.map(fieldReason).join("; ");
  const worded = refusal(error.reason, error.params);
  const detail = worded || (language() === "en" ? error.message : "");
  if (!known) return detail || t("error.other", { status: error.status });
  return detail ? `${t(known)}: ${detail}` : t(known);
}
