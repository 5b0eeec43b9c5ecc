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
    CaseStart,
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
from caseflow.domain.enums import FaultCategory, Role
from caseflow.domain.policy import CasePolicy, CommitmentSpec
from caseflow.domain.records import Actor
from caseflow.domain.regulatory_policy import GroupRule, RegulatoryClock
from caseflow.domain.repair import EquipmentSnapshot
from caseflow.domain.words import word

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
    fault_category: FaultCategory | None = Field(
        default=None, description="the fault (a repair diagnosis' category): with the unit's "
                                  "model, what makes events one group event")
    fault_code: Name | None = Field(default=None,
                                    description="the device's fault or alarm code, if known")
    occurred_at: Zoned | None = Field(
        default=None, description="when the event itself happened, if known (the report "
                                  "file's event date; a repair's `observed_at` otherwise)")


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
    # the reviewed repair's diagnosed fault: the event takes part in group detection with it
    fault_category: str | None = None


class UnitRegistration(BaseModel):
    """Where the unit is registered (its jurisdictions) and its UDI, from the register."""

    jurisdictions: list[str]
    udi: str | None = None


class EventOrigin(BaseModel):
    """The case that first recorded the event: its intake is the awareness time."""

    case_id: str
    kind: str
    opened_at: datetime


class GroupMember(BaseModel):
    """An event of a group event: its unit, hospital, awareness and where it is reported."""

    case_id: str
    hospital_id: str
    serial: str
    aware_at: datetime
    jurisdictions: list[str] = []


class GroupOf(BaseModel):
    """What makes a group event: the values its events share (`same`: the unit's model, the
    fault...), its events, and its number in the register of groups."""

    group_id: int
    key: str
    same: dict[str, str]
    members: list[GroupMember]


class GroupPlacement(BaseModel):
    """An event asks whether it makes or joins a group event (the activity `place_in_group`),
    under the rule pinned to it."""

    member: GroupMember
    key: str
    same: dict[str, str]
    rule: GroupRule


class Placed(BaseModel):
    """Where the event stands: in no group, or in the group event `group_case_id` (which it
    formed, joined, was in already, or which had closed before it could take it)."""

    outcome: Literal["ungrouped", "formed", "joined", "member", "closed"]
    group_case_id: str | None = None


class GroupJoined(BaseModel):
    """A group event tells one of its events that it is one (the signal `joined_group`)."""

    group_case_id: str
    aware_at: datetime  # when the group became known
    key: str


class AdverseEventStart(CaseStart):
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
    group: GroupOf | None = None  # a group event (event type `group`): what makes it one
    carried: AdverseEventCarry | None = None

    @property
    def first_status(self) -> AdverseEventStatus:
        return AdverseEventStatus.recorded


# ----- action payloads --------------------------------------------------------------------------

class Classify(Payload):
    event_type: Name
    reason: Text
    fault_category: FaultCategory | None = Field(
        default=None, description="the fault, if found now or found to be another")
    fault_code: Name | None = None


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
    # Due earlier as a case of a group event (NMPA: each case within 24 h of the group).
    group_due_at: datetime | None = None
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
    fault_category: FaultCategory | None = None
    fault_code: str | None = None
    group: GroupOf | None = None  # a group event: its events
    group_case_id: str | None = None  # an event of a group event: the group
    # Where the group detection placed it (ungrouped, formed, joined...); None: not asked
    # (no fault known, no group rule, or opened before group events were detected).
    group_placement: str | None = None


class AdverseEventCarry(CaseCarry):
    status: AdverseEventStatus
    event_type: str
    reports: list[RegulatoryReport]
    follow_ups: int = 0
    investigations: list[Investigate] = []
    evaluation: str | None = None
    reply: str | None = None
    linked_cases: list[LinkedCase] = []
    fault_category: FaultCategory | None = None
    fault_code: str | None = None
    grouping: bool = False  # placed in groups (cases opened before groups are not)
    placing: bool = False  # its placement is to be decided (again)
    group: GroupOf | None = None
    told: list[str] = []  # a group event: the events told they are in it
    group_case_id: str | None = None
    group_placement: str | None = None


AdverseEventStart.model_rebuild()


def clock_spec(clock: RegulatoryClock, label: str) -> CommitmentSpec:
    """A regulator's clock as a commitment of the deadline machinery: never paused (the law
    does not wait for the customer), owned by the regulatory officer who has the event."""
    return CommitmentSpec(within=clock.within, calendar=clock.calendar, pausable=False,
                          owner="assignee", label=clock.label or label)


def group_words(same: dict[str, str]) -> str:
    """What a group event's cases share, in words (the fault by its zh-CN name)."""
    return " ".join(word(name, value) if name == "fault_category" else value
                    for name, value in same.items())


def _summary(start: AdverseEventStart) -> str:
    if start.group is not None:
        return f"群体不良事件 {group_words(start.group.same)}({len(start.group.members)} 例)"
    return (f"不良事件 {word('event_type', start.intake.event_type)} {start.equipment.serial}"
            f"({'、'.join(start.registration.jurisdictions)})")


def group_values(rule: GroupRule, equipment: EquipmentSnapshot, fault_category: str | None,
                 fault_code: str | None) -> dict[str, str] | None:
    """The values of the rule's `same` fields for an event (None: one is unknown, e.g. no
    fault category yet, and the event takes no part in groups)."""
    known = {"brand": equipment.brand, "model": equipment.model,
             "modality": str(equipment.modality), "fault_category": fault_category,
             "fault_code": fault_code}
    values = {name: known[name] for name in rule.same}
    if any(not value for value in values.values()):
        return None
    return {name: str(value) for name, value in values.items()}


def group_key(values: dict[str, str]) -> str:
    return "|".join(f"{name}={value}" for name, value in values.items())



KIND = CaseKind(
    troubles_to=Role.regulatory,
    name="adverse_event", prefix="AE", workflow="AdverseEventWorkflow",
    workflow_module="caseflow.workflows.adverse_event", view=AdverseEventView,
    rules=ADVERSE_EVENT_ACTIONS, statuses=AdverseEventStatus, collection="adverse-events",
    intake=AdverseEventCreate, start=AdverseEventStart,
    open_with=Capability.open_adverse_event,
    title=lambda body: body.description[:200],
    summary=_summary, opens_as="open_adverse_event",
    opens_summary="Open an adverse event (regulatory affairs): one report commitment per "
                  "jurisdiction where the unit is registered, counted from the awareness time. "
                  "201 with its id; the same Idempotency-Key again returns it (200).")
