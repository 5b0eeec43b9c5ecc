"""Contracts of a repair case: intake, the actions people report, the rules of each, the view."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
)

from caseflow.domain.access import Capability
from caseflow.domain.cases import (
    STAFF,
    ActionRule,
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
    Phone,
    Text,
    Zoned,
    rule,
)
from caseflow.domain.enums import (
    ArrivalMode,
    Channel,
    FaultCategory,
    Modality,
    PatientHarm,
    RepairOutcome,
    RepairStatus,
    Role,
    Severity,
)
from caseflow.domain.monitoring import AlarmSeverity, AlarmValue
from caseflow.domain.policy import CasePolicy
from caseflow.domain.records import Actor
from caseflow.domain.sla import CasePause


class RepairCreate(Payload):
    """What the hotline sends to open a repair case (POST /v1/repairs)."""

    reporter_name: Name
    reporter_phone: Phone
    hospital_id: Name
    department: Name
    location: Note = Field(default="", description="floor / room")
    equipment_serial: Name
    symptom: Text
    observed_at: Zoned = Field(description="when the fault was observed (ISO 8601 with zone)")
    channel: Channel
    alarm_codes: list[Annotated[str, StringConstraints(max_length=100)]] = Field(
        default=[], max_length=50)
    alarm_values: list[AlarmValue] = Field(
        default=[], max_length=50, description="the alarm's values, with their limits "
        "(a repair opened by remote monitoring)")
    attachments: list[AttachmentRef] = Field(default=[], max_length=50)
    severity: Severity | None = Field(
        default=None, description="if the hotline already knows it; else a supervisor classifies")
    patient_harmed: PatientHarm = Field(
        default=PatientHarm.unknown, description="was a patient or user harmed? (read by the "
                                                 "reportability review's rules)")


class EquipmentSnapshot(BaseModel):
    """The unit as recorded at intake (from the equipment register)."""

    serial: str
    hospital_id: str
    hospital_name: str
    modality: Modality
    brand: str
    model: str
    install_date: date | None = None
    warranty_start: date | None = None
    warranty_end: date | None = None
    contract_code: str | None = None


class RepairStart(CaseStart):
    """The workflow's input: intake, the unit, the pinned policy, who opened it."""

    case_id: str
    intake: RepairCreate
    equipment: EquipmentSnapshot
    in_warranty: bool
    policy: CasePolicy
    opened_by: Actor
    carried: RepairCarry | None = None  # a repair that continued as new

    @property
    def first_status(self) -> RepairStatus:
        """The status the repair opens in: classified at intake if the hotline said how bad."""
        return (RepairStatus.awaiting_assignment if self.intake.severity is not None
                else RepairStatus.awaiting_classification)

    @property
    def first_severity(self) -> Severity | None:
        return self.intake.severity


# ----- action payloads --------------------------------------------------------------------------

class Classify(Payload):
    severity: Severity
    reason: Note = ""


class Reclassify(Payload):
    severity: Severity
    reason: Text


class Assign(Payload):
    engineer_id: Name
    engineer_name: Name | None = Field(default=None, description="filled in by the API")
    note: Note = ""


class Remark(Payload):
    note: Note = ""


class Arrive(Payload):
    mode: ArrivalMode
    note: Note = ""


class ReportSite(Payload):
    condition: Text
    hazards: list[Name] = Field(default=[], max_length=50)


class Part(Payload):
    part_no: Name
    name: Name
    quantity: int = Field(default=1, ge=1, le=1000)


class Diagnose(Payload):
    findings: Text
    fault_category: FaultCategory
    parts_needed: list[Part] = Field(default=[], max_length=100)


class QuoteItem(Payload):
    description: Name
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)


class Quote(Payload):
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")] = "CNY"
    items: list[QuoteItem] = Field(default=[], max_length=100)
    valid_until: date | None = None


class ApproveQuote(Payload):
    approved_by: Name
    note: Note = ""


class Reason(Payload):
    reason: Text


class OrderParts(Payload):
    parts: list[Part] = Field(min_length=1, max_length=100)
    note: Note = ""


class Progress(Payload):
    note: Text


class Check(Payload):
    passed: bool
    note: Note = ""


class AccuracyMeasurement(Payload):
    """One accuracy check against its reference value (e.g. 水模CT值), within a tolerance."""

    parameter: Name
    measured: float
    reference: float
    tolerance: float = Field(ge=0)
    unit: Annotated[str, StringConstraints(max_length=20)] = ""

    @property
    def within_tolerance(self) -> bool:
        return abs(self.measured - self.reference) <= self.tolerance


Measurement = AccuracyMeasurement  # its earlier name


class Verification(Payload):
    """The checks before a repair counts as restored (DOMAIN.md section 1)."""

    function_test: Check
    image_quality: Check
    accuracy: list[Measurement] = Field(min_length=1, max_length=200)
    stability_run: Check
    electrical_safety: Check


class Resolve(Payload):
    summary: Text
    verification: Verification


class Confirm(Payload):
    confirmed_by: Name
    signature_ref: Annotated[str, StringConstraints(max_length=1000)] = ""
    note: Note = ""


class Callback(Payload):
    satisfaction: int = Field(ge=1, le=5)
    comment: Note = ""
    complaint: bool = False


class AlarmFeed(Payload):
    """A fault episode of the unit's alarms, added to its open repair (remote monitoring): its
    first alarm and how many it has had so far, once per episode however many alarms."""

    episode_id: int = Field(ge=1)
    code: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    severity: AlarmSeverity
    raised_at: Zoned
    alarms: int = Field(ge=1)
    values: list[AlarmValue] = Field(default=[], max_length=50)
    message: Note = ""


class AlarmCleared(Payload):
    """Every alarm of a fault episode cleared (remote monitoring), once per episode."""

    episode_id: int = Field(ge=1)
    code: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    cleared_at: Zoned
    alarms: int = Field(ge=1)


class Pause(Payload):
    reason: Name
    note: Note = ""
    resume_at: Zoned | None = None


# ----- the rules of each action -----------------------------------------------------------------

S = RepairStatus
OPEN_BEFORE_RESOLVE = frozenset({
    S.awaiting_classification, S.awaiting_assignment, S.assigned, S.acknowledged, S.on_site,
    S.site_reported, S.work_approved, S.awaiting_quotation, S.awaiting_quote_decision,
    S.repairing})
# A repair takes the unit's alarms until it is resolved: after the verification passed, an
# alarm is a new fault (a new repair), not this one's.
TAKES_ALARMS = OPEN_BEFORE_RESOLVE
# A repair whose alarm cleared before anyone acted may be closed as self-resolved until an
# engineer has acknowledged it.
SELF_RESOLVABLE = frozenset({S.awaiting_classification, S.awaiting_assignment, S.assigned})
WORKING = frozenset({S.assigned, S.acknowledged, S.on_site, S.site_reported, S.work_approved,
                     S.awaiting_quotation, S.awaiting_quote_decision, S.repairing})


REPAIR_ACTIONS: dict[str, ActionRule] = {
    "classify": rule(Classify, STAFF, {S.awaiting_classification},
                      "classify the severity"),
    "reclassify": rule(Reclassify, STAFF, OPEN_BEFORE_RESOLVE - {S.awaiting_classification},
                        "change the severity, with a reason"),
    "assign": rule(Assign, STAFF, {S.awaiting_assignment, S.assigned, S.acknowledged},
                    "assign (or re-assign) the engineer",
                    PersonField("engineer_id", "engineer_name", frozenset({Role.engineer}))),
    "acknowledge": rule(Remark, {Role.engineer}, {S.assigned},
                         "engineer acknowledges the case"),
    "confirm-handover": rule(Remark, {Role.hotline}, WORKING,
                              "hotline confirms the engineer received the case"),
    "arrive": rule(Arrive, {Role.engineer}, {S.acknowledged},
                    "engineer on site or remote connection established"),
    "report-site": rule(ReportSite, {Role.engineer}, {S.on_site},
                         "engineer reports the site condition"),
    "approve-start": rule(Remark, STAFF, {S.site_reported},
                           "supervisor approves the start of work"),
    "diagnose": rule(Diagnose, {Role.engineer}, {S.work_approved},
                      "findings, fault category, parts needed"),
    "quote": rule(Quote, {Role.engineer} | STAFF, {S.awaiting_quotation},
                   "quotation for an out-of-warranty repair (clock pauses)"),
    "approve-quote": rule(ApproveQuote, {Role.hotline} | STAFF, {S.awaiting_quote_decision},
                           "customer approves the quotation"),
    "decline-quote": rule(Reason, {Role.hotline} | STAFF, {S.awaiting_quote_decision},
                           "customer declines the quotation (the repair ends)"),
    "order-parts": rule(OrderParts, {Role.engineer} | STAFF, {S.repairing},
                         "spare parts ordered"),
    "parts-arrived": rule(Remark, {Role.engineer} | STAFF, {S.repairing},
                           "ordered parts arrived"),
    "progress": rule(Progress, {Role.engineer}, WORKING, "daily progress report"),
    "resolve": rule(Resolve, {Role.engineer}, {S.repairing},
                     "repair done, with the verification checklist"),
    "confirm": rule(Confirm, {Role.hotline}, {S.awaiting_confirmation},
                     "customer confirms the repair"),
    "dispute": rule(Reason, {Role.hotline}, {S.awaiting_confirmation},
                     "customer disputes the repair (back to repair)"),
    "callback": rule(Callback, {Role.hotline}, {S.awaiting_callback},
                      "closed-loop callback with satisfaction 1-5"),
    "pause": rule(Pause, {Role.hotline} | STAFF, OPEN_BEFORE_RESOLVE,
                   "pause the clock while waiting on the customer"),
    "resume": rule(Remark, {Role.hotline} | STAFF, OPEN_BEFORE_RESOLVE,
                    "resume the clock"),
    "alarm": rule(AlarmFeed, {Role.monitoring}, TAKES_ALARMS,
                   "remote monitoring adds a fault episode of the unit's alarms"),
    "alarm-cleared": rule(AlarmCleared, {Role.monitoring}, TAKES_ALARMS,
                           "remote monitoring reports the episode's alarms cleared"),
    "close-self-resolved": rule(Reason, STAFF, SELF_RESOLVABLE,
                                 "close as self-resolved: the alarm cleared before anyone "
                                 "acted (with a reason)"),
}


# ----- what a query shows -----------------------------------------------------------------------

class RepairView(CaseView):
    kind: Literal["repair"] = "repair"
    status: RepairStatus
    outcome: RepairOutcome | None = None
    severity: Severity | None
    emergency_required: bool = False
    intake: RepairCreate
    equipment: EquipmentSnapshot
    in_warranty: bool
    fault_category: FaultCategory | None = None
    quotation: dict[str, Any] | None = None
    parts_pending: bool = False
    satisfaction: int | None = None
    complaint_requested: bool = False
    linked_cases: list[LinkedCase] = []
    paused: CasePause | None = None
    pauses: list[CasePause] = []
    contract_code: str | None = None
    alarm_episodes: int = 0  # fault episodes of the unit's alarms added to it
    alarm_cleared_at: datetime | None = None  # the last episode's alarms all cleared
    self_resolvable: bool = False  # cleared before anyone acted: may close as self-resolved


class RepairResult(BaseModel):
    case_id: str
    outcome: RepairOutcome
    satisfaction: int | None
    breached: bool
    closed_at: datetime


class RepairCarry(CaseCarry):
    """A repair's state as it continues as new (RepairWorkflow's attributes)."""

    status: RepairStatus
    severity: Severity | None = None
    fault_category: FaultCategory | None = None
    quotation: dict[str, Any] | None = None
    parts_pending: bool = False
    outcome: RepairOutcome | None = None
    satisfaction: int | None = None
    complaint_requested: bool = False
    callback_by: Actor | None = None
    callback_comment: str = ""
    linked_cases: list[LinkedCase] = []
    critical_by: Actor | None = None
    emergency_declared: bool = False
    alarm_episodes: int = 0
    alarm_cleared_at: datetime | None = None
    self_resolvable: bool = False


def _repair_summary(start: RepairStart) -> str:
    return f"{start.equipment.modality} {start.equipment.serial}: {start.intake.symptom}"


KIND = CaseKind(
    name="repair", prefix="RP", workflow="RepairWorkflow",
    workflow_module="caseflow.workflows.repair", view=RepairView, rules=REPAIR_ACTIONS,
    statuses=RepairStatus, collection="repairs", intake=RepairCreate, start=RepairStart,
    open_with=Capability.open_repair, title=lambda body: body.symptom, summary=_repair_summary,
    takes_units_down=True,
    desk=True, opens_summary="Open a repair case: 201 with its id; the same Idempotency-Key again returns "
                  "it (200).")
