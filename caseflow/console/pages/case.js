// One case, as every role reads it: what it is, what this person may do now, every commitment,
// its timeline; for auditors and managers the export, the replay and the Temporal UI.

import { call, explain, get, post, send } from "../api.js";
import { actionButtons, actionName, badge, caseLink, commitmentTable, equipmentLink, statusBadge } from "../cases.js";
import { append, el, message, section, table } from "../dom.js";
import { describe, describeRecord, flagWords } from "../events.js";
import { language, t, word } from "../i18n.js";
import { keepLive } from "../live.js";
import { when } from "../time.js";

export async function render(page, [caseId], me) {
  const status = el("div", { "aria-live": "polite" });
  const body = el("div", { class: "case-body" });
  const draw = (box) => fill(box, caseId, me, status);
  page.append(el("div", { class: "case-status" }, status), body);
  await draw(body);
  keepLive(body, draw, (m) => m.case_id === caseId);
}

// The case drawn into `box`; a step taken here draws it again (the live feed does too).
async function fill(box, caseId, me, status) {
  const path = `/v1/cases/${encodeURIComponent(caseId)}`;
  const [view, timeline, files] = await Promise.all([get(path), get(`${path}/timeline`), get(`${path}/attachments`)]);
  const again = async () => {
    const fresh = el("div", {});
    await fill(fresh, caseId, me, status);
    box.replaceChildren(...fresh.childNodes);
  };
  append(box, [
    el("h1", {}, t("case.title", { case: "" }).trim(), " ", el("span", { translate: "no" }, caseId), " ", statusBadge(view), " ",
      view.severity !== undefined ? badge(view.severity, "severity") : null,
      view.breached ? el("span", { class: "badge breached" }, t("breached")) : null),
    summary(view),
    me.capabilities.includes("report_steps") ? section(t("case.actions"), await actionButtons(caseId, (fresh, action) => {
      status.replaceChildren(message("ok", t("case.done", { action: actionName(action.action, view.kind) })));
      again();
    }, { kind: view.kind })) : null,
    section(t("case.attachments"), attachmentList(caseId, files, me, again)),
    section(t("case.commitments"), commitmentTable(view.commitments || [])),
    section(t("case.timeline"), timelineTable(timeline)),
    auditTools(caseId, view, me)]); // append() leaves out the null of a section not shown
}

function summary(view) {
  const rows = [
    [t("col.kind"), word(view.kind)],
    [word("opened"), [`${when(view.opened_at)} · `, el("span", { translate: "no" }, view.opened_by?.name || "")]],
    [t("col.assignee"), view.assignee ? el("span", { translate: "no" }, `${view.assignee.name} (${view.assignee.id})`) : "—"],
  ];
  if (view.closed_at) rows.push([word("closed"), when(view.closed_at)]);
  if (view.equipment) {
    rows.push([t("col.hospital"), el("span", { translate: "no" }, view.equipment.hospital_name)]);
    rows.push([t("col.serial"), el("span", { translate: "no" }, equipmentLink(view.equipment.serial),
      ` · ${view.equipment.modality} ${view.equipment.brand} ${view.equipment.model}`)]);
  } else {
    if (view.hospital_id) rows.push([t("col.hospital"), el("span", { translate: "no" }, view.hospital_id)]);
    const serial = view.intake?.equipment_serial;
    if (serial) rows.push([t("col.serial"), equipmentLink(serial)]);
  }
  for (const [name, value] of Object.entries(view.intake || {})) {
    if (value === null || value === "" || name === "hospital_id" || name === "equipment_serial") continue;
    if (Array.isArray(value) && !value.length) continue;
    rows.push([word(name), intakeValue(name, value)]);
  }
  if (view.satisfaction) rows.push([word("satisfaction"), String(view.satisfaction)]);
  if (view.kind === "review") rows.push(...reviewRows(view));
  const linked = (view.linked_cases || []).concat(view.origin ? [view.origin] : []);
  return el("div", { class: "summary-box" },
    el("dl", { class: "facts" }, rows.map(([name, value]) => [el("dt", {}, name), el("dd", {}, value)])),
    linked.length ? el("p", {}, `${t("case.linked")}: `, linked.map((l) => [caseLink(l.case_id), ` (${[word(l.kind), word(l.status)].filter(Boolean).join(", ")}) `])) : null,
    view.web_ui ? el("p", {}, el("a", { href: view.web_ui, target: "_blank", rel: "noopener", class: "temporal" }, t("case.temporal"))) : null);
}

// A reportability review: the rules that flagged it and, for those who may read them, its
// deliberations (decision, reason, author); the others are told they are not shown.
function reviewRows(view) {
  if (view.deliberations_hidden) return [[word("decision"), el("span", { class: "muted" }, t("reviews.hidden"))]];
  const rows = [[t("reviews.flagged"), view.flags.length ? view.flags.map(flagWords).join(" · ") : t("reviews.unflagged")]];
  if (view.decision) {
    rows.push([word("decision"), [word(view.decision), view.event_type ? ` · ${word(view.event_type)}` : ""]]);
    if (view.reason) rows.push([word("reason"), el("span", { translate: "no" }, view.reason)]);
    if (view.reason_code) rows.push([word("reason_code"), [word(view.reason_code), " · ", el("span", { translate: "no" }, view.decided_on_policy || "")]]);
    rows.push([t("reviews.decidedBy"), [el("span", { translate: "no" }, view.decided_by?.name || ""), ` · ${when(view.decided_at)}`]]);
  }
  return rows;
}

// One intake field as the case page shows it: times in Shanghai, closed vocabularies in words,
// phone numbers as tel: links, lists (alarm codes, attachments' names) one after another.
function intakeValue(name, value) {
  if (/_at$/.test(name)) return when(value);
  if (["channel", "severity", "trigger", "category", "modality", "event_type", "patient_harmed"].includes(name)) return word(value);
  if (/phone|contact/.test(name) && /^[0-9+\-() ]{5,}$/.test(String(value))) {
    return el("a", { href: `tel:${String(value).replace(/[^0-9+]/g, "")}`, class: "tel", translate: "no" }, String(value));
  }
  if (Array.isArray(value)) {
    return el("ul", { class: "inline-list", translate: "no" }, value.map((v) => el("li", {},
      typeof v === "object" && v !== null ? [v.name, v.ref || v.reference].filter(Boolean).join(" · ") : String(v))));
  }
  if (typeof value === "object") return el("code", { translate: "no" }, JSON.stringify(value));
  return el("span", { translate: "no" }, String(value));
}

// The case's files, each downloadable (with the token, so through fetch), and an upload for
// those who report its steps: a photo or a signed form, checked and kept by the API.
function attachmentList(caseId, files, me, again) {
  const status = el("div", { "aria-live": "polite" });
  const download = async (file) => {
    try {
      const response = await call("GET", `/v1/cases/${encodeURIComponent(caseId)}/attachments/${file.id}`, { raw: true });
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: file.name });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      status.replaceChildren(message("error", explain(error)));
    }
  };
  const input = el("input", { type: "file", id: "attachment-file", accept: "image/jpeg,image/png,application/pdf" });
  const upload = async (event) => {
    event.preventDefault();
    const file = input.files[0];
    if (!file) return;
    try {
      await send(`/v1/cases/${encodeURIComponent(caseId)}/attachments`, file, { name: file.name });
      status.replaceChildren(message("ok", t("case.attached", { name: file.name })));
      again();
    } catch (error) {
      status.replaceChildren(message("error", explain(error)));
    }
  };
  return el("div", { class: "attachments" },
    files.length ? table([
      { label: t("col.name"), cell: (f) => el("button", { type: "button", class: "link download", "data-attachment": f.id, onclick: () => download(f) },
        el("span", { translate: "no" }, f.name)) },
      { label: t("col.size"), cell: (f) => `${Math.ceil(f.size / 1024)} KB` },
      { label: "SHA-256", cell: (f) => el("code", { class: "sha", translate: "no" }, f.sha256) },
      { label: t("col.who"), cell: (f) => el("span", { translate: "no" }, f.uploaded_by.name) },
      { label: t("col.at"), cell: (f) => when(f.uploaded_at) },
    ], files) : el("p", { class: "empty" }, t("none")),
    me.capabilities.includes("report_steps") ? el("form", { class: "inline upload", id: "attachment-form", onsubmit: upload },
      el("label", { for: "attachment-file" }, t("case.attach")), input,
      el("button", { type: "submit", class: "secondary" }, t("case.upload"))) : null,
    status);
}

function timelineTable(entries) {
  return el("ol", { class: "timeline" }, entries.map((e) => el("li", { class: `entry source-${e.source}`, "data-event": e.event },
    el("time", { datetime: e.at }, when(e.at)),
    el("span", { class: "event" }, word(e.event)),
    e.actor && e.actor.name ? el("span", { class: "who" }, el("span", { translate: "no" }, e.actor.name),
      e.actor.role ? ` · ${word(e.actor.role)}` : "") : el("span", { class: "who" }),
    el("span", { class: "what" }, e.source === "case" ? describe(e.event, e.data, e.actor) : describeRecord(e)),
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
      : t("case.waitsFor", { why: waitsFor(view.record) }))
    : null;
  const report = async () => {
    try {
      const response = await call("GET", `/v1/cases/${encodeURIComponent(caseId)}/report.pdf`, { raw: true, params: { lang: language() } });
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `${caseId}.pdf` });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      result.replaceChildren(message("error", explain(error)));
    }
  };
  // An adverse event's report file (docs/regulatory.md), for those who may read it: the PDF in
  // the console's language, or the JSON a regulator's tool or `caseflow audit verify` reads.
  const reportFile = async (format) => {
    try {
      const response = await call("GET", `/v1/adverse-events/${encodeURIComponent(caseId)}/report-file`,
        { raw: true, params: { format, lang: language() } });
      const link = el("a", { href: URL.createObjectURL(await response.blob()), download: `${caseId}.report-file.${format}` });
      document.body.append(link);
      link.click();
      link.remove();
    } catch (error) {
      result.replaceChildren(message("error", explain(error)));
    }
  };
  const fileable = view.kind === "adverse_event" && me.capabilities.includes("read_regulatory");
  return section(t("case.audit"),
    record,
    el("div", { class: "buttons" },
      el("button", { type: "button", class: "secondary", id: "print", onclick: () => window.print() }, t("case.print")),
      view.kind === "repair" ? el("button", { type: "button", class: "secondary", id: "service-report", onclick: report }, t("case.report")) : null,
      fileable ? el("button", { type: "button", class: "secondary", id: "report-file-pdf", onclick: () => reportFile("pdf") }, t("case.reportFile")) : null,
      fileable ? el("button", { type: "button", class: "secondary", id: "report-file-json", onclick: () => reportFile("json") }, t("case.reportFileJson")) : null,
      el("button", { type: "button", class: "secondary", id: "export", onclick: exportCase }, t("case.export")),
      replayable ? el("button", { type: "button", class: "secondary", id: "replay", onclick: replay }, t("case.replay")) : null,
      view.web_ui ? el("a", { class: "button secondary", href: view.web_ui, target: "_blank", rel: "noopener" }, t("case.temporal")) : null),
    result,
    (view.steps || []).length ? el("details", {}, el("summary", {}, `${t("case.steps")} (${view.steps.length})`),
      table([
        { label: t("col.at"), cell: (s) => when(s.at) },
        { label: t("col.what"), cell: (s) => actionName(s.action, view.kind) },
        { label: t("col.who"), cell: (s) => [el("span", { translate: "no" }, s.by.name), ` · ${word(s.by.role)}`] },
        { label: "", cell: (s) => el("code", { translate: "no" }, JSON.stringify(s.data)) },
      ], view.steps)) : null);
}

// What an unsealed record waits for, worded from its code (the API's English words only for a
// code this console does not know).
function waitsFor(record) {
  if (!record.waits) return record.waits_for;
  const params = { ...record.waits_params };
  if (params.cases) params.cases = params.cases.join(", ");
  return t(`record.${record.waits}`, params);
}
