"""EmergencyResponseWorkflow: a patient is at risk (DOMAIN.md section 4).

The on-call person is paged at once (the `notify` commitment, 1 min). Each page is a round of
the `acknowledge` commitment (5 min, a paging commitment: no warning, no ladder); when a round
runs out, the next level of the on-call chain is paged and a new round starts, level after
level, wrapping from the top of the chain back to level 1: it never goes silent. The chain is
read from the roster at each page, so a shift change during the paging is followed.

After acknowledgement: the team on site within 30 min, progress updates to the customer every
30 min until the unit is restored, safety measures recorded before it may be restored, the
post-incident check (a failure returns to the repair), the satisfaction survey, the review with
improvement actions (each chased on its own due date), close. No clock of an emergency pauses,
and every escalation goes out at once, day or night.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

from caseflow.workflows.case import CaseWorkflow, Outcome, keep_last

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import emergency as e
    from caseflow.domain.cases import OPENED_LEAN
    from caseflow.domain.enums import EmergencyOutcome, EmergencyStatus, EmergencyTrigger, Role
    from caseflow.domain.records import (
        ON_CALL_CHAIN,
        SYSTEM,
        Actor,
        CaseProjection,
        NoticeRequest,
    )
    from caseflow.domain.review import ReviewFacts
    from caseflow.domain.rosters import OnCallLevel, OnCallQuery
    from caseflow.domain.sla import EscalationDue
    from caseflow.domain.words import word

E = EmergencyStatus
# Reviewed with every improvement action done, the emergency has a closing commitment (no case
# without a clock); histories recorded before this patch waited for the close without one.
CLOSING_CLOCK_PATCH = "emergency-closing-clock"
KEEP_PAGES = 20  # pages (and progress updates) a continued emergency repeats in its view
RESTORING = (E.acknowledged, E.dispatched, E.on_site)


@workflow.defn
class EmergencyResponseWorkflow(CaseWorkflow):
    kind = "emergency"
    rules = e.EMERGENCY_ACTIONS
    carry = e.EmergencyCarry

    @workflow.init
    def __init__(self, start: e.EmergencyStart) -> None:
        assert start.policy.emergency is not None, "the pinned policy has no emergency section"
        self.start = start
        self.commitments = start.policy.emergency
        if self._resumed(start.carried):
            return
        self._open_case(start.case_id, start.policy, start.equipment.hospital_id,
                        start.opened_by)
        self.status = E.paging
        self.outcome: EmergencyOutcome | None = None
        self.pages: list[e.Page] = []
        self.earlier_pages = 0  # pages of earlier runs left out of `pages` (on the timeline)
        self.paged_before: list[str] = []  # who those pages went to (they may acknowledge)
        self.position = -1  # index in the chain of the level paged last
        self.acknowledged_level: int | None = None
        self.acknowledged_at = None
        self.team: list[e.TeamMember] = []
        self.parts: list[str] = []
        self.mode = None
        self.on_site_at = None
        self.safety: list[e.Recorded] = []
        self.progress: list[e.Recorded] = []
        self.earlier_progress = 0
        self.restored_at = None
        self.restored_summary: str | None = None
        self.checks: list[e.Recorded] = []
        self.satisfaction: int | None = None
        self.survey_comment: str | None = None
        self.root_cause: str | None = None
        self.review_summary: str | None = None
        self.stand_down_reason: str | None = None
        self.linked_cases = []
        self.deadlines.start("notify", self.commitments.notify, at=self.opened_at)
        intake, unit = start.intake, start.equipment
        origin = f"(来自维修 {intake.related_case_id})" if intake.related_case_id else ""
        self._intake_events.append(self._event(
            "opened", start.opened_by,
            f"应急响应{origin}:{word('trigger', intake.trigger)} {unit.modality} "
            f"{unit.serial} {intake.department}:{intake.impact}",
            {"intake": intake.model_dump(mode="json"),
             "policy_version": self.policy.policy_version},
            [NoticeRequest(to_role=Role.supervisor, urgent=True, template="emergency-declared",
                           params={"case_id": self.case_id, "hospital": unit.hospital_name,
                                   "unit": f"{unit.modality} {unit.serial}",
                                   "trigger": intake.trigger.value, "text": intake.impact})]))

    @workflow.run
    async def run(self, start: e.EmergencyStart) -> e.EmergencyResult:
        review = []
        if start.intake.trigger == EmergencyTrigger.patient_safety and self._reviewing():
            review.append(self._review_after_first_page)
        if self.pages or self.earlier_pages:  # continued as new: the watcher pages on
            await self._live(*review)
        else:
            await self._live(self._page, *review)
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self.outcome is not None and self.closed_at is not None
        return e.EmergencyResult(case_id=self.case_id, outcome=self.outcome,
                                 pages=self.earlier_pages + len(self.pages),
                                 acknowledged_level=self.acknowledged_level,
                                 closed_at=self.closed_at)

    async def _review_after_first_page(self) -> None:
        """A patient-safety emergency's reportability review, opened once the first page is
        out (or the paging is over): the page comes first."""
        await workflow.wait_condition(lambda: bool(self.pages) or self.status != E.paging)
        intake = self.start.intake
        await self._ask_review(ReviewFacts(trigger=intake.trigger.value,
                                           patient_harmed=intake.patient_harmed))

    # ----- reads --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.status in (E.closed, E.stood_down)

    def view(self) -> e.EmergencyView:
        return e.EmergencyView(
            **self._case_view(), status=self.status, outcome=self.outcome,
            trigger=self.start.intake.trigger, intake=self.start.intake,
            equipment=self.start.equipment, pages=self.pages,
            earlier_pages=self.earlier_pages, acknowledged_at=self.acknowledged_at,
            team=self.team, parts=self.parts,
            mode=self.mode, on_site_at=self.on_site_at, safety_measures=self.safety,
            progress_updates=self.progress, earlier_progress_updates=self.earlier_progress,
            restored_at=self.restored_at,
            restored_summary=self.restored_summary, checks=self.checks,
            satisfaction=self.satisfaction, survey_comment=self.survey_comment,
            root_cause=self.root_cause, review_summary=self.review_summary,
            actions=list(self.actions.values()), stand_down_reason=self.stand_down_reason,
            linked_cases=self.linked_cases)

    # ----- checks beyond the rule table ---------------------------------------------------------

    def _refusal(self, action: str) -> str | None:
        if action == "restored" and not self.safety:
            return "record the immediate safety measures before the unit is restored"
        if action == "close" and self._open_actions():
            return (f"improvement actions still open: "
                    f"{', '.join(a.id for a in self._open_actions())}")
        return None

    def _person_refusal(self, actor: Actor, action: str) -> str | None:
        """An engineer acknowledges only a page sent to them, then acts only as the one who
        acknowledged or a member of the team; improvement actions belong to their owners."""
        if action == "complete-action":
            return self._owner_refusal(actor)
        if actor.role != Role.engineer:
            return None
        if action == "acknowledge":
            return None if actor.id in self._paged_ids() else \
                f"acknowledge: you were not paged for {self.case_id}"
        team = {m.person_id for m in self.team}
        if (self.assignee is None or self.assignee.id != actor.id) and actor.id not in team:
            return f"{action}: you are not on the team of {self.case_id}"
        return None

    def _check_payload(self, action: str, payload: BaseModel) -> None:
        self._check_action_payload(payload, workflow.now())

    def _urgent_rung(self, due: EscalationDue) -> bool:
        return True  # warnings too: a patient is at risk

    def _trim(self) -> None:
        super()._trim()
        self.paged_before = sorted(self._paged_ids())
        self.pages, self.earlier_pages = keep_last(self.pages, KEEP_PAGES, self.earlier_pages)
        self.progress, self.earlier_progress = keep_last(self.progress, KEEP_PAGES,
                                                         self.earlier_progress)

    # ----- paging -------------------------------------------------------------------------------

    async def _page(self, index: int = 0, after: datetime | None = None) -> None:
        """Page the level `index` of the chain in force now (wrapping) and start a new round
        of the acknowledgement; nobody on any level: tell the supervisors and keep trying.

        A round that follows one that ran out at `after` counts from then, so the pages keep a
        steady 5-minute step however long reading the chain took (unless it took longer than
        a whole round: then from now, rather than racing through the chain)."""
        chain = await self._activity(
            ON_CALL_CHAIN,
            OnCallQuery(hospital_id=self.hospital_id, modality=self.start.equipment.modality,
                        at=workflow.now()),
            result_type=list[OnCallLevel])
        if self.status != E.paging:
            return  # acknowledged while the chain was read
        now = workflow.now()
        chain = [level for level in chain if level.people]
        # With nobody on call, the next page starts again from level 1.
        self.position = index % len(chain) if chain else -1
        level = chain[self.position] if chain else None
        people = level.people if level else []
        spec = self.commitments.acknowledge
        assert spec.within is not None  # a paging commitment has a duration
        round_time = self.policy.calendar(spec.calendar).working_time(spec.within)
        steady = after is not None and now - after < round_time
        round_ = self.deadlines.start("acknowledge", spec, at=now,
                                      started_at=after if steady else None,
                                      owner_id=people[0].id if people else None)
        page = e.Page(round=round_.round, level=level.level if level else 0, people=people,
                      at=now, source=level.source if level else "none")
        self.pages.append(page)
        unit, intake = self.start.equipment, self.start.intake
        told = {"case_id": self.case_id, "hospital": unit.hospital_name,
                "unit": f"{unit.modality} {unit.serial}", "trigger": intake.trigger.value,
                "impact": intake.impact,
                "due_at": round_.due_at.isoformat() if round_.due_at else ""}
        if people:
            self.deadlines.meet("notify", now)
            names = "、".join(p.name for p in people)
            await self._record("page", SYSTEM,
                               f"呼叫第 {page.level} 级({names}),第 {page.round} 轮",
                               page.model_dump(mode="json"),
                               [NoticeRequest(to_person_id=p.id, urgent=True, template="page",
                                              params=told)
                                for p in people])
        else:
            await self._record("page", SYSTEM,
                               f"本院 {unit.modality} 无人值班;"
                               f"{self.commitments.acknowledge.within} 后再次呼叫",
                               page.model_dump(mode="json"),
                               [NoticeRequest(to_role=role, urgent=True,
                                              template="nobody-on-call", params=told)
                                for role in (Role.supervisor, Role.manager)])

    def _paged_ids(self) -> set[str]:
        return {p.id for page in self.pages for p in page.people} | set(self.paged_before)

    async def _escalate(self, due: EscalationDue) -> None:
        await super()._escalate(due)
        if due.commitment == "acknowledge" and self.status == E.paging:
            await self._page(self.position + 1, after=due.scheduled_at)

    # ----- step handlers ------------------------------------------------------------------------

    def _acknowledge(self, actor: Actor, p: e.Acknowledge) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("notify", now)
        self.deadlines.meet("acknowledge", now)
        paged = [page.level for page in self.pages if actor.id in {x.id for x in page.people}]
        self.acknowledged_level = paged[-1] if paged else None
        self.acknowledged_at = now
        self.assignee = Actor(id=actor.id, name=actor.name, role=actor.role)
        self.status = E.acknowledged
        self.deadlines.start("on_site", self.commitments.on_site, at=now)
        self.deadlines.start("progress", self.commitments.progress, at=now)
        return (f"应答:{actor.name},呼叫 {self.earlier_pages + len(self.pages)} 次后 {p.note}"
                .strip(), p.model_dump(mode="json") | {"level": self.acknowledged_level},
                [NoticeRequest(to_role=Role.supervisor, urgent=True,
                               template="emergency-acknowledged",
                               params={"case_id": self.case_id, "person": actor.name,
                                       "text": p.note or self.start.intake.impact})])

    def _dispatch(self, actor: Actor, p: e.Dispatch) -> Outcome:
        self.team, self.parts, self.mode = list(p.team), list(p.parts), p.mode
        self.status = E.dispatched
        names = "、".join(m.person_name or m.person_id for m in p.team)
        parts = f";备件:{'、'.join(p.parts)}" if p.parts else ""
        return (f"派工:{names}({word('mode', p.mode)}){parts}", p.model_dump(mode="json"),
                [NoticeRequest(to_person_id=m.person_id, urgent=True, template="emergency-team",
                               params={"case_id": self.case_id,
                                       "text": self.start.intake.impact})
                 for m in p.team if m.person_id != actor.id])

    def _on_site(self, actor: Actor, p: e.OnSite) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("on_site", now)
        self.mode, self.on_site_at = p.mode, now
        self.status = E.on_site
        return f"{word('mode', p.mode)}:{actor.name} {p.note}".strip(), p.model_dump(mode="json"), []

    def _safety_measures(self, actor: Actor, p: e.SafetyMeasures) -> Outcome:
        self.safety.append(e.Recorded(at=workflow.now(), by=actor,
                                      data=p.model_dump(mode="json")))
        return (f"安全措施:{';'.join(p.measures)}", p.model_dump(mode="json"),
                [])

    def _progress(self, actor: Actor, p: e.Progress) -> Outcome:
        now = workflow.now()
        self.progress.append(e.Recorded(at=now, by=actor, data=p.model_dump(mode="json")))
        self.deadlines.meet("progress", now)
        self.deadlines.start("progress", self.commitments.progress, at=now)
        return f"进展通报:{p.message}", p.model_dump(mode="json"), []

    def _restored(self, actor: Actor, p: e.Restored) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("progress", now)  # telling the customer it is restored is progress
        self.restored_at, self.restored_summary = now, p.summary
        self.status = E.restored
        self.deadlines.start("check", self.commitments.check, at=now)
        return (f"恢复:{p.summary}", p.model_dump(mode="json"),
                [NoticeRequest(to_role=Role.hotline, template="emergency-restored",
                               params={"case_id": self.case_id, "text": p.summary})])

    def _performance_check(self, actor: Actor, p: e.PerformanceCheck) -> Outcome:
        now = workflow.now()
        failures = p.failures
        self.checks.append(e.Recorded(at=now, by=actor, data=p.model_dump(mode="json")
                                      | {"passed": not failures}))
        self.deadlines.meet("check", now)
        data = p.model_dump(mode="json") | {"passed": not failures, "failures": failures}
        if failures:
            self.status = E.on_site
            self.restored_at = None
            self.deadlines.start("progress", self.commitments.progress, at=now)
            return (f"性能检查未通过,返回维修:{';'.join(failures)}",
                    data, [NoticeRequest(to_role=Role.supervisor, urgent=True,
                                         template="check-failed",
                                         params={"case_id": self.case_id,
                                                 "text": "; ".join(failures)})])
        self.status = E.checked
        self.deadlines.start("survey", self.commitments.survey, at=now)
        return (f"性能检查通过({len(p.parameters)} 项参数)",
                data, [])

    def _survey(self, actor: Actor, p: e.Survey) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("survey", now)
        self.satisfaction, self.survey_comment = p.satisfaction, p.comment
        self.status = E.surveyed
        self.deadlines.start("review", self.commitments.review, at=now)
        return (f"满意度调查:{p.satisfaction}/5 {p.comment}".strip(),
                p.model_dump(mode="json"), [])

    def _review(self, actor: Actor, p: e.Review) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("review", now)
        self.root_cause, self.review_summary = p.root_cause, p.summary
        notices = [self._track_action(item, now) for item in p.actions]
        self.status = E.reviewed
        self._clock_closing(now)
        return (f"事后复盘({len(p.actions)} 项措施):根本原因 {p.root_cause}",
                p.model_dump(mode="json"), notices)

    def _complete_action(self, actor: Actor, p: e.CompleteAction) -> Outcome:
        action = self._finish_action(p, workflow.now())
        self._clock_closing(workflow.now())
        return (f"改进完成 {action.id}:{p.result}",
                p.model_dump(mode="json"), [])

    def _clock_closing(self, now: datetime) -> None:
        """Reviewed and nothing left to improve: the supervisor closes it within `close`."""
        if (self.status == E.reviewed and not self._open_actions()
                and self.deadlines.get("close") is None
                and self._since(OPENED_LEAN, CLOSING_CLOCK_PATCH)):
            self.deadlines.start("close", self.commitments.close, at=now)

    def _close(self, actor: Actor, p: e.Close) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("close", now)
        self._settle(now, "closed")
        self.status = E.closed
        self.outcome = EmergencyOutcome.restored
        self.closed_at = now
        return f"结案 {p.note}".strip(), p.model_dump(mode="json"), []

    def _stand_down(self, actor: Actor, p: e.StandDown) -> Outcome:
        now = workflow.now()
        self._settle(now, "stood down")
        self.stand_down_reason = p.reason
        self.status = E.stood_down
        self.outcome = EmergencyOutcome.stood_down
        self.closed_at = now
        return (f"解除:{p.reason}", p.model_dump(mode="json"),
                [NoticeRequest(to_role=Role.supervisor, urgent=True, template="stood-down",
                               params={"case_id": self.case_id, "text": p.reason})])

    # ----- recording ----------------------------------------------------------------------------

    def _projection(self) -> CaseProjection:
        unit = self.start.equipment
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value,
            severity="critical", hospital_id=self.hospital_id, equipment_serial=unit.serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached, title=self.start.intake.impact[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
