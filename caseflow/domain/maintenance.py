"""Contracts of preventive maintenance: a unit's plan, and each visit it opens (DOMAIN.md
section 3: the plan starts when an installation is accepted).

A plan opens a visit on each due date, every `interval_days` from the day the unit went into
service; it may be paused (the unit is out of service) and resumed, or ended (decommissioned),
each with a reason. A visit has a due window, an engineer, a checklist (cleaning, inspection,
calibration values), the customer's confirmation; a finding that needs a repair opens one.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, model_validator

from caseflow.domain.cases import (
    STAFF,
    CaseCarry,
    CaseKind,
    CaseStart,
    CaseView,
    LinkedCase,
    Measurement,
    Name,
    Note,
    Payload,
    PersonField,
    Text,
    rule,
)
from caseflow.domain.enums import PlanStatus, Role, Severity, VisitStatus
from caseflow.domain.policy import CasePolicy
from caseflow.domain.records import SYSTEM, Actor
from caseflow.domain.repair import EquipmentSnapshot

# ----- the plan ---------------------------------------------------------------------------------

def plan_id(serial: str) -> str:
    """The workflow id of a unit's plan: one plan per unit."""
    return f"PM-{serial}"


OPENS_AT = time(8, 0)  # a visit opens at 08:00 local time on its due date


def opens_at(day: date, timezone: str) -> datetime:
    """When the visit due on `day` opens: 08:00 in the plan's time zone."""
    return datetime.combine(day, OPENS_AT, tzinfo=ZoneInfo(timezone))



class PlanStart(BaseModel):
    """A unit's plan: due dates every `interval_days` from `first_due`. Carried over when the
    plan continues as new (so `visits` and `changes` are the whole record)."""

    serial: str
    hospital_id: str
    interval_days: int = Field(ge=1, le=3650)
    first_due: date
    timezone: str = "Asia/Shanghai"
    opened_by: Actor
    origin_case_id: str | None = None  # the installation that started it
    ends_on: date | None = None  # the contract's end: no visit is due after it
    status: PlanStatus = PlanStatus.active
    next_due: date | None = None  # None: first_due
    visits: list[PlannedVisit] = []
    changes: list[PlanChangeRecord] = []


# What the plan itself says about a visit it did not open, or why it ended: a code and its
# parameters, worded by whoever shows it (the console in its language, "eq.note.<code>").
# Plans before the codes wrote zh-CN text in `note` / `reason`: read back, the texts the plan
# wrote are taken for their codes; anything else is shown as written.
PlanNote = Literal["paused", "not_opened", "contract_ended"]
OLD_PAUSED_NOTE = "计划暂停,未开立"
OLD_NOT_OPENED = "not opened: "
OLD_CONTRACT_ENDED = "合同到期:"


class PlannedVisit(BaseModel):
    due_on: date
    case_id: str | None  # None: not opened (the plan was paused or ended on that date)
    opened_at: datetime | None = None
    note: str = ""  # text as written (only plans before the codes wrote one)
    note_code: PlanNote | None = None  # paused, not_opened (`note_params`: error)
    note_params: dict[str, str] = {}

    @model_validator(mode="after")
    def _old_note(self) -> PlannedVisit:
        if self.note_code is None and self.note == OLD_PAUSED_NOTE:
            self.note_code, self.note = "paused", ""
        elif self.note_code is None and self.note.startswith(OLD_NOT_OPENED):
            self.note_code = "not_opened"
            self.note_params = {"error": self.note[len(OLD_NOT_OPENED):]}
            self.note = ""
        return self


class PlanChangeRecord(BaseModel):
    change: Literal["pause", "resume", "end"]
    reason: str = ""  # the person's reason, as written
    reason_code: PlanNote | None = None  # the plan's own: contract_ended (params: ends_on)
    reason_params: dict[str, str] = {}
    by: Actor
    at: datetime

    @model_validator(mode="after")
    def _old_reason(self) -> PlanChangeRecord:
        if (self.reason_code is None and self.by.id == SYSTEM.id
                and self.reason.startswith(OLD_CONTRACT_ENDED)):
            self.reason_code = "contract_ended"
            self.reason_params = {"ends_on": self.reason[len(OLD_CONTRACT_ENDED):]}
            self.reason = ""
        return self


class PlanChange(Payload):
    """Pause (out of service), resume, or end (decommissioned) a unit's plan, with a reason."""

    change: Literal["pause", "resume", "end"]
    reason: Text
    actor: Actor | None = Field(default=None, description="set by the API")


class PlanView(BaseModel):
    serial: str
    hospital_id: str
    status: PlanStatus
    interval_days: int
    first_due: date
    next_due: date | None
    upcoming: list[date]
    ends_on: date | None = None
    visits: list[PlannedVisit]
    changes: list[PlanChangeRecord]
    origin_case_id: str | None


class OpenVisit(BaseModel):
    """Reserve the visit due on `due_on` for a unit (the open_maintenance_visit activity)."""

    serial: str
    due_on: date
    plan_id: str
    opened_by: Actor


# ----- a visit ----------------------------------------------------------------------------------

class VisitStart(CaseStart):
    case_id: str
    equipment: EquipmentSnapshot
    due_on: date
    plan_id: str
    policy: CasePolicy
    opened_by: Actor
    carried: VisitCarry | None = None  # a visit that continued as new

    @property
    def first_status(self) -> VisitStatus:
        return VisitStatus.scheduled


class AssignEngineer(Payload):
    engineer_id: Name
    engineer_name: Name | None = Field(default=None, description="filled in by the API")


class Finding(Payload):
    description: Text
    needs_repair: bool = False
    severity: Severity | None = Field(default=None, description="for a finding needing repair")


class ChecklistItem(Payload):
    done: bool
    note: Note = ""


class VisitReport(Payload):
    cleaning: ChecklistItem
    inspection: ChecklistItem
    calibration: list[Measurement] = Field(min_length=1, max_length=300)
    findings: list[Finding] = Field(default=[], max_length=50)
    note: Note = ""

    @property
    def repair_findings(self) -> list[Finding]:
        return [f for f in self.findings if f.needs_repair]


class Confirmation(Payload):
    confirmed_by: Name
    comment: Note = ""


class CancelVisit(Payload):
    reason: Text


V = VisitStatus
OPEN_VISIT = frozenset({V.scheduled, V.assigned})
VISIT_ACTIONS = {
    "assign": rule(AssignEngineer, STAFF, OPEN_VISIT, "the engineer of the visit",
                   PersonField("engineer_id", "engineer_name", frozenset({Role.engineer}))),
    "report": rule(VisitReport, frozenset({Role.engineer}) | STAFF, {V.assigned},
                   "checklist: cleaning, inspection, calibration values, findings"),
    "confirm": rule(Confirmation, frozenset({Role.hotline}) | STAFF, {V.done},
                    "the customer confirms the visit"),
    "cancel": rule(CancelVisit, STAFF, OPEN_VISIT, "the visit is not needed (reason kept)"),
}


class VisitView(CaseView):
    kind: Literal["maintenance"] = "maintenance"
    status: VisitStatus
    equipment: EquipmentSnapshot
    due_on: date
    plan_id: str
    report: VisitReport | None = None
    confirmation: Confirmation | None = None
    linked_cases: list[LinkedCase] = []
    cancel_reason: str | None = None


class VisitResult(BaseModel):
    case_id: str
    status: VisitStatus
    closed_at: datetime
    repair_id: str | None = None


PlanStart.model_rebuild()


class LinkedRepairRequest(BaseModel):
    """A visit's findings need a repair: open one on the unit (the open_linked_repair activity)."""

    visit_case_id: str
    serial: str
    symptom: str
    severity: Severity | None
    observed_at: datetime
    reporter: Actor


class EquipmentStatusChange(BaseModel):
    """The unit's status follows its plan: out of service, in service, decommissioned."""

    serial: str
    status: Literal["in_service", "out_of_service", "decommissioned", "cancelled"]
    reason: str
    by: Actor


class VisitCarry(CaseCarry):
    """A maintenance visit's state as it continues as new (its workflow's attributes)."""

    status: VisitStatus
    report: VisitReport | None = None
    confirmation: Confirmation | None = None
    linked_cases: list[LinkedCase] = []
    cancel_reason: str | None = None
    reported_by: Actor | None = None
    repair_checked: bool = False


# Visits are opened by their unit's maintenance plan, never over POST.
KIND = CaseKind(
    name="maintenance", prefix="MV", workflow="MaintenanceVisitWorkflow",
    workflow_module="caseflow.workflows.maintenance", view=VisitView, rules=VISIT_ACTIONS,
    statuses=VisitStatus, collection="visits", takes_units_down=True)
