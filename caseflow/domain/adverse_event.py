"""Contracts of an adverse-event case (不良事件, DOMAIN.md section 5): intake, the steps regulatory
affairs reports, their rules, the view, and the kind's registry entry.

An event is reported to the regulator of each market where the unit is registered, each within
the clock the policy's `regulatory:` section gives for its jurisdiction and event type, counted
from the company's first awareness: the intake of the case that first recorded it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from caseflow.domain.access import Capability
from caseflow.domain.cases import (
    AttachmentRef,
    CaseCarry,
    CaseKind,
    CaseView,
    LinkedCase,
    Name,
    Note,
    Payload,
    PersonField,
    Text,
    Zoned,
    rule,
)
from caseflow.domain.enums import Role
from caseflow.domain.policy import CasePolicy, CommitmentSpec
from caseflow.domain.records import Actor
from caseflow.domain.regulatory_policy import RegulatoryClock
from caseflow.domain.repair import EquipmentSnapshot

INITIAL = "initial"  # the first report to a regulator; follow-ups are F1, F2...


class AdverseEventStatus(StrEnum):
    recorded = "recorded"  # reports due
    investigating = "investigating"
    reported = "reported"  # every report due so far is submitted
    closed = "closed"


class AdverseEventCreate(Payload):
    """What regulatory affairs sends to open an adverse event (POST /v1/adverse-events)."""

    hospital_id: Name
    equipment_serial: Name
    event_type: Name = Field(description="a code of the policy's regulatory.event_types, e.g. "
                                         "death, serious_injury, malfunction")
    description: Text = Field(description="what happened: the nature of the event")
    patient_harm: Note = Field(default="", description="the harm to a patient or user, if any")
    related_case_id: Name | None = Field(
        default=None, description="the case that first recorded the event (its intake time is "
                                  "the awareness time)")
    aware_at: Zoned | None = Field(
        default=None, description="when the company first learned of it, if no case recorded "
                                  "it (default: now)")


class LinkedAdverseEventRequest(BaseModel):
    """A reportability review decided its case is possibly reportable: the adverse event on
    that case's unit, counted from that case's intake."""

    review_id: str
    origin_case_id: str
    hospital_id: str
    equipment_serial: str | None
    event_type: str
    description: str
    opened_by: Actor


class UnitRegistration(BaseModel):
    """Where the unit is registered (its jurisdictions) and its UDI, from the register."""

    jurisdictions: list[str]
    udi: str | None = None


class EventOrigin(BaseModel):
    """The case that first recorded the event: its intake is the awareness time."""

    case_id: str
    kind: str
    opened_at: datetime


class AdverseEventStart(BaseModel):
    case_id: str
    intake: AdverseEventCreate
    hospital_name: str
    equipment: EquipmentSnapshot
    registration: UnitRegistration
    aware_at: datetime
    origin: EventOrigin | None = None
    review_id: str | None = None  # the reportability review that found it possibly reportable
    policy: CasePolicy
    opened_by: Actor
    carried: AdverseEventCarry | None = None

    @property
    def first_status(self) -> AdverseEventStatus:
        return AdverseEventStatus.recorded


# ----- action payloads --------------------------------------------------------------------------

class Classify(Payload):
    event_type: Name
    reason: Text


class AssignOfficer(Payload):
    officer_id: Name
    officer_name: Name | None = Field(default=None, description="filled in by the API")


class Investigate(Payload):
    findings: Text = Field(description="investigation and its results")
    root_cause: Note = ""
    corrective_action: Note = ""
    evidence: list[AttachmentRef] = Field(default=[], max_length=100)


class Submit(Payload):
    """A report sent to one regulator: when, by which channel, the regulator's reference."""

    jurisdiction: Name
    report: Name = Field(default=INITIAL, description="'initial', or a follow-up's id (F1...)")
    submitted_at: Zoned
    channel: Name
    reference: Name = Field(description="the regulator's reference number of the report")
    note: Note = ""


class RequestFollowUp(Payload):
    """A follow-up or supplemental report is due to a regulator (asked for, or new facts)."""

    jurisdiction: Name
    kind: Literal["follow_up", "supplemental", "final"] = "follow_up"
    reason: Text


class Close(Payload):
    evaluation: Text = Field(description="the evaluation the event is closed with")
    reply: Note = Field(default="", description="the reply to the complainant or hospital")


# ----- the rules of each action -----------------------------------------------------------------

S = AdverseEventStatus
OPEN = frozenset({S.recorded, S.investigating, S.reported})
REGULATORY = frozenset({Role.regulatory})

ADVERSE_EVENT_ACTIONS = {
    "assign": rule(AssignOfficer, REGULATORY, OPEN, "name who in regulatory affairs has it",
                   PersonField("officer_id", "officer_name", frozenset({Role.regulatory}))),
    "classify": rule(Classify, REGULATORY, {S.recorded, S.investigating},
                     "classify the event (its clocks are counted again from the awareness time)"),
    "investigate": rule(Investigate, REGULATORY, OPEN, "investigation and its results"),
    "submit": rule(Submit, REGULATORY, OPEN,
                   "a report submitted to a regulator: date, channel, reference"),
    "request-follow-up": rule(RequestFollowUp, REGULATORY, OPEN,
                              "a follow-up or supplemental report is due to a regulator"),
    "close": rule(Close, REGULATORY, OPEN, "close with the evaluation"),
}


# ----- what a query shows -----------------------------------------------------------------------

class Submission(BaseModel):
    submitted_at: datetime
    channel: str
    reference: str
    note: str = ""
    by: Actor
    recorded_at: datetime


class RegulatoryReport(BaseModel):
    """One report due to one regulator, with its clock and (once sent) its submission."""

    id: str  # "initial" or F1, F2...
    key: str  # its commitment: report:CN, follow_up:CN:F1
    jurisdiction: str
    regulator: str
    kind: str  # initial, follow_up, supplemental, final
    reason: str = ""
    within: str
    calendar: str
    source: str
    due_at: datetime | None = None
    submission: Submission | None = None


class AdverseEventView(CaseView):
    kind: Literal["adverse_event"] = "adverse_event"
    status: AdverseEventStatus
    event_type: str
    intake: AdverseEventCreate
    hospital_name: str
    equipment: EquipmentSnapshot
    registration: UnitRegistration
    aware_at: datetime
    origin: EventOrigin | None = None
    review_id: str | None = None
    reports: list[RegulatoryReport]
    investigations: list[Investigate] = []
    evaluation: str | None = None
    reply: str | None = None
    linked_cases: list[LinkedCase] = []


class AdverseEventCarry(CaseCarry):
    status: AdverseEventStatus
    event_type: str
    reports: list[RegulatoryReport]
    follow_ups: int = 0
    investigations: list[Investigate] = []
    evaluation: str | None = None
    reply: str | None = None
    linked_cases: list[LinkedCase] = []


AdverseEventStart.model_rebuild()


def clock_spec(clock: RegulatoryClock, label: str) -> CommitmentSpec:
    """A regulator's clock as a commitment of the deadline machinery: never paused (the law
    does not wait for the customer), owned by the regulatory officer who has the event."""
    return CommitmentSpec(within=clock.within, calendar=clock.calendar, pausable=False,
                          owner="assignee", label=clock.label or label)


def _summary(start: AdverseEventStart) -> str:
    return (f"不良事件 {start.intake.event_type} {start.equipment.serial} "
            f"({', '.join(start.registration.jurisdictions)})")


KIND = CaseKind(
    name="adverse_event", prefix="AE", workflow="AdverseEventWorkflow",
    workflow_module="caseflow.workflows.adverse_event", view=AdverseEventView,
    rules=ADVERSE_EVENT_ACTIONS, statuses=AdverseEventStatus, collection="adverse-events",
    intake=AdverseEventCreate, start=AdverseEventStart,
    open_with=Capability.open_adverse_event,
    title=lambda body: f"不良事件 {body.event_type}: {body.description}"[:200],
    summary=_summary, opens_as="open_adverse_event",
    opens_summary="Open an adverse event (regulatory affairs): one report commitment per "
                  "jurisdiction where the unit is registered, counted from the awareness time. "
                  "201 with its id; the same Idempotency-Key again returns it (200).")
