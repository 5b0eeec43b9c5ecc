"""Contracts of an installation acceptance: the order, the steps people report, their rules,
the view (DOMAIN.md section 3).

order -> site assessment (a failed check waits, clock paused, for the hospital's fix) ->
delivery -> installation -> commissioning -> performance verification (out of spec: back to
commissioning, every round kept) -> training -> both signatures -> in service, warranty
recorded, preventive-maintenance plan started.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from caseflow.domain.access import Capability
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
    Phone,
    Recorded,
    Text,
    Zoned,
    rule,
)
from caseflow.domain.enums import (
    InstallationStatus,
    Modality,
    Role,
    SigningParty,
    SiteItem,
    TrainingTopic,
)
from caseflow.domain.policy import CasePolicy
from caseflow.domain.records import Actor
from caseflow.domain.sla import CasePause

# What a site must offer, by modality: MR rooms need RF shielding, X-ray rooms radiation
# protection (DOMAIN.md section 3).
COMMON_SITE_ITEMS = (SiteItem.power, SiteItem.grounding, SiteItem.temperature,
                     SiteItem.humidity, SiteItem.floor_load, SiteItem.network)
SITE_ITEMS_BY_MODALITY: dict[Modality, tuple[SiteItem, ...]] = {
    Modality.MR: (*COMMON_SITE_ITEMS, SiteItem.rf_shielding),
    Modality.CT: (*COMMON_SITE_ITEMS, SiteItem.radiation_protection),
    Modality.DR: (*COMMON_SITE_ITEMS, SiteItem.radiation_protection),
}


Short = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


def site_items(modality: Modality) -> tuple[SiteItem, ...]:
    return SITE_ITEMS_BY_MODALITY.get(modality, COMMON_SITE_ITEMS)


class InstallationCreate(Payload):
    """A new unit ordered by a hospital (POST /v1/installations)."""

    hospital_id: Name
    serial: Short = Field(description="the new unit's serial number (not registered yet)")
    modality: Modality
    brand: Short
    model: Short
    department: Name
    location: Note = ""
    contract_code: Name | None = Field(default=None,
                                       description="default: the hospital's contract in force")
    delivery_due_at: Zoned = Field(description="the delivery date of the order; the site is "
                                               "assessed and the unit delivered by then")
    contact_name: Name = Field(description="the hospital's equipment department contact")
    contact_phone: Phone


class InstallationStart(CaseStart):
    """The workflow's input: the order, the hospital, the pinned policy, who recorded it."""

    case_id: str
    intake: InstallationCreate
    hospital_name: str
    contract_code: str | None
    policy: CasePolicy
    opened_by: Actor
    carried: InstallationCarry | None = None  # an installation that continued as new

    @property
    def first_status(self) -> InstallationStatus:
        return InstallationStatus.ordered


class AcceptedUnit(BaseModel):
    """The unit as registered in service on acceptance."""

    serial: str
    in_service_on: date
    warranty_start: date
    warranty_end: date
    maintenance_interval_days: int
    contract_ends_on: date | None = None  # the plan's visits stop with the contract


class AcceptUnit(BaseModel):
    """Put the unit in service (the accept_installation activity)."""

    case_id: str
    serial: str
    accepted_at: datetime


# ----- action payloads --------------------------------------------------------------------------

class SiteCheck(Payload):
    passed: bool
    measured: Note = Field(default="", description="e.g. 380V/3相, 接地电阻 0.8Ω, 22°C")
    note: Note = ""


class SiteAssessment(Payload):
    items: dict[SiteItem, SiteCheck] = Field(
        description="every item the modality needs (RF shielding for MR, radiation "
                    "protection for CT/DR)")
    note: Note = ""

    @property
    def failed(self) -> list[SiteItem]:
        return [item for item, check in self.items.items() if not check.passed]


class AssignLead(Payload):
    engineer_id: Name
    engineer_name: Name | None = Field(default=None, description="filled in by the API")


class Step(Payload):
    note: Note = ""


class Verification(Payload):
    """One measurement round of the performance verification."""

    parameters: list[Measurement] = Field(min_length=1, max_length=300)
    note: Note = ""

    @property
    def out_of_spec(self) -> list[Measurement]:
        return [m for m in self.parameters if not m.within_spec]


class Attendee(Payload):
    name: Name
    department: Note = ""
    role: Note = Field(default="", description="e.g. 技师 technologist, 设备科 engineer")


class Training(Payload):
    attendees: list[Attendee] = Field(min_length=1, max_length=200)
    topics: list[TrainingTopic] = Field(
        min_length=1, description="operation, maintenance and safety must all be covered")
    hours: float = Field(gt=0, le=200)
    note: Note = ""


class Signature(Payload):
    party: SigningParty
    signer_name: Name
    signer_title: Note = ""
    signature_ref: Name = Field(description="the signed acceptance document (file store ref)")


class Refusal(Payload):
    party: SigningParty
    signer_name: Name
    reason: Text


class Cancel(Payload):
    reason: Text


# ----- the rules of each action -----------------------------------------------------------------

I = InstallationStatus  # noqa: E741
FIELD = frozenset({Role.engineer}) | STAFF
OPEN = frozenset(set(I) - {I.accepted, I.cancelled})

INSTALLATION_ACTIONS = {
    "assign": rule(AssignLead, STAFF, OPEN, "the lead engineer of the installation",
                   PersonField("engineer_id", "engineer_name", frozenset({Role.engineer}))),
    "assess-site": rule(SiteAssessment, FIELD, {I.ordered, I.site_not_ready},
                        "site assessment checklist (a failed item waits for the hospital)"),
    "deliver": rule(Step, FIELD, {I.site_ready}, "the unit is delivered (by the delivery date)"),
    "install": rule(Step, FIELD, {I.delivered}, "the unit is installed"),
    "commission": rule(Step, FIELD, {I.installed}, "commissioning done (contract window)"),
    "verify": rule(Verification, FIELD, {I.commissioned},
                   "performance verification (out of spec: back to commissioning)"),
    "train": rule(Training, FIELD, {I.verified}, "user training: operation, maintenance, safety"),
    "sign": rule(Signature, frozenset({Role.hotline}) | STAFF, {I.trained},
                 "a party signs the acceptance (the vendor: staff; the hospital: recorded by "
                 "the hotline or staff)"),
    "refuse": rule(Refusal, frozenset({Role.hotline}) | STAFF, {I.trained},
                   "a party refuses to sign, with a reason: back to commissioning"),
    "cancel": rule(Cancel, STAFF, OPEN, "the order is cancelled (reason kept)"),
}


# ----- what a query shows -----------------------------------------------------------------------

class InstallationView(CaseView):
    kind: Literal["installation"] = "installation"
    status: InstallationStatus
    intake: InstallationCreate
    hospital_name: str
    contract_code: str | None
    assessments: list[Recorded] = []
    verifications: list[Recorded] = []
    training: Recorded | None = Field(default=None, description="data: the training given")
    signatures: list[Recorded] = Field(default=[], description="data: each party's signature")
    refusals: list[Recorded] = []
    accepted: Recorded | None = Field(default=None,
                                      description="data: the unit as registered in service")
    linked_cases: list[LinkedCase] = []
    paused: CasePause | None = None
    pauses: list[CasePause] = []
    cancel_reason: str | None = None


class InstallationResult(BaseModel):
    case_id: str
    status: InstallationStatus
    accepted: AcceptedUnit | None
    closed_at: datetime


class InstallationCarry(CaseCarry):
    """An installation's state as it continues as new (its workflow's attributes)."""

    status: InstallationStatus
    assessments: list[Recorded] = []
    verifications: list[Recorded] = []
    training: Recorded | None = None
    signatures: dict[SigningParty, Recorded] = {}
    refusals: list[Recorded] = []
    accepted: AcceptedUnit | None = None
    linked_cases: list[LinkedCase] = []
    cancel_reason: str | None = None


def _installation_title(order: InstallationCreate) -> str:
    return f"{order.modality.value} {order.brand} {order.model} {order.serial}"


def _installation_summary(start: InstallationStart) -> str:
    return f"装机 {_installation_title(start.intake)}"


KIND = CaseKind(
    name="installation", prefix="IN", workflow="InstallationAcceptanceWorkflow",
    workflow_module="caseflow.workflows.installation", view=InstallationView,
    rules=INSTALLATION_ACTIONS, statuses=InstallationStatus, collection="installations",
    intake=InstallationCreate, start=InstallationStart, open_with=Capability.open_installation,
    title=_installation_title, summary=_installation_summary,
    opens_as="order_installation",
    opens_summary="Record an ordered unit: it enters the register as installing, and its "
                  "acceptance case starts. 201 with the case id; the same Idempotency-Key again "
                  "returns it (200).")
