"""AdverseEventWorkflow: one adverse event from its opening to its closing (DOMAIN.md section 5).

A report commitment per jurisdiction where the unit is registered, on the regulator's clock for
the event type, counted from the awareness time (the origin's intake); each climbs the ladder
on its own until its report is submitted. Classifying the event again recounts the clocks from
the same awareness time; a follow-up or supplemental report gets a commitment of its own; the
evaluation closes the event once nothing is due to any regulator.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import adverse_event as ae
    from caseflow.domain.cases import LinkedCase
    from caseflow.domain.enums import Role
    from caseflow.domain.errors import InvalidPayload, InvalidTransition
    from caseflow.domain.policy import CasePolicy, CommitmentSpec
    from caseflow.domain.records import Actor, CaseProjection, NoticeRequest
    from caseflow.domain.regulatory_policy import RegulatoryClock, RegulatoryPolicy

from caseflow.workflows.case import CaseWorkflow, Outcome

S = ae.AdverseEventStatus
EVALUATION = "evaluation"


@workflow.defn
class AdverseEventWorkflow(CaseWorkflow):
    kind = "adverse_event"
    rules = ae.ADVERSE_EVENT_ACTIONS
    carry = ae.AdverseEventCarry

    @workflow.init
    def __init__(self, start: ae.AdverseEventStart) -> None:
        assert start.policy.regulatory is not None, "the pinned policy has no regulatory section"
        self.start = start
        self.commitments: RegulatoryPolicy = start.policy.regulatory
        if self._resumed(start.carried):
            return
        self._open_case(start.case_id, start.policy, start.intake.hospital_id, start.opened_by)
        self.status = S.recorded
        self.event_type = start.intake.event_type
        self.follow_ups = 0
        self.investigations: list[ae.Investigate] = []
        self.evaluation: str | None = None
        self.reply: str | None = None
        # Opened by a reportability review: the review is linked (it links this event back).
        self.linked_cases = [] if start.review_id is None else [LinkedCase(
            case_id=start.review_id, kind="review", relation="review", status="decided",
            opened_at=self.opened_at)]
        if start.opened_by.role == Role.regulatory:
            self.assignee = start.opened_by
        self.reports: list[ae.RegulatoryReport] = []
        for code in start.registration.jurisdictions:
            self._due(code, ae.INITIAL, "initial", self._clock(code, self.event_type), "")
        assert self.commitments.evaluation is not None
        self.deadlines.start(EVALUATION, ae.clock_spec(self.commitments.evaluation, EVALUATION),
                             at=self.opened_at, started_at=start.aware_at)
        origin = (f" (from {start.origin.kind} {start.origin.case_id})" if start.origin else "")
        intake = start.intake
        self._intake_events.append(self._event(
            "opened", start.opened_by,
            f"不良事件 adverse event {self.event_type}{origin}: {intake.description}",
            {"event_type": self.event_type, "aware_at": start.aware_at.isoformat(),
             "jurisdictions": start.registration.jurisdictions,
             "origin": start.origin.model_dump(mode="json") if start.origin else None,
             "policy_version": self.policy.policy_version},
            [NoticeRequest(to_role=Role.regulatory, urgent=True,
                           subject=f"不良事件 adverse event {self.case_id}: {self.event_type}",
                           body=intake.description)]))

    @workflow.run
    async def run(self, start: ae.AdverseEventStart) -> str:
        await self._live()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status.value

    # ----- reads --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.status == S.closed

    def view(self) -> ae.AdverseEventView:
        return ae.AdverseEventView(
            **self._case_view(), status=self.status, event_type=self.event_type,
            intake=self.start.intake, hospital_name=self.start.hospital_name,
            equipment=self.start.equipment, registration=self.start.registration,
            aware_at=self.start.aware_at, origin=self.start.origin,
            review_id=self.start.review_id, reports=self.reports,
            investigations=self.investigations, evaluation=self.evaluation, reply=self.reply,
            linked_cases=self.linked_cases)

    def _spec_for(self, key: str, policy: CasePolicy) -> CommitmentSpec | None:
        regulatory = policy.regulatory
        if regulatory is None:
            return None
        if key == EVALUATION and regulatory.evaluation is not None:
            return ae.clock_spec(regulatory.evaluation, EVALUATION)
        report = next((r for r in self.reports if r.key == key), None)
        if report is None or report.jurisdiction not in regulatory.jurisdictions:
            return None
        place = regulatory.jurisdictions[report.jurisdiction]
        clock = place.clocks.get(self.event_type) if report.id == ae.INITIAL else place.follow_up
        return ae.clock_spec(clock, key) if clock is not None else None

    def _adopt(self, policy: CasePolicy) -> None:
        assert policy.regulatory is not None
        self.commitments = policy.regulatory

    # ----- checks beyond the rule table ---------------------------------------------------------

    def _refusal(self, action: str) -> str | None:
        if action == "classify" and any(r.submission for r in self.reports):
            return "a report was submitted already: the event's type is what it was reported as"
        if action == "close":
            due = [f"{r.jurisdiction} {r.id}" for r in self.reports if r.submission is None]
            if due:
                return f"reports still due: {', '.join(due)}"
        if action == "submit" and all(r.submission for r in self.reports):
            return "no report is due"
        return None

    def _person_refusal(self, actor: Actor, action: str) -> str | None:
        return None  # anyone in regulatory affairs may act on any event

    def _check_payload(self, action: str, payload: BaseModel) -> None:
        if isinstance(payload, ae.Classify):
            why = self.commitments.unknown_event_type(payload.event_type)
            if why is not None:
                raise InvalidPayload(why, field="event_type")
            if payload.event_type == self.event_type:
                raise InvalidPayload(f"the event is {self.event_type} already", field="event_type")
        if isinstance(payload, ae.Submit | ae.RequestFollowUp):
            self._check_jurisdiction(payload.jurisdiction)
        if isinstance(payload, ae.Submit):
            report = self._report(payload.jurisdiction, payload.report)
            if report is None:
                raise InvalidTransition(f"no report {payload.report} is due to "
                                        f"{payload.jurisdiction}")
            if report.submission is not None:
                raise InvalidTransition(f"the {payload.report} report to {payload.jurisdiction} "
                                        f"was submitted already ({report.submission.reference})")
            if payload.submitted_at > workflow.now():
                raise InvalidPayload("must not be in the future", field="submitted_at")
            if payload.submitted_at < self.start.aware_at:
                raise InvalidPayload("must not be before the awareness time "
                                     f"{self.start.aware_at.isoformat()}", field="submitted_at")

    def _check_jurisdiction(self, code: str) -> None:
        """A jurisdiction the policy does not know is a bad request (422); one the policy knows
        but where this unit is not registered is not allowed for this event (409)."""
        why = self.commitments.unknown_jurisdiction(code)
        if why is not None:
            raise InvalidPayload(why, field="jurisdiction")
        if code not in self.start.registration.jurisdictions:
            raise InvalidTransition(
                f"the unit {self.start.equipment.serial} is not registered in {code}; this "
                f"event reports to {', '.join(self.start.registration.jurisdictions)}")

    # ----- step handlers ------------------------------------------------------------------------

    def _assign(self, actor: Actor, p: ae.AssignOfficer) -> Outcome:
        self.assignee = Actor(id=p.officer_id, name=p.officer_name or p.officer_id,
                              role=Role.regulatory)
        return (f"负责人 handled by {self.assignee.name}", p.model_dump(mode="json"),
                [NoticeRequest(to_person_id=p.officer_id,
                               subject=f"不良事件由您负责 adverse event {self.case_id} is yours",
                               body=self.start.intake.description)])

    def _classify(self, actor: Actor, p: ae.Classify) -> Outcome:
        before, self.event_type = self.event_type, p.event_type
        for report in self.reports:
            if report.id == ae.INITIAL:
                clock = self._clock(report.jurisdiction, self.event_type)
                commitment = self.deadlines.change(report.key, ae.clock_spec(clock, report.key))
                report.within, report.calendar = str(clock.within), clock.calendar
                report.source = clock.source
                report.due_at = commitment.due_at if commitment else report.due_at
        return (f"分类 classified {before} -> {p.event_type}: {p.reason}",
                p.model_dump(mode="json") | {"before": before}, [])

    def _investigate(self, actor: Actor, p: ae.Investigate) -> Outcome:
        self.investigations.append(p)
        if self.status == S.recorded:
            self.status = S.investigating
        return f"调查 investigation: {p.findings}", p.model_dump(mode="json"), []

    def _submit(self, actor: Actor, p: ae.Submit) -> Outcome:
        now = workflow.now()
        report = self._report(p.jurisdiction, p.report)
        assert report is not None
        report.submission = ae.Submission(submitted_at=p.submitted_at, channel=p.channel,
                                          reference=p.reference, note=p.note, by=actor,
                                          recorded_at=now)
        commitment = self.deadlines.meet(report.key, p.submitted_at)
        late = commitment is not None and commitment.breached
        if all(r.submission for r in self.reports):
            self.status = S.reported
        return (f"已报告 reported to {report.regulator} ({p.jurisdiction} {p.report}) via "
                f"{p.channel}: {p.reference}{' (late)' if late else ''}",
                p.model_dump(mode="json") | {"late": late}, [])

    def _request_follow_up(self, actor: Actor, p: ae.RequestFollowUp) -> Outcome:
        self.follow_ups += 1
        report_id = f"F{self.follow_ups}"
        place = self.commitments.jurisdictions[p.jurisdiction]
        report = self._due(p.jurisdiction, report_id, p.kind, place.follow_up, p.reason,
                           at=workflow.now())
        self.status = S.investigating if self.investigations else S.recorded
        return (f"{p.kind} report {report_id} due to {report.regulator} ({p.jurisdiction}): "
                f"{p.reason}", p.model_dump(mode="json") | {"report": report_id}, [])

    def _close(self, actor: Actor, p: ae.Close) -> Outcome:
        now = workflow.now()
        self.deadlines.meet(EVALUATION, now)
        self._settle(now, "closed")
        self.evaluation, self.reply = p.evaluation, p.reply or None
        self.status = S.closed
        self.closed_at = now
        return f"结案 closed: {p.evaluation}", p.model_dump(mode="json"), []

    # ----- the reports due ----------------------------------------------------------------------

    def _clock(self, code: str, event_type: str) -> RegulatoryClock:
        return self.commitments.jurisdictions[code].clocks[event_type]

    def _report(self, code: str, report_id: str) -> ae.RegulatoryReport | None:
        return next((r for r in self.reports
                     if r.jurisdiction == code and r.id == report_id), None)

    def _due(self, code: str, report_id: str, kind: str, clock: RegulatoryClock, reason: str,
             at: datetime | None = None) -> ae.RegulatoryReport:
        """A report due to the regulator of `code`: an initial report counts from the awareness
        time, a follow-up from when it was asked for (`at`)."""
        key = f"report:{code}" if report_id == ae.INITIAL else f"follow_up:{code}:{report_id}"
        place = self.commitments.jurisdictions[code]
        commitment = self.deadlines.start(key, ae.clock_spec(clock, key), at=at or self.opened_at,
                                          started_at=at or self.start.aware_at)
        report = ae.RegulatoryReport(
            id=report_id, key=key, jurisdiction=code, regulator=place.regulator, kind=kind,
            reason=reason, within=str(clock.within), calendar=clock.calendar,
            source=clock.source, due_at=commitment.due_at)
        self.reports.append(report)
        return report

    def _projection(self) -> CaseProjection:
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value, severity=None,
            hospital_id=self.hospital_id, equipment_serial=self.start.equipment.serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached,
            title=f"不良事件 {self.event_type}: {self.start.intake.description}"[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
