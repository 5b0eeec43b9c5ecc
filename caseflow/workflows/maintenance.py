"""Preventive maintenance: a unit's plan, and the visits it opens (DOMAIN.md section 3).

`MaintenancePlanWorkflow` (id `PM-<serial>`, one per unit) sleeps on a durable timer until the
next due date, opens that visit (a `MaintenanceVisitWorkflow` case of its own, reserved exactly
once per unit and due date), and goes on every `interval_days` for the life of the unit. Pause
(out of service), resume and end (decommissioned) are updates with a reason, kept in the plan's
history and view; due dates that pass while paused are recorded as skipped. The plan continues
as new every few visits, so its history stays short however many years it runs.

A visit is due within its window (escalating on the shared deadline machinery when overdue),
done by its engineer with a checklist (cleaning, inspection, calibration values, findings),
and confirmed by the customer; a finding that needs a repair opens a linked repair, once.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from caseflow.workflows import search_attributes as search
from caseflow.workflows.case import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, CaseWorkflow, Outcome

with workflow.unsafe.imports_passed_through():
    from caseflow.domain import maintenance as m
    from caseflow.domain.access import MATRIX, Capability
    from caseflow.domain.cases import LinkedCase
    from caseflow.domain.enums import PlanStatus, Role, Severity, VisitStatus
    from caseflow.domain.errors import InvalidTransition, NotPermitted
    from caseflow.domain.records import (
        OPEN_LINKED_REPAIR,
        OPEN_MAINTENANCE_VISIT,
        SET_EQUIPMENT_STATUS,
        SYSTEM,
        Actor,
        CaseProjection,
        NoticeRequest,
    )
    from caseflow.domain.repair import RepairStart

V = VisitStatus
VISITS_PER_RUN = 4  # the plan continues as new after this many due dates
PLAN_CHANGERS = MATRIX[Capability.change_plans]
STATUS_OF_PLAN = {PlanStatus.paused: "out_of_service", PlanStatus.active: "in_service",
                  PlanStatus.ended: "decommissioned"}
SEVERITY_ORDER = (Severity.critical, Severity.severe, Severity.general, Severity.minor)


@workflow.defn
class MaintenancePlanWorkflow:
    @workflow.init
    def __init__(self, start: m.PlanStart) -> None:
        self.plan = start.model_copy(deep=True)
        if self.plan.next_due is None:
            self.plan.next_due = self.plan.first_due
        self.version = 0
        self.register = asyncio.Lock()

    @workflow.run
    async def run(self, start: m.PlanStart) -> m.PlanView:
        for _ in range(VISITS_PER_RUN):
            if not await self._until_due():
                break
            await self._due(self.plan.next_due or self.plan.first_due)
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.plan.status != PlanStatus.ended:
            workflow.continue_as_new(self.plan)
        return self.view()

    # ----- reads and changes --------------------------------------------------------------------

    @workflow.query
    def state(self) -> m.PlanView:
        return self.view()

    def view(self) -> m.PlanView:
        upcoming: list[date] = []
        if self.plan.status != PlanStatus.ended and self.plan.next_due is not None:
            step = timedelta(days=self.plan.interval_days)
            upcoming = [self.plan.next_due + step * n for n in range(4)]
        if self.plan.ends_on is not None:
            upcoming = [day for day in upcoming if day <= self.plan.ends_on]
        return m.PlanView(serial=self.plan.serial, hospital_id=self.plan.hospital_id,
                          status=self.plan.status, interval_days=self.plan.interval_days,
                          ends_on=self.plan.ends_on,
                          first_due=self.plan.first_due, next_due=upcoming[0] if upcoming else None,
                          upcoming=upcoming, visits=self.plan.visits, changes=self.plan.changes,
                          origin_case_id=self.plan.origin_case_id)

    @workflow.update
    async def change(self, request: m.PlanChange) -> m.PlanView:
        assert request.actor is not None
        self._change(request.change, request.reason, request.actor)
        # One register write at a time, each of the plan's status as it is then: two changes
        # close together leave the unit as the last one says, whatever their retries do.
        async with self.register:
            status = STATUS_OF_PLAN[self.plan.status]
            reason = self.plan.changes[-1]
            await workflow.execute_activity(
                SET_EQUIPMENT_STATUS,
                m.EquipmentStatusChange(serial=self.plan.serial, status=status,  # type: ignore[arg-type]
                                        reason=reason.reason, by=reason.by),
                start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY)
        return self.view()

    def _change(self, change: str, reason: str, actor: Actor) -> None:
        self.plan.changes.append(m.PlanChangeRecord(change=change, reason=reason,  # type: ignore[arg-type]
                                                    by=actor, at=workflow.now()))
        self.plan.status = {"pause": PlanStatus.paused, "resume": PlanStatus.active,
                            "end": PlanStatus.ended}[change]
        self.version += 1

    @change.validator
    def _validate_change(self, request: m.PlanChange) -> None:
        status, wanted = self.plan.status, request.change
        if request.actor is None or request.actor.role not in PLAN_CHANGERS:
            raise _refusal(NotPermitted("a supervisor, manager or director changes a "
                                        "maintenance plan"))
        allowed = {PlanStatus.active: ("pause", "end"), PlanStatus.paused: ("resume", "end"),
                   PlanStatus.ended: ()}[status]
        if wanted not in allowed:
            raise _refusal(InvalidTransition(
                f"cannot {wanted} a plan that is {status.value}; allowed now: "
                f"{', '.join(allowed) or 'nothing (the plan has ended)'}"))

    # ----- due dates ----------------------------------------------------------------------------

    async def _until_due(self) -> bool:
        """Sleep until the next due date (or the plan ends): True when it is due."""
        while self.plan.status != PlanStatus.ended:
            due = self.plan.next_due or self.plan.first_due
            if self.plan.ends_on is not None and due > self.plan.ends_on:
                # The contract ends before the next visit: the plan ends (the unit stays in
                # service; a renewed contract starts a new plan).
                self._change("end", f"合同到期 the contract ended on {self.plan.ends_on}", SYSTEM)
                return False
            due_at = m.opens_at(due, self.plan.timezone)
            now = workflow.now()
            if now >= due_at:
                return True
            seen = self.version
            try:
                await workflow.wait_condition(
                    lambda seen=seen: (self.version != seen
                                       or self.plan.status == PlanStatus.ended),
                    timeout=due_at - now, timeout_summary="next maintenance visit due")
            except TimeoutError:
                return self.plan.status != PlanStatus.ended
        return False

    async def _due(self, day: date) -> None:
        """Open the visit due on `day` (or record why none was opened), then the next date."""
        self.plan.next_due = day + timedelta(days=self.plan.interval_days)
        self.version += 1
        if self.plan.status == PlanStatus.paused:
            self.plan.visits.append(m.PlannedVisit(due_on=day, case_id=None,
                                                   note="计划暂停 plan paused: not opened"))
            return
        try:
            start = await workflow.execute_activity(
                OPEN_MAINTENANCE_VISIT,
                m.OpenVisit(serial=self.plan.serial, due_on=day,
                            plan_id=workflow.info().workflow_id, opened_by=SYSTEM),
                result_type=m.VisitStart, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY)
        except ActivityError as error:
            cause = error.cause if error.cause is not None else error
            self.plan.visits.append(m.PlannedVisit(due_on=day, case_id=None,
                                                   note=f"not opened: {cause}"))
            return
        self.plan.visits.append(m.PlannedVisit(due_on=day, case_id=start.case_id,
                                               opened_at=workflow.now()))


def _refusal(error: NotPermitted | InvalidTransition) -> ApplicationError:
    return ApplicationError(error.message, {"field": error.field}, type=type(error).__name__,
                            non_retryable=True)


@workflow.defn
class MaintenanceVisitWorkflow(CaseWorkflow):
    kind = "maintenance"
    rules = m.VISIT_ACTIONS
    carry = m.VisitCarry

    @workflow.init
    def __init__(self, start: m.VisitStart) -> None:
        assert start.policy.maintenance is not None, "the pinned policy has no maintenance"
        self.start = start
        self.commitments = start.policy.maintenance
        if self._resumed(start.carried):
            return
        self._open_case(start.case_id, start.policy, start.equipment.hospital_id,
                        start.opened_by)
        self.status = V.scheduled
        self.report: m.VisitReport | None = None
        self.confirmation: m.Confirmation | None = None
        self.linked_cases: list[LinkedCase] = []
        self.cancel_reason: str | None = None
        self.reported_by: Actor | None = None
        self.repair_checked = False  # the findings were looked at for a repair (exactly once)
        self.deadlines.start("assign", self.commitments.assign, at=self.opened_at)
        self.deadlines.start("visit", self.commitments.visit, at=self.opened_at)
        unit = start.equipment
        self._intake_events.append(self._event(
            "opened", start.opened_by,
            f"预防性维护 maintenance visit due {start.due_on}: {unit.modality} {unit.serial} "
            f"{unit.hospital_name}",
            {"due_on": start.due_on.isoformat(), "plan_id": start.plan_id,
             "policy_version": self.policy.policy_version},
            [NoticeRequest(to_role=Role.supervisor,
                           subject=f"预防性维护待派工 maintenance visit {self.case_id}",
                           body=f"{unit.modality} {unit.serial} due {start.due_on}")]))

    @workflow.run
    async def run(self, start: m.VisitStart) -> m.VisitResult:
        await self._live(self._repair_if_needed)
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self.closed_at is not None
        repair = next((c.case_id for c in self.linked_cases if c.kind == "repair"), None)
        return m.VisitResult(case_id=self.case_id, status=self.status,
                             closed_at=self.closed_at, repair_id=repair)

    @property
    def closed(self) -> bool:
        return self.status in (V.confirmed, V.cancelled)

    def view(self) -> m.VisitView:
        return m.VisitView(**self._case_view(), status=self.status,
                           equipment=self.start.equipment, due_on=self.start.due_on,
                           plan_id=self.start.plan_id, report=self.report,
                           confirmation=self.confirmation, linked_cases=self.linked_cases,
                           cancel_reason=self.cancel_reason)

    # ----- step handlers ------------------------------------------------------------------------

    def _assign(self, actor: Actor, p: m.AssignEngineer) -> Outcome:
        self.deadlines.meet("assign", workflow.now())
        self.assignee = Actor(id=p.engineer_id, name=p.engineer_name or p.engineer_id,
                              role=Role.engineer)
        self.status = V.assigned
        unit = self.start.equipment
        return (f"派工 assigned to {self.assignee.name}", p.model_dump(mode="json"),
                [NoticeRequest(to_person_id=p.engineer_id,
                               subject=f"预防性维护 maintenance visit {self.case_id}",
                               body=f"{unit.modality} {unit.serial} {unit.hospital_name}, "
                                    f"due {self.start.due_on}")])

    def _report(self, actor: Actor, p: m.VisitReport) -> Outcome:
        now = workflow.now()
        self.report, self.reported_by = p, actor
        self.deadlines.meet("visit", now)
        self.deadlines.start("confirmation", self.commitments.confirmation, at=now)
        self.status = V.done
        out = [c.name for c in p.calibration if not c.within_spec]
        repairs = p.repair_findings
        summary = (f"维护完成 visit done: cleaning {'ok' if p.cleaning.done else 'NOT done'}, "
                   f"inspection {'ok' if p.inspection.done else 'NOT done'}, "
                   f"{len(p.calibration)} calibration values"
                   + (f" ({len(out)} out of spec: {', '.join(out)})" if out else "")
                   + (f"; {len(repairs)} finding(s) need a repair" if repairs else ""))
        return summary, p.model_dump(mode="json") | {"out_of_spec": out}, []

    def _confirm(self, actor: Actor, p: m.Confirmation) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("confirmation", now)
        self.confirmation = p
        self.status = V.confirmed
        self.closed_at = now
        return (f"客户确认 confirmed by {p.confirmed_by} {p.comment}".strip(),
                p.model_dump(mode="json"), [])

    def _cancel(self, actor: Actor, p: m.CancelVisit) -> Outcome:
        now = workflow.now()
        self._settle(now, "cancelled")
        self.cancel_reason = p.reason
        self.status = V.cancelled
        self.closed_at = now
        return f"取消 cancelled: {p.reason}", p.model_dump(mode="json"), []

    # ----- a finding that needs a repair ----------------------------------------------------

    async def _repair_if_needed(self) -> None:
        """Once the report names findings that need a repair, open one linked repair with all
        of them (exactly once: reserved by this visit, started as a child that lives on)."""
        await workflow.wait_condition(lambda: self.report is not None or self.closed)
        report = self.report
        if report is None or self.repair_checked:
            return  # cancelled; or looked at by an earlier run of this visit
        self.repair_checked = True
        if not report.repair_findings:
            return
        self._busy += 1  # a continue-as-new waits until the repair is opened and recorded
        try:
            await self._open_repair(report)
        finally:
            self._busy -= 1

    async def _open_repair(self, report: m.VisitReport) -> None:
        findings = report.repair_findings
        severities = [f.severity for f in findings if f.severity is not None]
        severity = min(severities, key=SEVERITY_ORDER.index) if severities else None
        try:
            start = await workflow.execute_activity(
                OPEN_LINKED_REPAIR,
                m.LinkedRepairRequest(
                    visit_case_id=self.case_id, serial=self.start.equipment.serial,
                    symptom="; ".join(f.description for f in findings), severity=severity,
                    observed_at=workflow.now(), reporter=self.reported_by or SYSTEM),
                result_type=RepairStart, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY)
            await workflow.start_child_workflow(
                "RepairWorkflow", start, id=start.case_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                parent_close_policy=ParentClosePolicy.ABANDON,
                search_attributes=search.at_start("repair", start, self.hospital_id,
                                                  self.start.equipment.serial),
                static_summary=f"维修 from maintenance visit {self.case_id}")
        except (ActivityError, WorkflowAlreadyStartedError) as error:
            cause = error.cause if error.cause is not None else error
            await self._record("repair-not-opened", SYSTEM,
                               f"未能开立关联维修 the linked repair could not be opened: {cause}",
                               {"error": str(cause)},
                               [NoticeRequest(to_role=Role.supervisor, urgent=True,
                                              subject=f"未能开立维修 {self.case_id}",
                                              body=str(cause))])
            return
        self.linked_cases.append(LinkedCase(case_id=start.case_id, kind="repair",
                                            relation="repair", status="open",
                                            opened_at=workflow.now()))
        await self._record("repair-opened", SYSTEM,
                           f"关联维修 repair {start.case_id} opened for {len(findings)} "
                           "finding(s)", {"repair_id": start.case_id})

    def _projection(self) -> CaseProjection:
        unit = self.start.equipment
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value, severity=None,
            hospital_id=self.hospital_id, equipment_serial=unit.serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached,
            title=f"预防性维护 {unit.modality} {unit.serial} due {self.start.due_on}"[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
