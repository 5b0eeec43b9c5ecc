// Moving open cases to another SLA policy (managers): preview what each case would change,
// apply it with a reason, follow its progress (POST/GET /v1/policy/migrations).

import { call, explain, get } from "../api.js";
import { caseLink } from "../cases.js";
import { clear, el, message, section, table } from "../dom.js";
import { commitmentName } from "../events.js";
import { t, word } from "../i18n.js";
import { when } from "../time.js";

const KINDS = ["repair", "complaint", "emergency", "installation", "maintenance"];
const RESULTS = ["pending", "migrated", "left_alone", "refused"];
const list = (text) => text.split(/[\s,，]+/).map((s) => s.trim()).filter(Boolean);

// #/migrations: a new preview and the recent migrations; #/migrations/<id>: one migration.
export async function render(page, [migrationId], me) {
  if (migrationId) return one(page, migrationId, me);
  const policy = el("textarea", { id: "migration-policy", rows: 6, placeholder: t("migration.policyHint") });
  const kinds = KINDS.map((kind) => el("input", { type: "checkbox", value: kind, name: "kind" }));
  const contracts = el("input", { id: "migration-contracts", placeholder: "HT-2025-RJ-001" });
  const hospitals = el("input", { id: "migration-hospitals", placeholder: "H-DH" });
  const cases = el("input", { id: "migration-cases", placeholder: "RP-20261205-000001" });
  const result = el("div", {});
  const preview = async (event) => {
    event.preventDefault();
    clear(result).append(el("p", { class: "loading" }, t("loading")));
    const body = { selection: {
      kinds: kinds.filter((k) => k.checked).map((k) => k.value), contracts: list(contracts.value),
      hospitals: list(hospitals.value), case_ids: list(cases.value) } };
    if (policy.value.trim()) body.policy_yaml = policy.value;
    try {
      const made = await call("POST", "/v1/policy/migrations", { body });
      location.hash = `#/migrations/${made.migration_id}`;
    } catch (error) {
      clear(result).append(message("error", explain(error)));
    }
  };
  const recent = await get("/v1/policy/migrations", { limit: 20 });
  page.append(el("h1", {}, t("migration.title")),
    el("p", { class: "hint" }, t("migration.intro")),
    el("form", { class: "card", id: "migration-form", onsubmit: preview },
      el("label", {}, t("migration.policy"), policy),
      el("fieldset", {}, el("legend", {}, t("migration.kinds")),
        kinds.map((box) => el("label", { class: "check" }, box, word(box.value)))),
      el("label", {}, t("migration.contracts"), contracts),
      el("label", {}, t("migration.hospitals"), hospitals),
      el("label", {}, t("migration.cases"), cases),
      el("button", { type: "submit", id: "migration-preview" }, t("migration.preview"))),
    result,
    section(t("migration.recent"), table([
      { label: t("migration.id"), cell: (x) => el("a", { href: `#/migrations/${x.migration_id}`, translate: "no" }, x.migration_id) },
      { label: t("migration.status"), cell: (x) => t(`migration.status.${x.status}`) },
      { label: t("migration.version"), cell: (x) => el("span", { translate: "no" }, x.policy_version) },
      { label: t("migration.counts"), cell: (x) => counts(x.counts) },
      { label: t("migration.created"), cell: (x) => when(x.created_at) },
    ], recent, { empty: t("none") })));
}

// Why a case was left alone (a code) or refused (the workflow's own words, as it said them).
function why(c) {
  if (c.result === "refused") return el("span", { translate: "no" }, c.reason);
  const code = c.left_alone || (c.result === "left_alone" ? c.reason : "");
  return code ? t(`migration.left.${code}`) : "";
}

function counts(found) {
  return RESULTS.map((r) => `${t(`migration.result.${r}`)} ${found[r] || 0}`).join(" · ");
}

async function one(page, migrationId, me) {
  const found = await get(`/v1/policy/migrations/${encodeURIComponent(migrationId)}`);
  const box = el("div", {});
  const reason = el("input", { id: "migration-reason", required: true });
  const apply = async (event) => {
    event.preventDefault();
    try {
      await call("POST", `/v1/policy/migrations/${migrationId}/apply`, { body: { reason: reason.value } });
      clear(page); await one(page, migrationId, me);
    } catch (error) {
      clear(box).append(message("error", explain(error)));
    }
  };
  const rows = found.cases.flatMap((c) => (c.moves.length ? c.moves : [null]).map((move) => ({ c, move })));
  page.append(
    el("h1", {}, t("migration.title"), " ", el("span", { translate: "no" }, found.migration_id)),
    el("p", { id: "migration-state" }, t(`migration.status.${found.status}`), " · ",
      el("span", { translate: "no" }, found.policy_version), " · ", counts(found.counts)),
    found.reason ? el("p", {}, t("migration.reason"), ": ", el("span", { translate: "no" }, found.reason)) : "",
    found.status === "previewed" && me.capabilities.includes("maintain_policy")
      ? el("form", { class: "inline card", id: "migration-apply", onsubmit: apply },
        el("label", {}, t("migration.reason"), reason),
        el("button", { type: "submit" }, t("migration.apply")))
      : "",
    box,
    section(t("migration.cases"), table([
      { label: t("col.case"), cell: (r) => caseLink(r.c.case_id) },
      { label: t("col.kind"), cell: (r) => word(r.c.kind) },
      { label: t("migration.resultCol"), cell: (r) => t(`migration.result.${r.c.result}`) },
      { label: t("col.commitment"), cell: (r) => (r.move ? commitmentName(r.move.key, r.move.round)
        : (r.c.result === "left_alone" || r.c.left_alone ? "" : el("span", { class: "hint" }, t("migration.noMove")))) },
      { label: t("migration.from"), cell: (r) => (r.move ? (r.move.from_due ? when(r.move.from_due) : t("migration.paused")) : "") },
      { label: t("migration.to"), cell: (r) => (r.move ? (r.move.to_due ? when(r.move.to_due) : t("migration.paused")) : "") },
      { label: t("migration.fired"), cell: (r) => (r.move ? r.move.fired.join(", ") : "") },
      { label: t("migration.atOnce"), cell: (r) => (r.move ? r.move.due_at_once.join(", ") : "") },
      { label: t("migration.why"), cell: (r) => why(r.c) },
    ], rows, { empty: t("migration.nothing") })));
  if (found.status === "running") {
    setTimeout(() => { if (page.isConnected && location.hash.startsWith(`#/migrations/${migrationId}`)) { clear(page); one(page, migrationId, me); } }, 2000);
  }
}
