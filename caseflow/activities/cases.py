"""Opening a case from another case: the complaint a dissatisfied repair callback asks for,
the emergency a critical repair needs, the group event several adverse events make.

Idempotent: the reservation is keyed by the origin case, so a retried activity returns the
same case number.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.common import (
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from caseflow.domain import search_attributes as search
from caseflow.domain.adverse_event import (
    AdverseEventCreate,
    AdverseEventStart,
    GroupPlacement,
    LinkedAdverseEventRequest,
    Placed,
)
from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.complaint import ComplaintCreate, ComplaintStart, LinkedComplaintRequest
from caseflow.domain.emergency import EmergencyCreate, EmergencyStart, LinkedEmergencyRequest
from caseflow.domain.enums import ComplaintChannel, EmergencyTrigger
from caseflow.domain.errors import DomainError, UnknownReference
from caseflow.domain.kinds import KINDS
from caseflow.domain.maintenance import (
    LinkedRepairRequest,
    OpenVisit,
    PlanStart,
    VisitStart,
    plan_id,
)
from caseflow.domain.records import (
    OPEN_LINKED_ADVERSE_EVENT,
    OPEN_LINKED_COMPLAINT,
    OPEN_LINKED_EMERGENCY,
    OPEN_LINKED_REPAIR,
    OPEN_LINKED_REVIEW,
    OPEN_MAINTENANCE_VISIT,
    PLACE_IN_GROUP,
    START_MAINTENANCE_PLAN,
    SYSTEM,
    OpenedCase,
)
from caseflow.domain.repair import RepairStart
from caseflow.domain.review import LinkedReviewRequest, ReviewStart, flags
from caseflow.store import directory
from caseflow.store.adverse_groups import group_start, place_event
from caseflow.store.cases import Draft, reserve_case
from caseflow.store.intake import (
    adverse_event_start,
    complaint_start,
    emergency_start,
    linked_repair_start,
    visit_start,
)
from caseflow.store.policies import PolicySource

Started = TypeVar("Started", ComplaintStart, EmergencyStart, VisitStart, RepairStart,
                  ReviewStart, AdverseEventStart)
MATTER_ROOM = 3000  # of the 4000 characters of a complaint's matter, for the customer's words


class CaseOpening:
    def __init__(self, sessions: sessionmaker[Session], policies: PolicySource) -> None:
        self.sessions = sessions
        self.policies = policies

    @activity.defn(name=OPEN_LINKED_COMPLAINT)
    def open_linked_complaint(self, request: LinkedComplaintRequest) -> ComplaintStart:
        """Reserve the complaint's number and build its input (pinned to today's policy)."""
        origin = request.origin
        score = f"(满意度 {origin.satisfaction}/5)" if origin.satisfaction else ""
        said = origin.comment or "客户要求投诉"

        def body() -> ComplaintCreate:
            return ComplaintCreate(
                complainant_name=request.complainant_name[:200],
                complainant_contact=request.complainant_contact[:200],
                channel=ComplaintChannel.callback, hospital_id=request.hospital_id,
                matter=f"维修回访不满意:{origin.case_id}{score}:{said[:MATTER_ROOM]}",
                related_case_id=origin.case_id, equipment_serial=request.equipment_serial)

        def start(session: Session, case_id: str, now: datetime, today: date) -> ComplaintStart:
            return complaint_start(session, case_id=case_id, body=body(), book=self.policies.current(),
                                   now=now, today=today, opened_by=request.opened_by,
                                   origin=origin)

        return self._reserve("complaint", "callback-complaint", f"case:{origin.case_id}",
                             lambda: Draft(hospital_id=request.hospital_id,
                                           equipment_serial=request.equipment_serial,
                                           title=body().matter), start, origin.case_id)

    @activity.defn(name=OPEN_LINKED_EMERGENCY)
    def open_linked_emergency(self, request: LinkedEmergencyRequest) -> EmergencyStart:
        """Reserve the emergency's number, keyed by the repair (so one repair opens one
        emergency however often this is retried) and build its input."""

        def body() -> EmergencyCreate:
            return EmergencyCreate(
                hospital_id=request.hospital_id, equipment_serial=request.equipment_serial,
                trigger=EmergencyTrigger.patient_safety,
                impact=f"维修 {request.repair_case_id} 分级为危急:"
                       f"{request.impact[:MATTER_ROOM]}",
                department=request.department[:200], location=request.location[:4000],
                reporter_name=request.reporter_name[:200],
                reporter_phone=request.reporter_phone, related_case_id=request.repair_case_id)

        def start(session: Session, case_id: str, now: datetime, today: date) -> EmergencyStart:
            return emergency_start(session, case_id=case_id, body=body(), book=self.policies.current(),
                                   now=now, opened_by=request.opened_by)

        return self._reserve("emergency", "critical-emergency", f"case:{request.repair_case_id}",
                             lambda: Draft(hospital_id=request.hospital_id,
                                           equipment_serial=request.equipment_serial,
                                           title=body().impact), start, request.repair_case_id)

    @activity.defn(name=OPEN_MAINTENANCE_VISIT)
    async def open_maintenance_visit(self, request: OpenVisit) -> VisitStart:
        """Reserve the visit due on a date of a unit's plan and start its workflow: once per
        plan and date, however often this is retried. The visit is a workflow of its own, not
        a child of the plan (the plan continues as new while its visits go on)."""

        def start(session: Session, case_id: str, now: datetime, today: date) -> VisitStart:
            return visit_start(session, case_id=case_id, request=request, book=self.policies.current(),
                               now=now)

        visit = await asyncio.to_thread(
            self._reserve, "maintenance", f"visit-{request.due_on.isoformat()}",
            f"plan:{request.plan_id}",
            lambda: Draft(hospital_id=self._hospital(request.serial),
                          equipment_serial=request.serial,
                          title=f"预防性维护 {request.serial} {request.due_on}"), start)
        await self._start_workflow(
            "MaintenanceVisitWorkflow", visit, visit.case_id,
            search.at_start("maintenance", visit, visit.equipment.hospital_id, request.serial),
            f"预防性维护 {request.serial} {request.due_on}")
        return visit

    @activity.defn(name=START_MAINTENANCE_PLAN)
    async def start_maintenance_plan(self, plan: PlanStart) -> str:
        """Start a unit's maintenance plan (once: a plan already running for the unit is kept)."""
        await self._start_workflow("MaintenancePlanWorkflow", plan, plan_id(plan.serial), None,
                                   f"预防性维护计划 {plan.serial}")
        return plan_id(plan.serial)

    @activity.defn(name=PLACE_IN_GROUP)
    async def place_in_group(self, placement: GroupPlacement) -> Placed:
        """Place an adverse event in a group event, or in none (store/adverse_groups.py: one
        transaction under the lock of its key), then hand it to its group's case: started
        with it if not running yet (whichever event gets there first), else told of it (a
        signal the group takes once per event). A retry finds the event placed already and
        hands it over again."""
        placed, start = await asyncio.to_thread(self._place, placement)
        if start is None:
            return placed
        try:
            await activity.client().start_workflow(
                "AdverseEventWorkflow", start, id=start.case_id,
                task_queue=activity.info().task_queue,
                search_attributes=search.at_start("adverse_event", start,
                                                  start.intake.hospital_id, None),
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                start_signal="add_member", start_signal_args=[placement.member],
                static_summary=start.intake.description[:200])
        except WorkflowAlreadyStartedError:  # the group's case closed before it took this one
            return Placed(outcome="closed", group_case_id=start.case_id)
        return placed

    def _place(self, placement: GroupPlacement) -> tuple[Placed, AdverseEventStart | None]:
        """What cannot succeed on a retry (bad data) is raised as non-retryable, as `_reserve`
        does, so the event records it at once instead of retrying forever."""
        try:
            now, today = self._now_today()
            with self.sessions.begin() as session:
                placed, group = place_event(session, placement, now=now, local_day=today)
                if group is None:
                    return placed, None
                return placed, group_start(session, group, placement,
                                           book=self.policies.current(), now=now)
        except (DomainError, ValidationError) as error:
            raise ApplicationError(str(error), type=type(error).__name__,
                                   non_retryable=True) from None

    def _now_today(self) -> tuple[datetime, date]:
        """Now, and the policy's local day of it."""
        now = datetime.now(timezone.utc)
        return now, now.astimezone(ZoneInfo(self.policies.current().defaults.timezone)).date()

    @staticmethod
    async def _start_workflow(name: str, arg: BaseModel, workflow_id: str,
                              attributes: TypedSearchAttributes | None, summary: str) -> None:
        """Start a workflow of its own on this worker's task queue; one already started with
        this id (an earlier attempt) counts as started."""
        try:
            await activity.client().start_workflow(
                name, arg, id=workflow_id, task_queue=activity.info().task_queue,
                search_attributes=attributes,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                static_summary=summary[:200])
        except WorkflowAlreadyStartedError:
            pass  # started (and maybe finished) by an earlier attempt

    @activity.defn(name=OPEN_LINKED_REPAIR)
    def open_linked_repair(self, request: LinkedRepairRequest) -> RepairStart:
        """Reserve the repair a maintenance visit's findings need: once per visit."""

        def start(session: Session, case_id: str, now: datetime, today: date) -> RepairStart:
            return linked_repair_start(session, case_id=case_id, request=request,
                                       book=self.policies.current(), now=now, today=today)

        return self._reserve("repair", "visit-repair", f"case:{request.visit_case_id}",
                             lambda: Draft(hospital_id=self._hospital(request.serial),
                                           equipment_serial=request.serial,
                                           title=request.symptom), start)

    @activity.defn(name=OPEN_LINKED_REVIEW)
    async def open_linked_review(self, request: LinkedReviewRequest) -> OpenedCase:
        """Screen a case by the rules of the policy in force (docs/regulatory.md), reserve its
        reportability review and start it, once per case. A closed repair no rule flags is
        recorded as screened by the rules (decided at once, by the system) unless the policy
        asks a person to review those too."""
        origin = request.origin

        def start(session: Session, case_id: str, now: datetime, today: date) -> ReviewStart:
            found = (directory.equipment(session, request.equipment_serial)
                     if request.equipment_serial else None)
            contract = found[0].contract_code if found is not None else None
            policy = self.policies.current().pin(contract, now, "review")
            assert policy.review is not None
            flagged = flags(policy.review.rules, request.facts)
            regulatory = self.policies.current().for_contract(contract).regulatory
            return ReviewStart(
                case_id=case_id, origin=origin, hospital_id=request.hospital_id,
                equipment_serial=request.equipment_serial, flags=flagged,
                screened=(not flagged and origin.kind == "repair"
                          and policy.review.unflagged_repairs == "screen"),
                event_types=list(regulatory.event_types), policy=policy,
                fault_category=request.facts.fault_category,
                opened_by=SYSTEM, version=CODE_VERSION)

        review = await asyncio.to_thread(
            self._reserve, "review", "reportability-review", f"case:{origin.case_id}",
            lambda: Draft(hospital_id=request.hospital_id,
                          equipment_serial=request.equipment_serial,
                          title=f"可报告性评审 {origin.case_id}"), start)
        return await self._start_kind("review", review, request.hospital_id,
                                      request.equipment_serial)

    @activity.defn(name=OPEN_LINKED_ADVERSE_EVENT)
    async def open_linked_adverse_event(self, request: LinkedAdverseEventRequest) -> OpenedCase:
        """The adverse event a review found possibly reportable, on the reviewed case's unit,
        its awareness the reviewed case's intake: reserved and started once per review."""
        if request.equipment_serial is None:
            raise ApplicationError(
                f"{request.origin_case_id} names no unit: open the adverse event by hand "
                "(POST /v1/adverse-events) with the unit", type="InvalidPayload",
                non_retryable=True)

        def body() -> AdverseEventCreate:
            return AdverseEventCreate(
                hospital_id=request.hospital_id, equipment_serial=request.equipment_serial,
                event_type=request.event_type, description=request.description[:4000],
                related_case_id=request.origin_case_id,
                fault_category=request.fault_category)

        def start(session: Session, case_id: str, now: datetime,
                  today: date) -> AdverseEventStart:
            built = adverse_event_start(session, case_id=case_id, body=body(),
                                        book=self.policies.current(), now=now, today=today,
                                        opened_by=request.opened_by)
            return built.model_copy(update={"review_id": request.review_id})

        def draft() -> Draft:
            kind = KINDS["adverse_event"]
            assert kind.title is not None
            return Draft(hospital_id=request.hospital_id,
                         equipment_serial=request.equipment_serial, title=kind.title(body()))

        event = await asyncio.to_thread(self._reserve, "adverse_event", "possibly-reportable",
                                        f"case:{request.review_id}", draft, start)
        return await self._start_kind("adverse_event", event, request.hospital_id,
                                      request.equipment_serial)

    async def _start_kind(self, kind: str, start: BaseModel, hospital_id: str,
                          serial: str | None) -> OpenedCase:
        """Start a reserved case of `kind` on its own (not as a child of the case that opened
        it), with the search attributes of its first state and its kind's summary."""
        case_id = start.case_id
        summary = KINDS[kind].summary
        await self._start_workflow(KINDS[kind].workflow, start, case_id,
                                   search.at_start(kind, start, hospital_id, serial),
                                   summary(start) if summary else case_id)
        return OpenedCase(case_id=case_id)

    def _hospital(self, serial: str) -> str:
        with self.sessions() as session:
            found = directory.equipment(session, serial)
            if found is None:
                raise UnknownReference(f"no equipment with serial {serial!r}", field="serial")
            return found[0].hospital_id

    def _reserve(self, kind: str, key: str, created_by: str, draft: Callable[[], Draft],
                 start: Callable[[Session, str, datetime, date], Started],
                 hashed: str | None = None) -> Started:
        """The case `kind` opened by another case or a plan (`created_by`): its number
        reserved once, keyed by `created_by` and `key` alone (the origin checked its hospital
        and unit, and a retry finds the same number even if the wording changed since), and
        its workflow input. `hashed` is what the reservation's request hash is taken of
        (reservations made by earlier versions hashed the origin's case id alone).

        What cannot succeed on a retry (bad data) is raised as non-retryable, so the origin
        records it at once instead of retrying forever.
        """
        try:
            now, today = self._now_today()
            with self.sessions.begin() as session:
                row, _ = reserve_case(
                    session, kind=kind, created_by=created_by[:64], key=key,
                    request_hash=hashlib.sha256((hashed or created_by).encode()).hexdigest(),
                    draft=draft(), now=now, local_day=today)
                assert row.case_id is not None
                return start(session, row.case_id, now, today)
        except (DomainError, ValidationError) as error:
            raise ApplicationError(str(error), type=type(error).__name__,
                                   non_retryable=True) from None
