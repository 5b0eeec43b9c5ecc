"""Contracts of a complaint case: intake, the actions people report, their rules, the view."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from caseflow.domain.access import Capability
from caseflow.domain.cases import (
    STAFF,
    AttachmentRef,
    CaseCarry,
    CaseKind,
    CaseStart,
    CaseView,
    CompleteAction,
    CorrectiveAction,
    CorrectiveActionInput,
    LinkedCase,
    Name,
    Note,
    Payload,
    PersonField,
    Text,
    Zoned,
    rule,
)
from caseflow.domain.enums import (
    ComplaintCategory,
    ComplaintChannel,
    ComplaintOutcome,
    ComplaintStatus,
    PatientHarm,
    Role,
    TeamRole,
)
from caseflow.domain.policy import CasePolicy
from caseflow.domain.records import Actor
from caseflow.domain.repair import EquipmentSnapshot


class ComplaintCreate(Payload):
    """What the front desk or hotline sends to record a complaint (POST /v1/complaints)."""

    complainant_name: Name
    complainant_contact: Name = Field(description="phone or e-mail")
    channel: ComplaintChannel
    hospital_id: Name
    matter: Text = Field(description="what happened, in the complainant's words")
    staff_involved: list[Name] = Field(default=[], max_length=50)
    request: Note = Field(default="", description="what the complainant asks for")
    category: ComplaintCategory | None = None
    related_case_id: Name | None = Field(default=None, description="a case it is about")
    equipment_serial: Name | None = Field(default=None, description="a unit it is about")
    received_at: Zoned | None = Field(default=None, description="if not now (ISO 8601, zone)")
    patient_harmed: PatientHarm = Field(
        default=PatientHarm.unknown, description="was a patient or user harmed? (read by the "
                                                 "reportability review's rules)")


class ComplaintOrigin(BaseModel):
    """The case a complaint came from (a dissatisfied repair callback)."""

    case_id: str
    kind: str
    satisfaction: int | None = None
    comment: str = ""


class LinkedComplaintRequest(BaseModel):
    """A repair callback asks for a complaint: who called, about what, how dissatisfied."""

    origin: ComplaintOrigin
    hospital_id: str
    equipment_serial: str | None
    complainant_name: str
    complainant_contact: str
    opened_by: Actor


class ComplaintStart(CaseStart):
    """The workflow's input: intake, where it is, the pinned policy, who recorded it."""

    case_id: str
    intake: ComplaintCreate
    hospital_name: str
    equipment: EquipmentSnapshot | None = None
    policy: CasePolicy
    opened_by: Actor
    origin: ComplaintOrigin | None = None
    carried: ComplaintCarry | None = None  # a complaint that continued as new

    @property
    def first_status(self) -> ComplaintStatus:
        return ComplaintStatus.recorded


# ----- action payloads --------------------------------------------------------------------------

class Classify(Payload):
    category: ComplaintCategory
    reason: Note = ""


class AssignHandler(Payload):
    handler_id: Name
    handler_name: Name | None = Field(default=None, description="filled in by the API")


class FirstFeedback(Payload):
    note: Text = Field(description="what the complainant was told (receipt, the process)")


class InvestigationMember(Payload):
    """A member of the complaint's investigation team and their role in it."""

    name: Name
    role: TeamRole
    person_id: Name | None = None


TeamMember = InvestigationMember  # the name the workflows use


class FormTeam(Payload):
    members: list[TeamMember] = Field(min_length=1, max_length=30)
    note: Note = ""


class Findings(Payload):
    facts: Text
    evidence: list[AttachmentRef] = Field(default=[], max_length=100)


class RootCause(Payload):
    root_cause: Text


class Plan(Payload):
    summary: Text
    actions: list[CorrectiveActionInput] = Field(min_length=1, max_length=50)


class Briefing(Payload):
    summary: Text
    attendees: list[Name] = Field(default=[], max_length=100)


class Answer(Payload):
    answer: Text = Field(description="findings and measures, as told to the complainant")


class Callback(Payload):
    satisfied: bool
    satisfaction: int = Field(ge=1, le=5)
    comment: Note = ""

    @field_validator("satisfaction")
    @classmethod
    def _agrees(cls, value: int, info: ValidationInfo) -> int:
        satisfied = info.data.get("satisfied")
        if satisfied is True and value <= 2:
            raise ValueError("a satisfaction of 1-2 is not satisfied; set satisfied to false")
        if satisfied is False and value >= 4:
            raise ValueError("a satisfaction of 4-5 is satisfied; set satisfied to true")
        return value


class Close(Payload):
    lessons_learned: Text


class Withdraw(Payload):
    reason: Text


# ----- the rules of each action -----------------------------------------------------------------

C = ComplaintStatus
OPEN = frozenset(set(C) - {C.resolved, C.closed, C.withdrawn})
ACTING = frozenset({C.planned, C.briefed, C.answered, C.awaiting_callback})
DESK = frozenset({Role.hotline}) | STAFF
ANYONE_OWNING = DESK | {Role.engineer}
# Owners of corrective actions: people who can report them done (not auditors or admins).
OWNER = PersonField("owner_id", "owner_name", ANYONE_OWNING)

COMPLAINT_ACTIONS = {
    "classify": rule(Classify, STAFF, OPEN, "classify: one of the four categories"),
    "assign": rule(AssignHandler, STAFF, OPEN, "name who handles the complaint",
                   PersonField("handler_id", "handler_name", STAFF)),
    "first-feedback": rule(FirstFeedback, DESK, OPEN,
                           "first feedback to the complainant (24 h)"),
    "form-team": rule(FormTeam, STAFF, {C.recorded, C.reopened}, "investigation team formed"),
    "record-findings": rule(Findings, STAFF, {C.team_formed, C.investigating},
                            "investigation facts with evidence"),
    "root-cause": rule(RootCause, STAFF, {C.investigating}, "root cause"),
    "plan": rule(Plan, STAFF, {C.root_cause_found},
                 "corrective plan: actions, each with owner and due date",
                 PersonField("owner_id", "owner_name", ANYONE_OWNING, within="actions")),
    "brief": rule(Briefing, STAFF, {C.planned}, "internal briefing"),
    "answer": rule(Answer, DESK, {C.briefed}, "answer to the complainant"),
    "add-action": rule(CorrectiveActionInput, STAFF, ACTING, "another corrective action", OWNER),
    "complete-action": rule(CompleteAction, ANYONE_OWNING, ACTING,
                            "a corrective action done (by its owner or staff)"),
    "callback": rule(Callback, DESK, {C.awaiting_callback},
                     "satisfaction callback (dissatisfied: reopened one level higher)"),
    "close": rule(Close, STAFF, {C.resolved}, "close with lessons learned"),
    "withdraw": rule(Withdraw, DESK, OPEN, "the complainant withdraws (reason kept)"),
}


# ----- what a query shows -----------------------------------------------------------------------

class ComplaintView(CaseView):
    kind: Literal["complaint"] = "complaint"
    linked_cases: list[LinkedCase] = Field(
        default=[], description="the cases it opened (its reportability review)")
    status: ComplaintStatus
    outcome: ComplaintOutcome | None = None
    level: int
    category: ComplaintCategory | None
    intake: ComplaintCreate
    hospital_name: str
    equipment: EquipmentSnapshot | None = None
    origin: ComplaintOrigin | None = None
    team: list[TeamMember] = []
    findings: list[Findings] = []
    root_cause: str | None = None
    plan_summary: str | None = None
    actions: list[CorrectiveAction] = []
    briefing: Briefing | None = None
    answer: str | None = None
    satisfaction: int | None = None
    satisfied: bool | None = None
    lessons_learned: str | None = None
    withdrawn_reason: str | None = None


class ComplaintResult(BaseModel):
    case_id: str
    outcome: ComplaintOutcome
    level: int
    satisfaction: int | None
    closed_at: datetime


class ComplaintCarry(CaseCarry):
    """A complaint's state as it continues as new (ComplaintWorkflow's attributes)."""

    status: ComplaintStatus
    level: int
    category: ComplaintCategory | None = None
    team: list[TeamMember] = []
    findings: list[Findings] = []
    root_cause: str | None = None
    plan_summary: str | None = None
    briefing: Briefing | None = None
    answer: str | None = None
    satisfaction: int | None = None
    satisfied: bool | None = None
    lessons_learned: str | None = None
    withdrawn_reason: str | None = None
    outcome: ComplaintOutcome | None = None
    linked_cases: list[LinkedCase] = []


def _complaint_summary(start: ComplaintStart) -> str:
    return f"投诉 {start.intake.complainant_name}: {start.intake.matter}"


KIND = CaseKind(
    name="complaint", prefix="CP", workflow="ComplaintWorkflow",
    workflow_module="caseflow.workflows.complaint", view=ComplaintView, rules=COMPLAINT_ACTIONS,
    statuses=ComplaintStatus, collection="complaints", intake=ComplaintCreate,
    start=ComplaintStart, open_with=Capability.open_complaint, title=lambda body: body.matter,
    summary=_complaint_summary, contract_of_hospital=True,
    desk=True, opens_as="record_complaint",
    opens_summary="Record a complaint: 201 with its id; the same Idempotency-Key again returns "
                  "it (200).")
