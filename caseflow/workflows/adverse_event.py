"""AdverseEventWorkflow: one adverse event from its opening to its closing (DOMAIN.md section 5).

A report commitment per jurisdiction where the unit is registered, on the regulator's clock for
the event type, counted from the awareness time (the origin's intake); each climbs the ladder
on its own until its report is submitted. Classifying the event again recounts the clocks from
the same awareness time; a follow-up or supplemental report gets a commitment of its own; the
evaluation closes the event once nothing is due to any regulator.

An event with a known fault asks once (and again when classified with another fault) whether it
makes or joins a group event (群体不良事件, docs/regulatory.md): the group is an adverse event of
type `group` with its own report clock per jurisdiction, which tells each of its events that it
is one (an event then owes its own report within the group's per-case clock, where the policy
has one). Cases opened before the `adverse-event-groups` patch take no part in groups.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import adverse_event as ae
    from caseflow.domain.cases import REVIEWS_AND_GROUPS, LinkedCase
    from caseflow.domain.enums import Role
    from caseflow.domain.errors import InvalidPayload, InvalidTransition
    from caseflow.domain.policy import CasePolicy, CommitmentSpec
    from caseflow.domain.records import PLACE_IN_GROUP, SYSTEM, Actor, CaseProjection, NoticeRequest
    from caseflow.domain.regulatory_policy import GROUP, RegulatoryClock, RegulatoryPolicy
    from caseflow.domain.words import local_text, word

from caseflow.workflows.case import ACTIVITY_RETRY, ACTIVITY_TIMEOUT, CaseWorkflow, Outcome

S = ae.AdverseEventStatus
EVALUATION = "evaluation"
# Events opened under this patch are placed in group events; older histories replay without.
GROUPS_PATCH = "adverse-event-groups"
GROUP_CASE = "group_case:"  # the commitment of an event's own report as a case of a group


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
        self.fault_category = start.intake.fault_category
        self.fault_code = start.intake.fault_code
        self.group = start.group.model_copy(deep=True) if start.group else None
        self.told: list[str] = []
        self.group_case_id: str | None = None
        self.group_placement: str | None = None
        self.grouping = self._since(REVIEWS_AND_GROUPS, GROUPS_PATCH)
        self.placing = self.grouping and self.group is None  # an event asks at its opening
        if self.group is not None:
            self.linked_cases = [self._member_link(m.case_id) for m in self.group.members]
        if start.opened_by.role == Role.regulatory:
            self.assignee = start.opened_by
        self.reports: list[ae.RegulatoryReport] = []
        for code in start.registration.jurisdictions:
            self._due(code, ae.INITIAL, "initial", self._clock(code, self.event_type), "")
        assert self.commitments.evaluation is not None
        self.deadlines.start(EVALUATION, ae.clock_spec(self.commitments.evaluation, EVALUATION),
                             at=self.opened_at, started_at=start.aware_at)
        origin = (f"(来自{word('kind', start.origin.kind)} {start.origin.case_id})"
                  if start.origin else "")
        intake = start.intake
        data = {"event_type": self.event_type, "aware_at": start.aware_at.isoformat(),
                "jurisdictions": start.registration.jurisdictions,
                "origin": start.origin.model_dump(mode="json") if start.origin else None,
                "policy_version": self.policy.policy_version}
        if self.fault_category or self.fault_code:
            data |= {"fault_category": self.fault_category, "fault_code": self.fault_code}
        if self.group is not None:
            data["group"] = {"key": self.group.key, "same": self.group.same,
                             "members": [m.case_id for m in self.group.members]}
        summary = f"不良事件{origin}:{word('event_type', self.event_type)}:{intake.description}"
        if self.group is not None:  # its description names it (群体不良事件...)
            summary = intake.description
        self._intake_events.append(self._event(
            "opened", start.opened_by, summary, data,
            [NoticeRequest(to_role=Role.regulatory, urgent=True, template="adverse-event-opened",
                           params={"case_id": self.case_id, "event_type": self.event_type,
                                   "text": intake.description})]))

    @workflow.run
    async def run(self, start: ae.AdverseEventStart) -> str:
        await self._live(self._grouping)
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
            linked_cases=self.linked_cases, fault_category=self.fault_category,
            fault_code=self.fault_code, group=self.group, group_case_id=self.group_case_id,
            group_placement=self.group_placement)

    def _spec_for(self, key: str, policy: CasePolicy) -> CommitmentSpec | None:
        regulatory = policy.regulatory
        if regulatory is None:
            return None
        if key == EVALUATION and regulatory.evaluation is not None:
            return ae.clock_spec(regulatory.evaluation, EVALUATION)
        if key.startswith(GROUP_CASE):
            code = key.removeprefix(GROUP_CASE)
            clocks = regulatory.group.clocks.get(code) if regulatory.group else None
            each = clocks.each_case if clocks else None
            return ae.clock_spec(each, key) if each is not None else None
        report = next((r for r in self.reports if r.key == key), None)
        if report is None or report.jurisdiction not in regulatory.jurisdictions:
            return None
        place = regulatory.jurisdictions[report.jurisdiction]
        if report.id == ae.INITIAL and self.event_type == GROUP:
            group = regulatory.group.clocks.get(report.jurisdiction) if regulatory.group else None
            return ae.clock_spec(group.report, key) if group is not None else None
        clock = place.clocks.get(self.event_type) if report.id == ae.INITIAL else place.follow_up
        return ae.clock_spec(clock, key) if clock is not None else None

    def _adopt(self, policy: CasePolicy) -> None:
        assert policy.regulatory is not None
        self.commitments = policy.regulatory

    # ----- checks beyond the rule table ---------------------------------------------------------

    def _refusal(self, action: str) -> str | None:
        if action == "classify" and self.group is not None:
            return "a group event is not classified: its events are"
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
            refault = self._refault(payload)
            if payload.event_type == self.event_type and not refault:
                raise InvalidPayload(f"the event is {self.event_type} already", field="event_type")
            if refault and self.group_case_id is not None:
                raise InvalidTransition(f"the event is a case of the group event "
                                        f"{self.group_case_id}: its fault is the group's")
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
        return (f"负责人:{self.assignee.name}", p.model_dump(mode="json"),
                [NoticeRequest(to_person_id=p.officer_id, template="adverse-event-assigned",
                               params={"case_id": self.case_id,
                                       "text": self.start.intake.description})])

    def _classify(self, actor: Actor, p: ae.Classify) -> Outcome:
        before, self.event_type = self.event_type, p.event_type
        fault = ""
        if self._refault(p):
            self.fault_category = p.fault_category or self.fault_category
            self.fault_code = p.fault_code or self.fault_code
            self.placing = self.grouping  # the group detection decides again
            named = [word("fault_category", self.fault_category) if self.fault_category else "",
                     self.fault_code or ""]
            fault = f"({' '.join(n for n in named if n)})"
        for report in self.reports:
            if report.id == ae.INITIAL:
                clock = self._clock(report.jurisdiction, self.event_type)
                commitment = self.deadlines.change(report.key, ae.clock_spec(clock, report.key))
                report.within, report.calendar = str(clock.within), clock.calendar
                report.source = clock.source
                report.due_at = commitment.due_at if commitment else report.due_at
        return (f"分类:{word('event_type', before)} -> {word('event_type', p.event_type)}{fault}:"
                f"{p.reason}",
                p.model_dump(mode="json", exclude_none=True) | {"before": before}, [])

    def _investigate(self, actor: Actor, p: ae.Investigate) -> Outcome:
        self.investigations.append(p)
        if self.status == S.recorded:
            self.status = S.investigating
        return f"调查评价:{p.findings}", p.model_dump(mode="json"), []

    def _submit(self, actor: Actor, p: ae.Submit) -> Outcome:
        now = workflow.now()
        report = self._report(p.jurisdiction, p.report)
        assert report is not None
        report.submission = ae.Submission(submitted_at=p.submitted_at, channel=p.channel,
                                          reference=p.reference, note=p.note, by=actor,
                                          recorded_at=now)
        commitment = self.deadlines.meet(report.key, p.submitted_at)
        late = commitment is not None and commitment.breached
        if report.id == ae.INITIAL:  # also the report of a case of a group event
            as_member = self.deadlines.meet(GROUP_CASE + p.jurisdiction, p.submitted_at)
            late = late or (as_member is not None and as_member.breached)
        if all(r.submission for r in self.reports):
            self.status = S.reported
        return (f"已报告 {report.regulator}({word('jurisdiction', p.jurisdiction)} "
                f"{word('report', p.report, default=p.report)}),途径 "
                f"{p.channel}:{p.reference}{'(逾期)' if late else ''}",
                p.model_dump(mode="json") | {"late": late}, [])

    def _request_follow_up(self, actor: Actor, p: ae.RequestFollowUp) -> Outcome:
        self.follow_ups += 1
        report_id = f"F{self.follow_ups}"
        place = self.commitments.jurisdictions[p.jurisdiction]
        report = self._due(p.jurisdiction, report_id, p.kind, place.follow_up, p.reason,
                           at=workflow.now())
        self.status = S.investigating if self.investigations else S.recorded
        return (f"需{word('report', p.kind)} {report_id}:{report.regulator}"
                f"({p.jurisdiction}):{p.reason}", p.model_dump(mode="json") | {"report": report_id}, [])

    def _close(self, actor: Actor, p: ae.Close) -> Outcome:
        now = workflow.now()
        self.deadlines.meet(EVALUATION, now)
        self._settle(now, "closed")
        self.evaluation, self.reply = p.evaluation, p.reply or None
        self.status = S.closed
        self.closed_at = now
        return f"结案:{p.evaluation}", p.model_dump(mode="json"), []

    # ----- the reports due ----------------------------------------------------------------------

    def _clock(self, code: str, event_type: str) -> RegulatoryClock:
        if event_type == GROUP:
            assert self.commitments.group is not None
            return self.commitments.group.clocks[code].report
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
            hospital_id=self.hospital_id,
            equipment_serial=None if self.group else self.start.equipment.serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached,
            title=self.start.intake.description[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)

    # ----- group events -------------------------------------------------------------------------

    def _refault(self, p: ae.Classify) -> bool:
        """Whether a classification gives the event another fault."""
        return ((p.fault_category is not None and p.fault_category != self.fault_category)
                or (p.fault_code is not None and p.fault_code != self.fault_code))

    def _member_link(self, case_id: str) -> LinkedCase:
        return LinkedCase(case_id=case_id, kind="adverse_event", relation="member",
                          status="open", opened_at=workflow.now())

    async def _grouping(self) -> None:
        """Alongside the deadlines: an event asks for its placement when it opens or its fault
        changes; a group event tells each of its events that it is one."""
        if not self.grouping:
            return
        while True:
            await workflow.wait_condition(
                lambda: self.closed or self.placing or bool(self._untold()))
            if self.placing and not self.closed:
                await self._place()
            elif self._untold():
                await self._tell(self._untold()[0])
            else:
                return

    async def _place(self) -> None:
        """Make or join a group event, or wait in none (the activity decides in the database
        under the lock of the event's key; the group tells the event if it is one)."""
        self.placing = False
        rule = self.commitments.group
        values = (ae.group_values(rule, self.start.equipment, self.fault_category,
                                  self.fault_code) if rule is not None else None)
        if rule is None or values is None:
            self.group_placement = None
            return
        member = ae.GroupMember(case_id=self.case_id, hospital_id=self.hospital_id,
                                serial=self.start.equipment.serial, aware_at=self.start.aware_at,
                                jurisdictions=list(self.start.registration.jurisdictions))
        self._busy += 1
        try:
            placed = await workflow.execute_activity(
                PLACE_IN_GROUP, ae.GroupPlacement(
                    member=member, key=ae.group_key(values), same=values,
                    rule=rule.model_copy(update={"clocks": {}})),  # the decision needs no clocks
                result_type=ae.Placed, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY)
        except ActivityError as error:
            await self._link_trouble("group-not-placed", error, to=Role.regulatory)
            return
        finally:
            self._busy -= 1
        if placed.outcome != "ungrouped" or self.group_case_id is None:
            self.group_placement = placed.outcome  # (a group formed since may have told it)
        if placed.outcome == "closed":
            await self._record("group-closed", SYSTEM,
                               f"群体不良事件 {placed.group_case_id} 已结案,未纳入本事件",
                               {"group_case_id": placed.group_case_id})

    def _untold(self) -> list[str]:
        if self.group is None:
            return []
        return [m.case_id for m in self.group.members if m.case_id not in self.told]

    async def _tell(self, case_id: str) -> None:
        """Tell one event that it is a case of this group (a later one is recorded here too)."""
        self.told.append(case_id)
        initial = self.start.group is not None and any(
            m.case_id == case_id for m in self.start.group.members)
        self._busy += 1
        try:
            await workflow.get_external_workflow_handle(case_id).signal(
                "joined_group", ae.GroupJoined(group_case_id=self.case_id,
                                               aware_at=self.start.aware_at,
                                               key=self.group.key if self.group else ""))
        except FailureError as error:
            await self._link_trouble("group-member-not-told", error, case_id, to=Role.regulatory)
            return
        finally:
            self._busy -= 1
        if not initial:
            await self._record("group-member-added", SYSTEM, f"群体不良事件新增个例 {case_id}",
                               {"member_id": case_id})

    @workflow.signal
    def add_member(self, member: ae.GroupMember) -> None:
        """A group event: another event is one of its cases (once per event)."""
        if self.group is None or any(m.case_id == member.case_id for m in self.group.members):
            return
        self.group.members.append(member)
        self.linked_cases.append(self._member_link(member.case_id))

    @workflow.signal
    async def joined_group(self, joined: ae.GroupJoined) -> None:
        """An event: it is a case of the group event `joined.group_case_id`. Where the policy
        pinned to it has a per-case clock for a group, each report not yet submitted is due
        by that clock too, counted from the later of its awareness and the group's."""
        if self.group_case_id is not None or self.closed or self.group is not None:
            return
        self.group_case_id = joined.group_case_id
        if self.group_placement in (None, "ungrouped"):
            self.group_placement = "joined"
        self.linked_cases.append(LinkedCase(case_id=joined.group_case_id, kind="adverse_event",
                                            relation="group", status="open",
                                            opened_at=workflow.now()))
        rule, now = self.commitments.group, workflow.now()
        begin = max(self.start.aware_at, joined.aware_at)
        due: dict[str, str] = {}
        for report in self.reports:
            clocks = rule.clocks.get(report.jurisdiction) if rule is not None else None
            if report.id != ae.INITIAL or report.submission is not None or clocks is None \
                    or clocks.each_case is None:
                continue
            key = GROUP_CASE + report.jurisdiction
            commitment = self.deadlines.start(key, ae.clock_spec(clocks.each_case, key), at=now,
                                              started_at=begin)
            report.group_due_at = commitment.due_at
            due[report.jurisdiction] = commitment.due_at.isoformat() if commitment.due_at else ""
        dues = ",".join(f"{code} {local_text(report.group_due_at)}" for report in self.reports
                        if (code := report.jurisdiction) in due and report.group_due_at)
        await self._record("group-joined", SYSTEM,
                           f"属群体不良事件 {joined.group_case_id}"
                           + (f",个例报告期限 {dues}" if due else ""),
                           {"group_case_id": joined.group_case_id, "key": joined.key,
                            "due": due})
