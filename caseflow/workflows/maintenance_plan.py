"""MaintenancePlanWorkflow: a unit's preventive-maintenance plan (DOMAIN.md section 3).

One per unit (id `PM-<serial>`): it sleeps on a durable timer until the next due date, opens
that visit (a `MaintenanceVisitWorkflow` case of its own, workflows/maintenance.py, reserved
exactly once per unit and due date by an activity), and goes on every `interval_days` for the
life of the unit. Pause (out of service), resume and end (decommissioned) are updates with a
reason, kept in the plan's history and view; due dates that pass while paused are recorded as
skipped. The plan continues as new every few visits, so its history stays short however many
years it runs.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from caseflow.workflows.case import ACTIVITY_RETRY, ACTIVITY_TIMEOUT

with workflow.unsafe.imports_passed_through():
    from caseflow.domain import maintenance as m
    from caseflow.domain.access import MATRIX, Capability
    from caseflow.domain.enums import PlanStatus
    from caseflow.domain.errors import InvalidTransition, NotPermitted
    from caseflow.domain.records import (
        OPEN_MAINTENANCE_VISIT,
        SET_EQUIPMENT_STATUS,
        SYSTEM,
        Actor,
    )

VISITS_PER_RUN = 4  # the plan continues as new after this many due dates
PLAN_CHANGERS = MATRIX[Capability.change_plans]
STATUS_OF_PLAN = {PlanStatus.paused: "out_of_service", PlanStatus.active: "in_service",
                  PlanStatus.ended: "decommissioned"}


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

    def _change(self, change: str, reason: str, actor: Actor, code: m.PlanNote | None = None,
                params: dict[str, str] | None = None) -> None:
        self.plan.changes.append(m.PlanChangeRecord(
            change=change, reason=reason, reason_code=code, reason_params=params or {},  # type: ignore[arg-type]
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
                self._change("end", "", SYSTEM, "contract_ended",
                             {"ends_on": self.plan.ends_on.isoformat()})
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
            self.plan.visits.append(m.PlannedVisit(due_on=day, case_id=None, note_code="paused"))
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
                                                   note_code="not_opened",
                                                   note_params={"error": str(cause)}))
            return
        self.plan.visits.append(m.PlannedVisit(due_on=day, case_id=start.case_id,
                                               opened_at=workflow.now()))


def _refusal(error: NotPermitted | InvalidTransition) -> ApplicationError:
    return ApplicationError(error.message, {"field": error.field}, type=type(error).__name__,
                            non_retryable=True)
