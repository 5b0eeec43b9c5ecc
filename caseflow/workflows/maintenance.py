"""MaintenanceVisitWorkflow: one preventive-maintenance visit (DOMAIN.md section 3).

A unit's plan (`MaintenancePlanWorkflow`, workflows/maintenance_plan.py) opens each visit as a
case of its own. A visit is due within its window (escalating on the shared deadline machinery
when overdue), done by its engineer with a checklist (cleaning, inspection, calibration values,
findings), and confirmed by the customer; a finding that needs a repair opens a linked repair,
once.
"""

from __future__ import annotations

from temporalio import workflow

from caseflow.workflows.case import CaseWorkflow, Outcome

with workflow.unsafe.imports_passed_through():
    from caseflow.domain import maintenance as m
    from caseflow.domain.cases import LinkedCase
    from caseflow.domain.enums import Role, Severity, VisitStatus
    from caseflow.domain.records import (
        OPEN_LINKED_REPAIR,
        SYSTEM,
        Actor,
        CaseProjection,
        NoticeRequest,
    )

V = VisitStatus
SEVERITY_ORDER = (Severity.critical, Severity.severe, Severity.general, Severity.minor)


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
            f"预防性维护,{start.due_on} 前:{unit.modality} {unit.serial} "
            f"{unit.hospital_name}",
            {"due_on": start.due_on.isoformat(), "plan_id": start.plan_id,
             "policy_version": self.policy.policy_version},
            [NoticeRequest(to_role=Role.supervisor, template="visit-due",
                           params=self._told())]))

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
        return (f"派工:{self.assignee.name}", p.model_dump(mode="json"),
                [NoticeRequest(to_person_id=p.engineer_id, template="visit-assigned",
                               params=self._told())])

    def _report(self, actor: Actor, p: m.VisitReport) -> Outcome:
        now = workflow.now()
        self.report, self.reported_by = p, actor
        self.deadlines.meet("visit", now)
        self.deadlines.start("confirmation", self.commitments.confirmation, at=now)
        self.status = V.done
        out = [c.name for c in p.calibration if not c.within_spec]
        repairs = p.repair_findings
        summary = (f"维护完成:清洁{'已完成' if p.cleaning.done else '未完成'},"
                   f"检查{'已完成' if p.inspection.done else '未完成'},"
                   f"校准 {len(p.calibration)} 项"
                   + (f"({len(out)} 项超出规格:{', '.join(out)})" if out else "")
                   + (f";{len(repairs)} 项发现需要维修" if repairs else ""))
        return summary, p.model_dump(mode="json") | {"out_of_spec": out}, []

    def _confirm(self, actor: Actor, p: m.Confirmation) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("confirmation", now)
        self.confirmation = p
        self.status = V.confirmed
        self.closed_at = now
        return (f"客户确认:{p.confirmed_by} {p.comment}".strip(),
                p.model_dump(mode="json"), [])

    def _cancel(self, actor: Actor, p: m.CancelVisit) -> Outcome:
        now = workflow.now()
        self._settle(now, "cancelled")
        self.cancel_reason = p.reason
        self.status = V.cancelled
        self.closed_at = now
        return f"取消:{p.reason}", p.model_dump(mode="json"), []

    # ----- a finding that needs a repair ----------------------------------------------------

    async def _repair_if_needed(self) -> None:
        """Once the report names findings that need a repair, open one linked repair with all
        of them (exactly once: reserved by this visit, started as a child that lives on)."""
        await workflow.wait_condition(lambda: self.report is not None or self.closed)
        report = self.report
        if report is None or self.repair_checked:
            return  # cancelled; or looked at by an earlier run of this visit
        self.repair_checked = True
        findings = report.repair_findings
        if not findings:
            return
        severities = [f.severity for f in findings if f.severity is not None]
        await self._open_linked(
            "repair", OPEN_LINKED_REPAIR,
            m.LinkedRepairRequest(
                visit_case_id=self.case_id, serial=self.start.equipment.serial,
                symptom="; ".join(f.description for f in findings),
                severity=min(severities, key=SEVERITY_ORDER.index) if severities else None,
                observed_at=workflow.now(), reporter=self.reported_by or SYSTEM),
            summary=f"维修:来自预防性维护 {self.case_id}",
            opened=lambda case_id: f"关联维修 {case_id}:{len(findings)} 项发现")

    def _told(self) -> dict[str, str]:
        """The parameters of this visit's notices: the case, the unit, where, when due."""
        unit = self.start.equipment
        return {"case_id": self.case_id, "unit": f"{unit.modality} {unit.serial}",
                "hospital": unit.hospital_name, "due_on": self.start.due_on.isoformat()}

    def _projection(self) -> CaseProjection:
        unit = self.start.equipment
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value, severity=None,
            hospital_id=self.hospital_id, equipment_serial=unit.serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached,
            title=f"预防性维护 {unit.modality} {unit.serial} {self.start.due_on}"[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
