"""The report file of an adverse event (docs/regulatory.md "The report file"): what regulators
and 21 CFR 820.198(e) ask a complaint file to hold, the deliberations and every submission,
made from the event's record (its state and timeline, as sealed once it is closed).

`report_file` is a pure function of that record and of the complainant (from the case that
first recorded the event), so a file can be checked later: its `source` is the record it was
made of, whose fingerprints are the seal's, and making it again from that source gives the
same file (`check_report_file`; `caseflow audit verify FILE`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from caseflow.domain.adverse_event import AdverseEventView
from caseflow.domain.audit import Seal, record_parts, sealed_state, sealed_timeline

FORMAT = "caseflow.adverse-event-report-file/1"
# The steps of an adverse event that are deliberations (who decided what, when, why), with the
# opening; deadlines, notifications and escalations are in `escalations` or the case's export.
DELIBERATIONS = ("opened", "assign", "classify", "investigate", "submit", "request-follow-up",
                 "close")


class Person(BaseModel):
    id: str
    name: str
    role: str | None = None


class Device(BaseModel):
    """21 CFR 820.198(e)(1), (3): the device's name, its UDI and its other identification."""

    modality: str
    brand: str
    model: str
    serial: str
    udi: str | None
    hospital_id: str
    hospital_name: str
    jurisdictions: list[str] = Field(description="where the unit is registered")


class Complainant(BaseModel):
    """21 CFR 820.198(e)(4): who reported it and how to reach them, from the case that first
    recorded the event (`source_case_id`), else the hospital."""

    name: str | None
    contact: str | None
    hospital_id: str
    hospital_name: str
    department: str | None = None
    source: Literal["complaint", "repair", "emergency", "hospital"] | str
    source_case_id: str | None = None


class Dates(BaseModel):
    """21 CFR 820.198(e)(2): when the company learned of it (the awareness time: the intake of
    the case that first recorded it), when it happened, when each report was submitted."""

    aware_at: datetime
    occurred_at: datetime | None = Field(description="when the event happened, if recorded")
    opened_at: datetime
    closed_at: datetime | None
    submissions: list[datetime]


class Nature(BaseModel):
    """21 CFR 820.198(e)(5): the nature and details of the event."""

    event_type: str
    description: str
    patient_harm: str


class Investigation(BaseModel):
    """21 CFR 820.198(e)(6), (7): the dates and results of an investigation, its corrective
    action."""

    at: datetime
    by: Person
    findings: str
    root_cause: str
    corrective_action: str
    evidence: list[str] = Field(description="the attachments' names")


class Deliberation(BaseModel):
    """A decision on the event: who, when, what (the step's code), why (its reason or finding),
    and everything the step recorded."""

    seq: int | None
    at: datetime
    by: Person
    step: str
    why: str = Field(description="the reason, findings or evaluation the person gave")
    data: dict[str, Any]


class ReportDue(BaseModel):
    """One report to one regulator: its commitment, and once sent its submission, on time or
    late against the commitment."""

    jurisdiction: str
    regulator: str
    report: str = Field(description="initial, or a follow-up's id (F1...)")
    kind: str
    reason: str
    within: str
    calendar: str
    source: str = Field(description="the legal source of the clock")
    due_at: datetime | None
    submitted_at: datetime | None = None
    channel: str | None = None
    reference: str | None = Field(default=None, description="the regulator's reference number")
    submitted_by: Person | None = None
    recorded_at: datetime | None = None
    state: Literal["on_time", "late", "due", "overdue"] = Field(
        description="submitted by its due time (on_time) or after (late); not yet submitted: "
                    "due, or overdue past its due time at the file's `made_at`")
    late_hours: float | None = Field(default=None,
                                     description="how late it was submitted, in hours")


class Escalation(BaseModel):
    commitment: str
    level: int
    at: datetime


class FileRecord(BaseModel):
    """Which record the file was made of: the fingerprints of its state and timeline, the case's
    seal (None until the event is closed and sealed) and whether they are the seal's."""

    sealed: bool
    state_sha256: str
    timeline_sha256: str
    seal: Seal | None
    matches_seal: bool | None = Field(description="None while there is no seal")
    waits_for: str | None = None


class FileSource(BaseModel):
    """The record the file was made of: the event's state and timeline (as sealed)."""

    state: dict[str, Any]
    timeline: list[dict[str, Any]]


class ReportFile(BaseModel):
    format: str = FORMAT
    case_id: str
    made_at: datetime
    status: str
    device: Device
    dates: Dates
    complainant: Complainant
    nature: Nature
    investigations: list[Investigation]
    corrective_actions: list[str]
    evaluation: str | None
    reply: str | None = Field(description="the reply to the complainant or hospital")
    reports: list[ReportDue]
    deliberations: list[Deliberation]
    escalations: list[Escalation]
    record: FileRecord
    source: FileSource


def _person(actor: dict[str, Any]) -> Person:
    return Person(id=str(actor.get("id", "")), name=str(actor.get("name", "")),
                  role=actor.get("role"))


def _why(step: str, data: dict[str, Any]) -> str:
    for name in ("reason", "findings", "evaluation", "note", "description"):
        if data.get(name):
            return str(data[name])
    if step == "submit":
        return str(data.get("reference", ""))
    if step == "assign":
        return str(data.get("officer_name") or data.get("officer_id") or "")
    return ""


def _report(raw: dict[str, Any], commitments: dict[str, dict[str, Any]],
            made_at: datetime) -> ReportDue:
    submission = raw.get("submission")
    # An initial report of a case of a group event runs on two clocks (its own and the group's
    # per-case one): it is due at the earlier, and late if it missed either.
    dues = [datetime.fromisoformat(at) for at in (raw.get("due_at"), raw.get("group_due_at"))
            if at]
    due_at = min(dues, default=None)
    keys = [raw["key"]] + ([f"group_case:{raw['jurisdiction']}"] if raw["id"] == "initial"
                           else [])
    met = [commitments[key]["state"] for key in keys
           if commitments.get(key, {}).get("state") in ("met", "met_late")]
    fields: dict[str, Any] = {}
    if submission:
        submitted_at = datetime.fromisoformat(submission["submitted_at"])
        late = ("met_late" in met) if met else (due_at is not None and submitted_at > due_at)
        fields = {"submitted_at": submitted_at, "channel": submission["channel"],
                  "reference": submission["reference"],
                  "submitted_by": _person(submission["by"]),
                  "recorded_at": datetime.fromisoformat(submission["recorded_at"]),
                  "state": "late" if late else "on_time",
                  "late_hours": (round((submitted_at - due_at).total_seconds() / 3600, 2)
                                 if late and due_at is not None else None)}
    else:
        fields = {"state": "overdue" if due_at is not None and due_at < made_at else "due"}
    return ReportDue(jurisdiction=raw["jurisdiction"], regulator=raw["regulator"],
                     report=raw["id"], kind=raw["kind"], reason=raw.get("reason", ""),
                     within=raw["within"], calendar=raw["calendar"], source=raw["source"],
                     due_at=due_at, **fields)


def record_of(state: dict[str, Any], timeline: list[dict[str, Any]], seal: Seal | None,
              waits_for: str | None) -> FileRecord:
    """The fingerprints of the record as the seal takes them, and whether they are the seal's."""
    parts = record_parts(case_id="", kind="", state=state, timeline=timeline, histories=[])
    state_sha, timeline_sha = parts.state, parts.timeline
    matches = None
    if seal is not None:
        matches = seal.parts is not None and (seal.parts.state, seal.parts.timeline) == \
            (state_sha, timeline_sha)
    return FileRecord(sealed=seal is not None, state_sha256=state_sha,
                      timeline_sha256=timeline_sha, seal=seal, matches_seal=matches,
                      waits_for=None if seal is not None else waits_for)


def report_file(*, state: dict[str, Any], timeline: list[dict[str, Any]],
                complainant: Complainant, made_at: datetime, seal: Seal | None,
                waits_for: str | None = None, observed_at: datetime | None = None) -> ReportFile:
    """The report file of the event whose record is `state` (its view as JSON data) and
    `timeline` (its entries as JSON data; only the case's own and its notifications are
    kept, as sealed). `complainant` and `observed_at` (when the origin's fault was observed:
    the event's date if its own intake gives none) come from the case that recorded it."""
    state, timeline = sealed_state(state), sealed_timeline(timeline)
    view = AdverseEventView.model_validate(state)
    commitments = {c.key: c.model_dump(mode="json") for c in view.commitments}
    reports = [_report(r.model_dump(mode="json"), commitments, made_at) for r in view.reports]
    investigations = []
    for step in (s for s in view.steps if s.action == "investigate"):
        data = step.data
        investigations.append(Investigation(
            at=step.at, by=_person(step.by.model_dump(mode="json")),
            findings=str(data.get("findings", "")), root_cause=str(data.get("root_cause", "")),
            corrective_action=str(data.get("corrective_action", "")),
            evidence=[str(e.get("name", e.get("id", ""))) for e in data.get("evidence") or []]))
    deliberations = [
        Deliberation(seq=entry.get("seq"), at=datetime.fromisoformat(entry["at"]),
                     by=_person(entry.get("actor") or {}), step=entry["event"],
                     why=_why(entry["event"], entry.get("data") or {}),
                     data=entry.get("data") or {})
        for entry in timeline
        if entry.get("source") == "case" and entry.get("event") in DELIBERATIONS]
    escalations = sorted(
        (Escalation(commitment=c.key, level=f.level, at=f.fired_at)
         for c in view.commitments for f in c.fired if f.level >= 1),
        key=lambda e: (e.at, e.commitment, e.level))
    intake, equipment = view.intake, view.equipment
    return ReportFile(
        case_id=view.case_id, made_at=made_at, status=view.status.value,
        device=Device(modality=str(equipment.modality), brand=equipment.brand,
                      model=equipment.model, serial=equipment.serial,
                      udi=view.registration.udi, hospital_id=equipment.hospital_id,
                      hospital_name=view.hospital_name,
                      jurisdictions=list(view.registration.jurisdictions)),
        dates=Dates(aware_at=view.aware_at, occurred_at=intake.occurred_at or observed_at,
                    opened_at=view.opened_at, closed_at=view.closed_at,
                    submissions=sorted(r.submitted_at for r in reports if r.submitted_at)),
        complainant=complainant,
        nature=Nature(event_type=view.event_type, description=intake.description,
                      patient_harm=intake.patient_harm),
        investigations=investigations,
        corrective_actions=[i.corrective_action for i in investigations if i.corrective_action],
        evaluation=view.evaluation, reply=view.reply, reports=reports,
        deliberations=deliberations, escalations=escalations,
        record=record_of(state, timeline, seal, waits_for),
        source=FileSource(state=state, timeline=timeline))


def complainant_of(origin_kind: str | None, origin_case_id: str | None,
                   origin_state: dict[str, Any] | None, hospital_id: str,
                   hospital_name: str) -> Complainant:
    """Who reported the event: the complainant of a complaint, the reporter of a repair or an
    emergency (from its intake), else the hospital itself."""
    intake = (origin_state or {}).get("intake") or {}
    found: dict[str, Any] = {"name": None, "contact": None, "department": None}
    if origin_kind == "complaint":
        found = {"name": intake.get("complainant_name"),
                 "contact": intake.get("complainant_contact"), "department": None}
    elif origin_kind in ("repair", "emergency"):
        found = {"name": intake.get("reporter_name"), "contact": intake.get("reporter_phone"),
                 "department": intake.get("department")}
    source = origin_kind if origin_kind and origin_state is not None else "hospital"
    return Complainant(hospital_id=hospital_id, hospital_name=hospital_name, source=source,
                       source_case_id=origin_case_id if source != "hospital" else None,
                       **found)


def observed_at_of(origin_kind: str | None,
                   origin_state: dict[str, Any] | None) -> datetime | None:
    """When a repair's fault was observed (its intake's `observed_at`): the event's date when
    the event's own intake gives none."""
    if origin_kind == "repair":
        found = ((origin_state or {}).get("intake") or {}).get("observed_at")
        return datetime.fromisoformat(found) if found else None
    return None


def check_report_file(data: dict[str, Any]) -> list[str]:
    """What in a report file (as JSON data) does not follow from its source: the file made again
    from `source` (with its complainant, time and seal) must be the file; empty if it is."""
    try:
        found = ReportFile.model_validate(data)
        own = AdverseEventView.model_validate(found.source.state).intake.occurred_at
        again = report_file(state=found.source.state, timeline=found.source.timeline,
                            complainant=found.complainant, made_at=found.made_at,
                            seal=found.record.seal, waits_for=found.record.waits_for,
                            observed_at=None if own else found.dates.occurred_at)
    except (ValueError, KeyError, TypeError) as error:
        return [f"not a report file ({type(error).__name__})"]
    mine, theirs = found.model_dump(mode="json"), again.model_dump(mode="json")
    return [name for name in mine if mine[name] != theirs.get(name)]
