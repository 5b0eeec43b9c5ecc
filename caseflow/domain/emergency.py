"""Contracts of an emergency: declaration, the steps people report, their rules, the view.

DOMAIN.md section 4: declare (trigger, unit, impact) -> page the on-call chain -> acknowledge
-> dispatch (team, parts) -> on site -> safety measures -> restored -> post-incident check ->
satisfaction survey -> post-incident review with improvement actions -> closed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from caseflow.domain.access import Capability
from caseflow.domain.cases import (
    STAFF,
    CaseCarry,
    CaseKind,
    CaseStart,
    CaseView,
    CompleteAction,
    CorrectiveAction,
    CorrectiveActionInput,
    LinkedCase,
    Measurement,
    Name,
    Note,
    Payload,
    PersonField,
    Phone,
    Recorded,
    Text,
    Zoned,
    rule,
)
from caseflow.domain.enums import (
    ArrivalMode,
    EmergencyOutcome,
    EmergencyStatus,
    EmergencyTrigger,
    PatientHarm,
    Role,
)
from caseflow.domain.policy import CasePolicy
from caseflow.domain.records import Actor
from caseflow.domain.repair import EquipmentSnapshot
from caseflow.domain.words import word


class EmergencyCreate(Payload):
    """What the hotline sends to declare an emergency (POST /v1/emergencies)."""

    hospital_id: Name
    equipment_serial: Name
    trigger: EmergencyTrigger
    impact: Text = Field(description="who and what is affected (patients, departments)")
    department: Name
    location: Note = Field(default="", description="floor / room")
    reporter_name: Name
    reporter_phone: Phone
    related_case_id: Name | None = Field(default=None, description="a repair it comes from")
    patient_harmed: PatientHarm = Field(
        default=PatientHarm.unknown, description="was a patient or user harmed? (read by the "
                                                 "reportability review's rules)")


class LinkedEmergencyRequest(BaseModel):
    """A repair classified critical asks for an emergency on its unit."""

    repair_case_id: str
    hospital_id: str
    equipment_serial: str
    department: str
    location: str
    reporter_name: str
    reporter_phone: str
    impact: str
    opened_by: Actor


class EmergencyStart(CaseStart):
    """The workflow's input: declaration, the unit, the pinned policy, who declared it."""

    case_id: str
    intake: EmergencyCreate
    equipment: EquipmentSnapshot
    policy: CasePolicy
    opened_by: Actor
    carried: EmergencyCarry | None = None  # an emergency that continued as new

    @property
    def first_status(self) -> EmergencyStatus:
        return EmergencyStatus.paging

    @property
    def first_severity(self) -> str:
        return "critical"  # an emergency is always critical (its projection says so)


# ----- action payloads --------------------------------------------------------------------------

class Acknowledge(Payload):
    note: Note = ""


class DispatchedMember(Payload):
    """A person dispatched to the emergency (the API fills in their name)."""

    person_id: Name
    person_name: Name | None = Field(default=None, description="filled in by the API")


TeamMember = DispatchedMember  # the name the workflows use


class Dispatch(Payload):
    team: list[TeamMember] = Field(min_length=1, max_length=20)
    parts: list[Name] = Field(default=[], max_length=50, description="spare parts sent")
    mode: ArrivalMode = ArrivalMode.on_site
    note: Note = ""


class OnSite(Payload):
    mode: ArrivalMode
    note: Note = ""


class SafetyMeasures(Payload):
    measures: list[Text] = Field(min_length=1, max_length=50,
                                 description="e.g. patients moved to another unit")
    note: Note = ""


class Progress(Payload):
    message: Text = Field(description="what the customer was told")
    expected_restore_at: Zoned | None = None


class Restored(Payload):
    summary: Text
    parts_used: list[Name] = Field(default=[], max_length=50)


class PerformanceCheck(Payload):
    """The post-incident check: parameters, functions, running state, electrical safety."""

    parameters: list[Measurement] = Field(min_length=1, max_length=200)
    functions_ok: bool
    running_state_ok: bool
    electrical_safety_ok: bool
    note: Note = ""

    @property
    def failures(self) -> list[str]:
        found = [f"{m.name} {m.value:g}{m.unit} out of spec" for m in self.parameters
                 if not m.within_spec]
        found += [name for name, ok in (("functions", self.functions_ok),
                                        ("running state", self.running_state_ok),
                                        ("electrical safety", self.electrical_safety_ok)) if not ok]
        return found


class Survey(Payload):
    satisfaction: int = Field(ge=1, le=5)
    comment: Note = ""


class Review(Payload):
    root_cause: Text
    summary: Text
    actions: list[CorrectiveActionInput] = Field(min_length=1, max_length=50)


class Close(Payload):
    note: Note = ""


class StandDown(Payload):
    reason: Text = Field(description="why there is no emergency (declared in error, duplicate)")


# ----- the rules of each action -----------------------------------------------------------------

E = EmergencyStatus
WORKING = frozenset({E.acknowledged, E.dispatched, E.on_site})
FIELD = frozenset({Role.engineer}) | STAFF
DESK = frozenset({Role.hotline}) | STAFF
OWNERS = DESK | {Role.engineer}

EMERGENCY_ACTIONS = {
    "acknowledge": rule(Acknowledge, FIELD, {E.paging},
                        "the paged person (or staff) takes the emergency (5 min)"),
    "dispatch": rule(Dispatch, FIELD, {E.acknowledged, E.dispatched},
                     "team and spare parts on their way",
                     PersonField("person_id", "person_name", frozenset({Role.engineer}) | STAFF,
                                 within="team")),
    "on-site": rule(OnSite, FIELD, {E.dispatched}, "team on site or remote connected (30 min)"),
    "safety-measures": rule(SafetyMeasures, FIELD, {E.on_site},
                            "immediate safety measures taken (before restoring)"),
    "progress": rule(Progress, OWNERS, WORKING,
                     "progress update given to the customer (every 30 min)"),
    "restored": rule(Restored, FIELD, {E.on_site}, "the unit is restored"),
    "performance-check": rule(PerformanceCheck, FIELD, {E.restored},
                              "post-incident check (a failure returns to the repair)"),
    "survey": rule(Survey, DESK, {E.checked}, "customer satisfaction survey"),
    "review": rule(Review, STAFF, {E.surveyed},
                   "post-incident review: root cause, improvement actions with owners",
                   PersonField("owner_id", "owner_name", OWNERS, within="actions")),
    "complete-action": rule(CompleteAction, OWNERS, {E.reviewed},
                            "an improvement action done (by its owner or staff)"),
    "close": rule(Close, STAFF, {E.reviewed}, "close once every improvement action is done"),
    "stand-down": rule(StandDown, STAFF, {E.paging} | WORKING,
                       "no emergency after all (reason kept)"),
}


# ----- what a query shows -----------------------------------------------------------------------

class Page(BaseModel):
    """One page of the on-call chain: a level, the people paged, when."""

    round: int
    level: int
    people: list[Actor]
    at: datetime
    source: str


class EmergencyView(CaseView):
    kind: Literal["emergency"] = "emergency"
    linked_cases: list[LinkedCase] = Field(
        default=[], description="the cases it opened (its reportability review)")
    status: EmergencyStatus
    outcome: EmergencyOutcome | None = None
    trigger: EmergencyTrigger
    intake: EmergencyCreate
    equipment: EquipmentSnapshot
    pages: list[Page] = []
    earlier_pages: int = Field(default=0, description="pages of earlier runs not repeated in "
                                                      "`pages` (each is on the timeline)")
    acknowledged_at: datetime | None = None
    team: list[TeamMember] = []
    parts: list[str] = []
    mode: ArrivalMode | None = None
    on_site_at: datetime | None = None
    safety_measures: list[Recorded] = []
    progress_updates: list[Recorded] = []
    earlier_progress_updates: int = 0
    restored_at: datetime | None = None
    restored_summary: str | None = None
    checks: list[Recorded] = []
    satisfaction: int | None = None
    survey_comment: str | None = None
    root_cause: str | None = None
    review_summary: str | None = None
    actions: list[CorrectiveAction] = []
    stand_down_reason: str | None = None


class EmergencyResult(BaseModel):
    case_id: str
    outcome: EmergencyOutcome
    pages: int
    acknowledged_level: int | None
    closed_at: datetime


class EmergencyCarry(CaseCarry):
    """An emergency's state as it continues as new (EmergencyResponseWorkflow's attributes):
    the recent pages and progress updates; older ones are on the timeline."""

    status: EmergencyStatus
    outcome: EmergencyOutcome | None = None
    pages: list[Page] = []
    earlier_pages: int = 0
    paged_before: list[str] = []
    position: int = -1
    acknowledged_level: int | None = None
    acknowledged_at: datetime | None = None
    team: list[TeamMember] = []
    parts: list[str] = []
    mode: ArrivalMode | None = None
    on_site_at: datetime | None = None
    safety: list[Recorded] = []
    progress: list[Recorded] = []
    earlier_progress: int = 0
    restored_at: datetime | None = None
    restored_summary: str | None = None
    checks: list[Recorded] = []
    satisfaction: int | None = None
    survey_comment: str | None = None
    root_cause: str | None = None
    review_summary: str | None = None
    stand_down_reason: str | None = None
    linked_cases: list[LinkedCase] = []


def _emergency_summary(start: EmergencyStart) -> str:
    return (f"应急 {start.equipment.modality} {start.equipment.serial} "
            f"{word('trigger', start.intake.trigger)}:{start.intake.impact}")


KIND = CaseKind(
    name="emergency", prefix="EM", workflow="EmergencyResponseWorkflow",
    workflow_module="caseflow.workflows.emergency", view=EmergencyView, rules=EMERGENCY_ACTIONS,
    statuses=EmergencyStatus, collection="emergencies", intake=EmergencyCreate,
    start=EmergencyStart, open_with=Capability.open_emergency, title=lambda body: body.impact,
    summary=_emergency_summary, takes_units_down=True,
    desk=True, opens_as="declare_emergency",
    opens_summary="Declare an emergency: the on-call chain is paged at once. 201 with its id; "
                  "the same Idempotency-Key again returns it (200).")
