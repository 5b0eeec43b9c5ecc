"""Contracts of a reportability review (可报告性评审, docs/regulatory.md): what the rules read,
the decision regulatory affairs records, the view (and what other readers may see of it), and
the kind's registry entry.

Every complaint, every emergency whose trigger is patient safety and every closed repair is
screened: the policy's rules (`review.rules`) flag it or not, and a person of regulatory
affairs decides within the policy's deadline whether it is possibly a reportable adverse event;
"not an adverse event" needs a reason. A closed repair no rule flagged is recorded as screened
by the rules, unless the policy asks a person to review those too (`review.unflagged_repairs`).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field

from caseflow.domain.cases import (
    CaseCarry,
    CaseKind,
    CaseStart,
    CaseView,
    Confidential,
    LinkedCase,
    Name,
    Note,
    Payload,
    rule,
)
from caseflow.domain.enums import PatientHarm, Role
from caseflow.domain.policy import CasePolicy, ReviewRules
from caseflow.domain.records import Actor
from caseflow.domain.words import word

NO_RULE_MATCHED = "no_rule_matched"  # the reason code of a repair screened by the rules


class ReviewStatus(StrEnum):
    pending = "pending"  # regulatory affairs decides
    decided = "decided"


class Decision(StrEnum):
    not_adverse_event = "not_adverse_event"
    possibly_reportable = "possibly_reportable"


class ReviewFacts(BaseModel):
    """What the rules read of the case under review (its intake and what it found)."""

    trigger: str | None = None  # an emergency's
    severity: str | None = None  # a repair's
    fault_category: str | None = None  # a repair's, at diagnosis
    complaint_category: str | None = None
    patient_harmed: PatientHarm = PatientHarm.unknown


def flags(rules: ReviewRules, facts: ReviewFacts) -> list[str]:
    """The rules a case matches, as `<rule>:<value>` codes (empty: none flags it)."""
    found = []
    for name, value in (("triggers", facts.trigger), ("severities", facts.severity),
                        ("fault_categories", facts.fault_category),
                        ("complaint_categories", facts.complaint_category),
                        ("patient_harmed", facts.patient_harmed)):
        if value is not None and value in {str(v) for v in getattr(rules, name)}:
            found.append(f"{name}:{value}")
    return found


class ReviewOrigin(BaseModel):
    """The case under review: its intake is the awareness time of an event it reveals."""

    case_id: str
    kind: str
    opened_at: datetime


class LinkedReviewRequest(BaseModel):
    """A case asks for its reportability review (the activity screens it by the policy)."""

    origin: ReviewOrigin
    hospital_id: str
    equipment_serial: str | None = None
    facts: ReviewFacts


class ReviewStart(CaseStart):
    case_id: str
    origin: ReviewOrigin
    hospital_id: str
    equipment_serial: str | None = None
    flags: list[str] = []
    # No rule flagged this closed repair and the policy records it as screened: decided at once.
    screened: bool = False
    event_types: list[str] = []  # the policy's adverse-event types (a possibly reportable one's)
    fault_category: str | None = None  # the reviewed repair's, for the event it may open
    policy: CasePolicy
    opened_by: Actor
    carried: ReviewCarry | None = None

    @property
    def first_status(self) -> ReviewStatus:
        return ReviewStatus.decided if self.screened else ReviewStatus.pending


class Decide(Payload):
    """Regulatory affairs' decision: not an adverse event (with its reason), or possibly a
    reportable one (an adverse event of `event_type` is opened, counted from the origin's
    intake)."""

    decision: Decision
    reason: Note = Field(default="", description="why; required for not_adverse_event")
    event_type: Name | None = Field(
        default=None, description="possibly_reportable: the adverse event's type, a code of the "
                                  "policy's regulatory.event_types")


REVIEW_ACTIONS = {
    "decide": rule(Decide, {Role.regulatory}, {ReviewStatus.pending},
                   "decide whether it is possibly a reportable adverse event"),
}


class ReviewView(CaseView):
    kind: Literal["review"] = "review"
    status: ReviewStatus
    origin: ReviewOrigin
    equipment_serial: str | None = None
    flags: list[str] = []
    screened: bool = False
    decision: Decision | None = None
    reason: str | None = None
    reason_code: str | None = Field(default=None, description="no_rule_matched: screened by "
                                                                  "the rules")
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    decided_on_policy: str | None = None
    event_type: str | None = None
    linked_cases: list[LinkedCase] = []
    deliberations_hidden: bool = Field(
        default=False, description="the reader may see that the review exists and its status, "
                                   "not its deliberations (decision, reason, author)")


class ReviewCarry(CaseCarry):
    status: ReviewStatus
    decision: Decision | None = None
    reason: str | None = None
    event_type: str | None = None
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    linked_cases: list[LinkedCase] = []


ReviewStart.model_rebuild()

# Who reads a review's deliberations; the other readers (hotline, engineers, supervisors) see
# that it exists and its status.
DELIBERATION_READERS = frozenset({Role.regulatory, Role.auditor, Role.manager, Role.director})


def without_deliberations(view: BaseModel) -> BaseModel:
    """The review as a reader who may not see its deliberations sees it."""
    assert isinstance(view, ReviewView)
    return view.model_copy(update={
        "decision": None, "reason": None, "reason_code": None, "decided_by": None,
        "event_type": None, "flags": [], "linked_cases": [],
        "steps": [step.model_copy(update={"data": {}, "by": Actor(id="", name="")})
                  for step in view.steps],
        "deliberations_hidden": True})


def _summary(start: ReviewStart) -> str:
    return f"可报告性评审 {word('kind', start.origin.kind)} {start.origin.case_id}"


KIND = CaseKind(
    name="review", prefix="RV", workflow="ReportabilityReviewWorkflow",
    workflow_module="caseflow.workflows.review", view=ReviewView, rules=REVIEW_ACTIONS,
    statuses=ReviewStatus, collection="reviews", start=ReviewStart, summary=_summary,
    contract_commitments=False,
    troubles_to=Role.regulatory,
    confidential=Confidential(readers=DELIBERATION_READERS, events=frozenset({"decide", "screened"}),
                              redact=without_deliberations))
