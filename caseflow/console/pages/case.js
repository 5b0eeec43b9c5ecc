// One case, as every role reads it: what it is, what this person may do now, every commitment,
// its timeline; for auditors and managers the export, the replay and the Temporal UI.

import { call, explain, get, post } from "../api.js";
import { actionButtons, badge, caseLink, commitmentTable } from "../cases.js";
import { append, el, message, section, table } from "../dom.js";
import { t, word } from "../i18n.js";
import { when } from "../time.js";

export async function render(page, [caseId], me) {
  const path = `/v1/cases/${encodeURIComponent(caseId)}`;
  const [view, timeline] = await Promise.all([get(path), get(`${path}/timeline`)]);
  const status = el("div", { "aria-live": "polite" });
  const again = async () => {
    const fresh = el("div", { class: "page page-case" });
    await render(fresh, [caseId], me);
    page.replaceWith(fresh);
  };
  append(page, [
    el("h1", {}, t("case.title", { case: caseId }), " ", badge(view.status), " ",
      view.severity !== undefined ? badge(view.severity, "severity") : null,
      view.breached ? el("span", { class: "badge breached" }, t("breached")) : null),
    status,
    summary(view),
    me.capabilities.includes("report_steps") ? section(t("case.actions"), await actionButtons(caseId, (fresh, action) => {
      again().then(() => document.querySelector(".page-case [aria-live]")
        ?.replaceChildren(message("ok", t("case.done", { action: word(action.action) }))));
    })) : null,
    section(t("case.commitments"), commitmentTable(view.commitments || [])),
    section(t("case.timeline"), timelineTable(timeline)),
    auditTools(caseId, view, me)]);
}

function summary(view) {
  const rows = [
    [t("col.kind"), word(view.kind)],
    [word("opened"), `${when(view.opened_at)} · ${view.opened_by?.name || ""}`],
    [t("col.assignee"), view.assignee ? `${view.assignee.name} (${view.assignee.id})` : "—"],
  ];
  if (view.closed_at) rows.push([word("closed"), when(view.closed_at)]);
  if (view.equipment) {
    rows.push([t("col.hospital"), view.equipment.hospital_name]);
    rows.push([t("col.serial"), `${view.equipment.serial} · ${view.equipment.modality} ${view.equipment.brand} ${view.equipment.model}`]);
  } else if (view.hospital_id) {
    rows.push([t("col.hospital"), view.hospital_id]);
  }
  for (const [name, value] of Object.entries(view.intake || {})) {
    if (value === null || value === "" || typeof value === "object" || name === "hospital_id" || name === "equipment_serial") continue;
    rows.push([word(name), /_at$/.test(name) ? when(value) : name === "channel" || name === "severity" ? word(value) : String(value)]);
  }
  if (view.satisfaction) rows.push([word("satisfaction"), String(view.satisfaction)]);
  const linked = (view.linked_cases || []).concat(view.origin ? [view.origin] : []);
  return el("div", { class: "summary-box" },
    el("dl", { class: "facts" }, rows.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
    linked.length ? el("p", {}, `${t("case.linked")}: `, linked.map((l) => [caseLink(l.case_id), ` (${word(l.kind)}, ${word(l.status)}) `])) : null,
    view.web_ui ? el("p", {}, el("a", { href: view.web_ui, target: "_blank", rel: "noopener", class: "temporal" }, t("case.temporal"))) : null);
}

function timelineTable(entries) {
  return el("ol", { class: "timeline" }, entries.map((e) => el("li", { class: `entry source-${e.source}` },
    el("time", { datetime: e.at }, when(e.at)),
    el("span", { class: "event" }, word(e.event)),
    e.actor && e.actor.name ? el("span", { class: "who" }, `${e.actor.name}${e.actor.role ? " · " + word(e.actor.role) : ""}`) : null,
    el("span", { class: "what" }, e.summary),
    e.source !== "case" ? el("span", { class: "source" }, t(`source.${e.source}`)) : null)));
}

function auditTools(caseId, view, me) {
  const replayable = me.capabilities.includes("replay_cases");
  const result = el("div", { class: "replay-result", "aria-live": "polite" });
  const exportCase = async () => {
    try {
      const response = await call("GET", `/v1/cases/${encodeURIComponent(caseId)}/export`, { raw: true });
      const blob = new Blob([await response.text()], { type: "application/json" });
      const link = el("a", { href: URL.createObjectURL(blob), download: `${caseId}.export.json` });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      result.replaceChildren(message("error", explain(error)));
    }
  };
  const replay = async (event) => {
    event.target.disabled = true;
    try {
      const found = await post("/v1/audit/replay", { case_id: caseId });
      result.replaceChildren(found.ok
        ? message("ok", t("case.replayOk"))
        : message("error", t("case.replayBad", { event: found.event_id, type: found.event_type, reason: found.reason })));
    } catch (error) {
      result.replaceChildren(message("error", explain(error)));
    } finally {
      event.target.disabled = false;
    }
  };
  // Sealed in the audit chain, or what the seal waits for (a closed repair may wait for its
  // linked complaint), in the API's words.
  const record = view.record
    ? el("p", { class: `record ${view.record.sealed ? "sealed" : "unsealed"}` }, view.record.sealed
      ? t("case.sealed", { position: view.record.position })
      : t("case.waitsFor", { why: view.record.waits_for }))
    : null;
  return section(t("case.audit"),
    record,
    el("div", { class: "buttons" },
      el("button", { type: "button", class: "secondary", id: "export", onclick: exportCase }, t("case.export")),
      replayable ? el("button", { type: "button", class: "secondary", id: "replay", onclick: replay }, t("case.replay")) : null,
      view.web_ui ? el("a", { class: "button secondary", href: view.web_ui, target: "_blank", rel: "noopener" }, t("case.temporal")) : null),
    result,
    (view.steps || []).length ? el("details", {}, el("summary", {}, `${t("case.steps")} (${view.steps.length})`),
      table([
        { label: t("col.at"), cell: (s) => when(s.at) },
        { label: t("col.what"), cell: (s) => word(s.action) },
        { label: t("col.who"), cell: (s) => `${s.by.name} · ${word(s.by.role)}` },
        { label: "", cell: (s) => el("code", {}, JSON.stringify(s.data)) },
      ], view.steps)) : null);
}
