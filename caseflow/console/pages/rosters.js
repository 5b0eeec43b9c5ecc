// On-call rosters: who is on call now and the shifts of a period, per hospital and modality;
// managers and admins replace a period's shifts (PUT /v1/rosters/{hospital}/{modality}).

import { explain, get, put } from "../api.js";
import { clear, el, message, section, table } from "../dom.js";
import { t, word } from "../i18n.js";
import { fromInput, localInput, when } from "../time.js";

const MODALITIES = ["*", "CT", "MR", "DR", "US", "OTHER"];

export async function render(page, [hospitalId, modality = "*"], me) {
  const hospitals = await get("/v1/hospitals");
  const chosen = hospitalId || (hospitals[0] && hospitals[0].id);
  const hospital = el("select", { id: "roster-hospital" }, hospitals.map((h) =>
    el("option", { value: h.id, selected: h.id === chosen, translate: "no" }, h.name)));
  const scope = el("select", { id: "roster-modality" }, MODALITIES.map((m) =>
    el("option", { value: m, selected: m === modality, translate: m === "*" ? null : "no" }, m === "*" ? t("rosters.every") : m)));
  const start = new Date();
  const from = el("input", { id: "roster-from", type: "datetime-local", value: localInput(start) });
  const to = el("input", { id: "roster-to", type: "datetime-local", value: localInput(new Date(start.getTime() + 7 * 86400e3)) });
  const body = el("div", {});
  const show = async (event) => {
    event?.preventDefault();
    clear(body).append(el("p", { class: "loading" }, t("loading")));
    try {
      const roster = await get(`/v1/rosters/${encodeURIComponent(hospital.value)}/${encodeURIComponent(scope.value)}`,
        { from: fromInput(from.value), to: fromInput(to.value) });
      const editable = me.capabilities.includes("maintain_rosters");
      clear(body).append(
        section(t("rosters.now"), shiftTable(roster.on_call_now)),
        editable ? await editor(roster, hospital.value, scope.value, from.value, to.value, show)
          : section(t("rosters.shifts"), shiftTable(roster.shifts)));
    } catch (error) {
      clear(body).append(message("error", explain(error)));
    }
  };
  page.append(el("h1", {}, t("rosters.title")),
    el("form", { class: "inline card", onsubmit: show },
      el("label", {}, t("rosters.hospital"), hospital), el("label", {}, t("rosters.modality"), scope),
      el("label", {}, t("rosters.from"), from), el("label", {}, t("rosters.to"), to),
      el("button", { type: "submit", class: "secondary" }, t("rosters.show"))),
    body);
  await show();
}

function shiftTable(shifts) {
  return table([
    { label: t("rosters.level"), cell: (s) => s.level },
    { label: t("rosters.person"), cell: (s) => el("span", { translate: "no" }, `${s.person_name} (${s.person_id})`) },
    { label: t("rosters.starts"), cell: (s) => when(s.starts_at) },
    { label: t("rosters.ends"), cell: (s) => when(s.ends_at) },
  ], shifts);
}

// The period's shifts as rows to change, add or remove; saving replaces the period.
async function editor(roster, hospitalId, modality, fromValue, toValue, reload) {
  const people = (await get("/v1/staff")).filter((p) => !p.hospital_id || p.hospital_id === hospitalId);
  const periodStart = new Date(fromInput(fromValue)), periodEnd = new Date(fromInput(toValue));
  const clip = (iso, low, high) => new Date(Math.min(Math.max(new Date(iso).getTime(), low.getTime()), high.getTime()));
  const rows = el("tbody", {});
  const status = el("div", { "aria-live": "polite" });
  const allowGaps = el("input", { type: "checkbox", id: "allow-gaps" });
  const addRow = (shift) => {
    const level = el("input", { type: "number", min: 1, max: 9, value: shift.level, "aria-label": t("rosters.level"), class: "level" });
    const person = el("select", { "aria-label": t("rosters.person") }, people.map((p) =>
      el("option", { value: p.id, selected: p.id === shift.person_id, translate: "no" }, `${p.name} · ${word(p.role)}`)));
    const starts = el("input", { type: "datetime-local", value: localInput(clip(shift.starts_at, periodStart, periodEnd)), "aria-label": t("rosters.starts") });
    const ends = el("input", { type: "datetime-local", value: localInput(clip(shift.ends_at, periodStart, periodEnd)), "aria-label": t("rosters.ends") });
    const row = el("tr", { class: "shift" }, el("td", {}, level), el("td", {}, person), el("td", {}, starts), el("td", {}, ends),
      el("td", {}, el("button", { type: "button", class: "link", onclick: () => row.remove() }, t("remove"))));
    row.read = () => ({ level: Number(level.value), person_id: person.value, starts_at: fromInput(starts.value), ends_at: fromInput(ends.value) });
    rows.append(row);
  };
  roster.shifts.forEach(addRow);
  const save = async (event) => {
    event.preventDefault();
    try {
      await put(`/v1/rosters/${encodeURIComponent(hospitalId)}/${encodeURIComponent(modality)}`, {
        starts_at: fromInput(fromValue), ends_at: fromInput(toValue), allow_gaps: allowGaps.checked,
        shifts: Array.from(rows.children).map((row) => row.read()),
      });
      await reload();
      document.querySelector(".page-rosters [aria-live]")?.replaceChildren(message("ok", t("rosters.saved")));
    } catch (error) {
      status.replaceChildren(message("error", explain(error)));
    }
  };
  return section(t("rosters.shifts"),
    el("form", { id: "roster-form", onsubmit: save },
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, [t("rosters.level"), t("rosters.person"), t("rosters.starts"), t("rosters.ends"), ""].map((h) => el("th", { scope: "col" }, h)))),
        rows)),
      el("div", { class: "buttons" },
        el("button", { type: "button", class: "secondary", onclick: () => addRow({ level: rows.children.length + 1, person_id: people[0]?.id, starts_at: periodStart, ends_at: periodEnd }) }, t("rosters.addShift")),
        el("span", { class: "check" }, allowGaps, el("label", { for: "allow-gaps" }, t("rosters.allowGaps"))),
        el("button", { type: "submit" }, t("rosters.save"))),
      status));
}
