// Signing in: a user name and password (POST /v1/auth/sign-in), or an API token pasted in.

import { ApiError, call, explain, setToken } from "../api.js";
import { el, message } from "../dom.js";
import { t } from "../i18n.js";

export async function render(page, args, me, { signedIn }) {
  const status = el("div", { "aria-live": "polite" });
  const username = el("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const tokenInput = el("input", { id: "token", name: "token", autocomplete: "off", spellcheck: "false" });

  async function useToken(value) {
    setToken(value);
    try {
      await call("GET", "/v1/me");
    } catch (error) {
      setToken(null);
      status.replaceChildren(message("error", error instanceof ApiError && error.status === 401 ? t("signin.badToken") : explain(error)));
      return;
    }
    await signedIn();
  }

  page.append(
    el("h1", {}, t("signin.title")),
    el("div", { class: "signin" },
      el("form", {
        class: "card", id: "signin-form",
        onsubmit: async (event) => {
          event.preventDefault();
          try {
            const issued = await call("POST", "/v1/auth/sign-in", { body: { username: username.value, password: password.value } });
            await useToken(issued.token);
          } catch (error) {
            status.replaceChildren(message("error", error instanceof ApiError && error.status === 401 ? t("signin.failed") : explain(error)));
          }
        },
      },
      el("div", { class: "field" }, el("label", { for: "username" }, t("signin.username")), username),
      el("div", { class: "field" }, el("label", { for: "password" }, t("signin.password")), password),
      el("button", { type: "submit" }, t("signin.submit"))),
      el("form", {
        class: "card", id: "token-form",
        onsubmit: (event) => {
          event.preventDefault();
          useToken(tokenInput.value.trim());
        },
      },
      el("div", { class: "field" }, el("label", { for: "token" }, t("signin.or")), tokenInput),
      el("button", { type: "submit", class: "secondary" }, t("signin.useToken")))),
    status,
    el("p", { class: "hint" }, t("signin.note")));
}
