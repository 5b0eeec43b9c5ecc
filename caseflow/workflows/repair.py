"""RepairWorkflow: one repair case from intake to the customer callback (DOMAIN.md section 1).

People report steps through the `act` update; its validator refuses an action that is not
allowed now, by this person, or with this payload, before anything reaches the history.
Deadlines live in the shared `Deadlines` book; a watcher escalates each missed rung once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ChildWorkflowError

from caseflow.workflows.case import CaseWorkflow, Outcome

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import repair as r
    from caseflow.domain.cases import OPENED_LEAN, LinkedCase, Step
    from caseflow.domain.complaint import (
        ComplaintOrigin,
        ComplaintResult,
        LinkedComplaintRequest,
    )
    from caseflow.domain.emergency import LinkedEmergencyRequest
    from caseflow.domain.enums import Channel, RepairOutcome, RepairStatus, Role, Severity
    from caseflow.domain.errors import InvalidPayload
    from caseflow.domain.policy import QUOTATION_PAUSE, CasePolicy, CommitmentSpec, RepairPolicy
    from caseflow.domain.records import (
        OPEN_LINKED_COMPLAINT,
        OPEN_LINKED_EMERGENCY,
        SYSTEM,
        Actor,
        CaseProjection,
        NoticeRequest,
    )
    from caseflow.domain.review import ReviewFacts
    from caseflow.domain.sla import EscalationDue
    from caseflow.domain.words import local_text, word

S = RepairStatus
URGENT_SEVERITIES = (Severity.critical, Severity.severe)
# A dissatisfied callback opens a linked complaint (histories before this patch did not).
COMPLAINT_LOOP_PATCH = "repair-opens-complaint"
# A repair classified (or reclassified) critical opens a linked emergency, once (histories
# before this patch did not).
EMERGENCY_PATCH = "repair-opens-emergency"
# A repair opened without a severity has a classification commitment, and its arrival runs on
# the strictest arrival until it is classified (histories before this patch had no clock
# until classification). Asked only of such repairs; lean or not, by its own marker.
CLASSIFICATION_CLOCK_PATCH = "repair-classification-clock"


@workflow.defn
class RepairWorkflow(CaseWorkflow):
    kind = "repair"
    rules = r.REPAIR_ACTIONS
    carry = r.RepairCarry

    @workflow.init
    def __init__(self, start: r.RepairStart) -> None:
        assert start.policy.repair is not None, "the pinned policy has no repair section"
        self.start = start
        self.repair_policy = start.policy.repair
        if self._resumed(start.carried):
            return
        self._open_case(start.case_id, start.policy, start.equipment.hospital_id,
                        start.opened_by)
        self.status = S.awaiting_classification
        self.severity: Severity | None = None
        self.fault_category = None
        self.quotation: dict[str, Any] | None = None
        self.parts_pending = False
        self.outcome: RepairOutcome | None = None
        self.satisfaction: int | None = None
        self.complaint_requested = False
        self.callback_by: Actor | None = None
        self.callback_comment = ""
        self.linked_cases: list[LinkedCase] = []
        self.critical_by: Actor | None = None  # who first classified it critical
        self.emergency_declared = False  # the linked emergency was asked for (exactly once)
        # Remote monitoring (docs/monitoring.md): the fault episodes of the unit's alarms on
        # this repair (its own, if an alarm opened it), and whether they cleared before anyone
        # acted. State only: no command depends on it, so no patch.
        self.alarm_episodes = 1 if start.intake.channel == Channel.remote_monitoring else 0
        self.alarm_cleared_at: datetime | None = None
        self.self_resolvable = False
        # The intake, and its classification if the hotline gave one, is in force at once.
        intake = start.intake
        self._intake_events.append(self._event(
            "opened", start.opened_by,
            f"报修受理:{start.equipment.modality} {start.equipment.serial} "
            f"{intake.department}:{intake.symptom}",
            {"intake": intake.model_dump(mode="json"), "in_warranty": start.in_warranty,
             "policy_version": self.policy.policy_version},
            [NoticeRequest(to_role=Role.supervisor, template="repair-opened",
                           params={"case_id": self.case_id, "text": intake.symptom,
                                   "unit": self._unit(),
                                   "hospital": start.equipment.hospital_name})]))
        if intake.severity is None and self._since(OPENED_LEAN, CLASSIFICATION_CLOCK_PATCH):
            self.deadlines.start("classification", self.repair_policy.classification,
                                 at=self.opened_at)
            self.deadlines.start("arrival", self._strictest_arrival(), at=self.opened_at)
        if intake.severity is not None:
            classify = r.Classify(severity=intake.severity)
            classified = self._classify(start.opened_by, classify)
            self.steps.append(Step(action="classify", at=self.opened_at, by=start.opened_by,
                                     data=classify.model_dump(mode="json")))
            self._intake_events.append(self._event("classify", start.opened_by, *classified))

    @workflow.run
    async def run(self, start: r.RepairStart) -> r.RepairResult:
        if self._patched(EMERGENCY_PATCH):
            await self._live(self._emergency_when_critical)
        else:
            await self._live()
        if self._reviewing():  # every closed repair is screened for reportability
            await self._ask_review(ReviewFacts(
                severity=self.severity.value if self.severity else None,
                fault_category=self.fault_category.value if self.fault_category else None,
                patient_harmed=start.intake.patient_harmed))
        if self.complaint_requested and self._patched(COMPLAINT_LOOP_PATCH):
            await self._follow_complaint()
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self.outcome is not None and self.closed_at is not None
        return r.RepairResult(case_id=self.case_id, outcome=self.outcome,
                              satisfaction=self.satisfaction, breached=self.deadlines.breached,
                              closed_at=self.closed_at)

    @property
    def closed(self) -> bool:
        return self.status == S.closed

    def view(self) -> r.RepairView:
        return r.RepairView(
            **self._case_view(), status=self.status, outcome=self.outcome,
            severity=self.severity, emergency_required=self.severity == Severity.critical,
            intake=self.start.intake, equipment=self.start.equipment,
            in_warranty=self.start.in_warranty, fault_category=self.fault_category,
            quotation=self.quotation, parts_pending=self.parts_pending,
            satisfaction=self.satisfaction, complaint_requested=self.complaint_requested,
            linked_cases=self.linked_cases, paused=self.deadlines.paused,
            pauses=self.deadlines.pauses, contract_code=self.policy.contract_code,
            alarm_episodes=self.alarm_episodes, alarm_cleared_at=self.alarm_cleared_at,
            self_resolvable=self.self_resolvable)

    def _refusal(self, action: str) -> str | None:
        """Why `action` is not allowed in the current state beyond the status table, if so."""
        paused = self.deadlines.paused
        if action == "pause" and paused is not None:
            return f"the clock is already paused ({paused.reason})"
        if action == "resume":
            if paused is None:
                return "the clock is not paused"
            if paused.reason == QUOTATION_PAUSE:
                return "the clock resumes when the customer decides on the quotation"
        if action == "quote" and paused is not None:
            return f"the clock is paused ({paused.reason}); resume it before quoting"
        if action == "confirm-handover":
            handover = self.deadlines.get("handover")
            if handover is None or not handover.is_open:
                return "the hand-over of the current assignment is already confirmed"
        if action == "parts-arrived" and not self.parts_pending:
            return "no parts are on order"
        if action == "resolve" and self.parts_pending:
            return "ordered parts have not arrived yet"
        if action == "close-self-resolved" and not self.self_resolvable:
            return "only a repair whose alarms cleared before anyone acted closes as self-resolved"
        return None

    def _check_payload(self, action: str, payload: BaseModel) -> None:
        if isinstance(payload, r.Reclassify) and payload.severity == self.severity:
            raise InvalidPayload(f"the severity is already {payload.severity}", field="severity")
        if isinstance(payload, r.Assign) and self.assignee and \
                payload.engineer_id == self.assignee.id:
            raise InvalidPayload("this engineer is already assigned", field="engineer_id")
        if isinstance(payload, r.Pause):
            if payload.reason not in self.policy.pause_reasons or payload.reason == QUOTATION_PAUSE:
                allowed = [x for x in self.policy.pause_reasons if x != QUOTATION_PAUSE]
                raise InvalidPayload(f"not a pause reason of this contract; allowed: {allowed}",
                                     field="reason")
            if payload.resume_at is not None and payload.resume_at <= workflow.now():
                raise InvalidPayload("must be in the future", field="resume_at")
        if isinstance(payload, r.Resolve):
            v = payload.verification
            for name in ("function_test", "image_quality", "stability_run", "electrical_safety"):
                if not getattr(v, name).passed:
                    raise InvalidPayload("must pass before the repair is resolved",
                                         field=f"verification.{name}")
            for i, m in enumerate(v.accuracy):
                if not m.within_tolerance:
                    raise InvalidPayload(
                        f"{m.parameter}: {m.measured} is outside {m.reference} ± {m.tolerance}",
                        field=f"verification.accuracy.{i}.measured")

    # ----- step handlers: change state, say what happened, whom to tell -------------------------

    def _classify(self, actor: Actor, p: r.Classify) -> Outcome:
        self.deadlines.meet("classification", workflow.now())
        self._set_severity(p.severity, actor)
        self.status = S.awaiting_assignment
        return (f"分级:{word('severity', p.severity)}({actor.name})",
                {"severity": p.severity.value, "reason": p.reason},
                self._tell_if_critical())

    def _reclassify(self, actor: Actor, p: r.Reclassify) -> Outcome:
        before = self.severity
        self._set_severity(p.severity, actor)
        return (f"重新分级:{word('severity', before) if before else '未分级'} -> "
                f"{word('severity', p.severity)}:{p.reason}",
                {"from": before, "to": p.severity.value, "reason": p.reason},
                self._tell_if_critical())

    def _assign(self, actor: Actor, p: r.Assign) -> Outcome:
        previous = self.assignee
        self.assignee = Actor(id=p.engineer_id, name=p.engineer_name or p.engineer_id,
                              role=Role.engineer)
        self.status = S.assigned
        now = workflow.now()
        self.deadlines.start("handover", self.repair_policy.handover, at=now)
        if self.deadlines.get("progress") is None:
            self.deadlines.start("progress", self.repair_policy.progress, at=now)
        verb = "改派" if previous else "派工"
        return (f"{verb}:{self.assignee.name}",
                {"engineer_id": p.engineer_id, "previous": previous.id if previous else None,
                 "note": p.note},
                [NoticeRequest(to_person_id=p.engineer_id, urgent=self._urgent(),
                               template="assigned",
                               params={"case_id": self.case_id, "unit": self._unit(),
                                       "text": self.start.intake.symptom})])

    def _acknowledge(self, actor: Actor, p: r.Remark) -> Outcome:
        self.status = S.acknowledged
        return f"工程师确认:{actor.name}", {"note": p.note}, []

    def _confirm_handover(self, actor: Actor, p: r.Remark) -> Outcome:
        self.deadlines.meet("handover", workflow.now())
        return (f"交接确认:{self.assignee.name if self.assignee else '?'}",
                {"note": p.note}, [])

    def _arrive(self, actor: Actor, p: r.Arrive) -> Outcome:
        self.deadlines.meet("arrival", workflow.now())
        self.status = S.on_site
        return f"{word('mode', p.mode)}:{actor.name}", {"mode": p.mode.value, "note": p.note}, []

    def _report_site(self, actor: Actor, p: r.ReportSite) -> Outcome:
        self.status = S.site_reported
        return (f"现场情况:{p.condition}",
                {"condition": p.condition, "hazards": p.hazards},
                [NoticeRequest(to_role=Role.supervisor, urgent=self._urgent(),
                               template="approve-work",
                               params={"case_id": self.case_id, "text": p.condition})])

    def _approve_start(self, actor: Actor, p: r.Remark) -> Outcome:
        self.status = S.work_approved
        return (f"批准开工:{actor.name}", {"note": p.note},
                self._tell_assignee("work-approved", p.note))

    def _diagnose(self, actor: Actor, p: r.Diagnose) -> Outcome:
        self.fault_category = p.fault_category
        self.deadlines.change("restore", self._restore_spec())
        self.status = S.repairing if self.start.in_warranty else S.awaiting_quotation
        return (f"诊断({word('fault_category', p.fault_category)}):{p.findings}",
                p.model_dump(mode="json"), [])

    def _quote(self, actor: Actor, p: r.Quote) -> Outcome:
        self.quotation = p.model_dump(mode="json")
        self.status = S.awaiting_quote_decision
        self.deadlines.pause(at=workflow.now(), reason=QUOTATION_PAUSE, by=actor.id)
        return (f"报价 {p.amount} {p.currency}(计时暂停)", self.quotation,
                [NoticeRequest(to_role=Role.hotline, template="quotation",
                               params={"case_id": self.case_id, "amount": str(p.amount),
                                       "currency": p.currency})])

    def _approve_quote(self, actor: Actor, p: r.ApproveQuote) -> Outcome:
        self.deadlines.resume(at=workflow.now(), by=actor.id)
        self.status = S.repairing
        return (f"客户同意报价:{p.approved_by}(计时恢复)",
                p.model_dump(mode="json"), self._tell_assignee("quotation-approved", ""))

    def _decline_quote(self, actor: Actor, p: r.Reason) -> Outcome:
        now = workflow.now()
        self.deadlines.resume(at=now, by=actor.id)
        for key in ("restore", "progress"):
            self.deadlines.waive(key, now, "quotation declined")
        self._close_handover(now, "quotation declined")
        self.outcome = RepairOutcome.quotation_declined
        self.status = S.awaiting_callback
        self.deadlines.start("callback", self.repair_policy.callback, at=now)
        return (f"客户拒绝报价:{p.reason}", {"reason": p.reason},
                self._tell_assignee("quotation-declined", p.reason))

    def _order_parts(self, actor: Actor, p: r.OrderParts) -> Outcome:
        self.parts_pending = True
        names = ", ".join(f"{x.name} x{x.quantity}" for x in p.parts)
        return f"订购备件:{names}", p.model_dump(mode="json"), []

    def _parts_arrived(self, actor: Actor, p: r.Remark) -> Outcome:
        self.parts_pending = False
        return "备件到货", {"note": p.note}, []

    def _progress(self, actor: Actor, p: r.Progress) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("progress", now)
        self.deadlines.start("progress", self.repair_policy.progress, at=now)
        return f"进度:{p.note}", {"note": p.note}, []

    def _resolve(self, actor: Actor, p: r.Resolve) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("restore", now)
        self.deadlines.waive("progress", now, "resolved")
        self._close_handover(now, "resolved")
        self.status = S.awaiting_confirmation
        self.deadlines.start("customer_confirmation", self.repair_policy.customer_confirmation,
                             at=now)
        return (f"修复完成:{p.summary}", p.model_dump(mode="json"),
                [NoticeRequest(to_role=Role.hotline, template="confirm-repair",
                               params={"case_id": self.case_id, "text": p.summary})])

    def _confirm(self, actor: Actor, p: r.Confirm) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("customer_confirmation", now)
        self.outcome = RepairOutcome.repaired
        self.status = S.awaiting_callback
        self.deadlines.start("callback", self.repair_policy.callback, at=now)
        return f"客户确认:{p.confirmed_by}", p.model_dump(mode="json"), []

    def _dispute(self, actor: Actor, p: r.Reason) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("customer_confirmation", now)
        self.deadlines.reopen("restore", now)
        self.deadlines.start("progress", self.repair_policy.progress, at=now)
        self.status = S.repairing
        return (f"客户异议:{p.reason}(返回维修)", {"reason": p.reason},
                self._tell_assignee("disputed", p.reason))

    def _callback(self, actor: Actor, p: r.Callback) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("callback", now)
        self.satisfaction = p.satisfaction
        self.complaint_requested = p.complaint or p.satisfaction <= 2
        self.callback_by, self.callback_comment = actor, p.comment
        self.status = S.closed
        self.closed_at = now
        notices = []
        if self.complaint_requested:
            notices.append(NoticeRequest(
                to_role=Role.supervisor, template="dissatisfied",
                params={"case_id": self.case_id, "satisfaction": p.satisfaction,
                        "text": p.comment}))
        return (f"回访:满意度 {p.satisfaction}/5 {p.comment}".strip(),
                p.model_dump(mode="json") | {"complaint_requested": self.complaint_requested},
                notices)

    def _pause(self, actor: Actor, p: r.Pause) -> Outcome:
        self.deadlines.pause(at=workflow.now(), reason=p.reason, note=p.note, by=actor.id,
                             resume_at=p.resume_at)
        until = f",至 {local_text(p.resume_at)}" if p.resume_at else ""
        return f"暂停计时:{word('pause_reason', p.reason)}{until}", p.model_dump(mode="json"), []

    def _resume(self, actor: Actor, p: r.Remark) -> Outcome:
        pause = self.deadlines.resume(at=workflow.now(), by=actor.id)
        return (f"恢复计时({word('pause_reason', pause.reason) if pause else ''})",
                {"note": p.note}, [])

    # ----- remote monitoring ---------------------------------------------------------------------

    def _alarm(self, actor: Actor, p: r.AlarmFeed) -> Outcome:
        self.alarm_episodes += 1
        self.alarm_cleared_at, self.self_resolvable = None, False
        values = ", ".join(f"{v.name} {v.value:g}{v.unit}" for v in p.values[:5])
        summary = f"设备告警 {p.code} ×{p.alarms}" + (f":{values}" if values else "")
        told = {"case_id": self.case_id, "code": p.code, "alarms": p.alarms, "values": values}
        notices = self._tell_assignee("alarm", "", told) or [
            NoticeRequest(to_role=Role.supervisor, template="alarm", params=told)]
        return summary, p.model_dump(mode="json"), notices

    def _alarm_cleared(self, actor: Actor, p: r.AlarmCleared) -> Outcome:
        self.alarm_cleared_at = p.cleared_at
        self.self_resolvable = self.status in r.SELF_RESOLVABLE and not self._anyone_acted()
        summary = f"告警已恢复 {p.code} ×{p.alarms}"
        notices = []
        if self.self_resolvable:
            summary += "(无人处理前已恢复,可按自行恢复结案)"
            notices.append(NoticeRequest(
                to_role=Role.supervisor, template="alarm-cleared",
                params={"case_id": self.case_id, "code": p.code, "alarms": p.alarms}))
        return summary, p.model_dump(mode="json") | {"self_resolvable": self.self_resolvable}, \
            notices

    def _close_self_resolved(self, actor: Actor, p: r.Reason) -> Outcome:
        now = workflow.now()
        self._settle(now, "self-resolved")
        self.outcome = RepairOutcome.self_resolved
        self.status = S.closed
        self.closed_at = now
        return (f"自行恢复结案:{p.reason}", {"reason": p.reason},
                self._tell_assignee("self-resolved", p.reason))

    def _anyone_acted(self) -> bool:
        """Whether a person (not the monitoring integration) opened or stepped on the case."""
        return self.opened_by.role != Role.monitoring or self.earlier_steps > 0 or any(
            step.by.role != Role.monitoring for step in self.steps)

    # ----- the closed loop ------------------------------------------------------------------------

    async def _follow_complaint(self) -> None:
        """Open the complaint the callback asked for, exactly once, and record how it ends.

        The complaint lives on even if this repair's workflow were terminated. Anything that
        stops the complaint from opening or from ending normally is recorded on the repair and
        sent to the supervisors, never left to fail the repair.
        """
        intake = self.start.intake
        opened = await self._open_linked(
            "complaint", OPEN_LINKED_COMPLAINT,
            LinkedComplaintRequest(
                origin=ComplaintOrigin(case_id=self.case_id, kind="repair",
                                       satisfaction=self.satisfaction,
                                       comment=self.callback_comment),
                hospital_id=self.hospital_id, equipment_serial=self.start.equipment.serial,
                complainant_name=intake.reporter_name, complainant_contact=intake.reporter_phone,
                opened_by=self.callback_by or SYSTEM),
            summary=f"投诉:来自维修 {self.case_id} 的回访",
            opened=lambda case_id: f"关联投诉 {case_id}:由回访开立",
            result_type=ComplaintResult)
        if opened is None:
            return
        start, complaint, link = opened
        try:
            result = await complaint
        except ChildWorkflowError as error:
            link.status = "ended abnormally"
            await self._link_trouble("complaint-ended", error, start.case_id)
            return
        link.status, link.closed_at, link.outcome = "closed", result.closed_at, result.outcome
        await self._record("complaint-closed", SYSTEM,
                           f"关联投诉结案 {start.case_id}:{word('outcome', result.outcome)}"
                           f"(第 {result.level} 级)",
                           {"complaint_id": start.case_id, "outcome": result.outcome.value,
                            "level": result.level})

    async def _emergency_when_critical(self) -> None:
        """Once the repair is critical, open a linked emergency on its unit: exactly once, even
        if it is reclassified down and up again. The emergency lives on its own; this repair
        does not wait for it to end."""
        await workflow.wait_condition(
            lambda: self.severity == Severity.critical or self.closed)
        if self.severity != Severity.critical or self.emergency_declared:
            return  # not critical; or declared by an earlier run of this repair
        self.emergency_declared = True
        intake, unit = self.start.intake, self.start.equipment
        await self._open_linked(
            "emergency", OPEN_LINKED_EMERGENCY,
            LinkedEmergencyRequest(
                repair_case_id=self.case_id, hospital_id=self.hospital_id,
                equipment_serial=unit.serial, department=intake.department,
                location=intake.location, reporter_name=intake.reporter_name,
                reporter_phone=intake.reporter_phone, impact=intake.symptom,
                opened_by=self.critical_by or SYSTEM),
            summary=f"应急:维修 {self.case_id} 为危急故障",
            opened=lambda case_id: f"关联应急 {case_id}:维修为危急故障")

    # ----- helpers of the handlers --------------------------------------------------------------

    def _set_severity(self, severity: Severity, actor: Actor) -> None:
        self.severity = severity
        if severity == Severity.critical and self.critical_by is None:
            self.critical_by = actor
        now = workflow.now()
        for key, spec in (("arrival", self.repair_policy.arrival[severity]),
                          ("restore", self._restore_spec())):
            if self.deadlines.get(key) is None:
                self.deadlines.start(key, spec, at=now, started_at=self.opened_at)
            else:
                self.deadlines.change(key, spec)

    def _spec_for(self, key: str, policy: CasePolicy) -> CommitmentSpec | None:
        section = policy.repair
        assert section is not None
        if key == "arrival":
            return (section.arrival[self.severity] if self.severity is not None
                    else self._strictest_arrival(section))
        if key == "restore":
            return self._restore_spec(section)
        return super()._spec_for(key, policy)

    def _adopt(self, policy: CasePolicy) -> None:
        assert policy.repair is not None
        self.repair_policy = policy.repair

    def _restore_spec(self, policy: RepairPolicy | None = None) -> CommitmentSpec:
        policy = policy or self.repair_policy
        assert self.severity is not None
        if self.severity in URGENT_SEVERITIES and self.fault_category in policy.restore_severe_by_fault:
            return policy.restore_severe_by_fault[self.fault_category]
        return policy.restore[self.severity]

    def _close_handover(self, at: datetime, reason: str) -> None:
        """An unconfirmed hand-over stops mattering once the work is over (revision 2)."""
        if self.deadlines.revision >= 2:
            self.deadlines.waive("handover", at, reason)

    def _urgent(self) -> bool:
        return self.severity in URGENT_SEVERITIES

    def _urgent_rung(self, due: EscalationDue) -> bool:
        """As the policy says for the severity (a repair not classified yet: as critical)."""
        return self.policy.ladder.urgent(self.severity, due.level)

    def _strictest_arrival(self, policy: RepairPolicy | None = None) -> CommitmentSpec:
        """The arrival commitment of the contract that is due first from the intake."""
        return min((policy or self.repair_policy).arrival.values(),
                   key=lambda spec: self.deadlines.due_for(spec, self.opened_at))

    def _tell_if_critical(self) -> list[NoticeRequest]:
        if self.severity != Severity.critical:
            return []
        return [NoticeRequest(to_role=Role.supervisor, urgent=True, template="critical-repair",
                              params={"case_id": self.case_id})]

    def _tell_assignee(self, template: str, text: str,
                       params: dict[str, Any] | None = None) -> list[NoticeRequest]:
        """A notice (a template of domain/notices.py) to the engineer, if one is assigned."""
        if self.assignee is None:
            return []
        return [NoticeRequest(to_person_id=self.assignee.id, template=template,
                              params=params or {"case_id": self.case_id, "text": text})]

    def _unit(self) -> str:
        """The unit, as notices name it."""
        return f"{self.start.equipment.modality} {self.start.equipment.serial}"

    # ----- recording ----------------------------------------------------------------------------

    def _projection(self) -> CaseProjection:
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value,
            severity=self.severity.value if self.severity else None,
            hospital_id=self.start.equipment.hospital_id,
            equipment_serial=self.start.equipment.serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached, title=self.start.intake.symptom[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
