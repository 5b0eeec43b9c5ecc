"""ComplaintWorkflow: one complaint from record to closing (DOMAIN.md section 2).

First feedback within 24 h, the investigation team, findings, root cause and a corrective plan
whose actions each carry an owner and a due date of their own (each warns and escalates on the
shared deadline machinery), an internal briefing, the answer, the satisfaction callback three
days after the last action; closed with lessons learned, reopened one level higher when the
complainant is still not satisfied, withdrawn at any step with the reason kept.
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import complaint as c
    from caseflow.domain.enums import ComplaintOutcome, ComplaintStatus, Role
    from caseflow.domain.errors import InvalidPayload
    from caseflow.domain.records import Actor, CaseProjection, NoticeRequest
    from caseflow.domain.review import ReviewFacts
    from caseflow.domain.words import word

from caseflow.workflows.case import CaseWorkflow, Outcome

C = ComplaintStatus
STAGES = ("team", "plan", "answer")  # restarted, one level higher, when a complaint reopens


@workflow.defn
class ComplaintWorkflow(CaseWorkflow):
    kind = "complaint"
    rules = c.COMPLAINT_ACTIONS
    carry = c.ComplaintCarry

    @workflow.init
    def __init__(self, start: c.ComplaintStart) -> None:
        assert start.policy.complaint is not None, "the pinned policy has no complaint section"
        self.start = start
        self.commitments = start.policy.complaint
        if self._resumed(start.carried):
            return
        self._open_case(start.case_id, start.policy, start.intake.hospital_id, start.opened_by)
        self.status = C.recorded
        self.level = 1
        self.category = start.intake.category
        self.team: list[c.TeamMember] = []
        self.findings: list[c.Findings] = []
        self.root_cause: str | None = None
        self.plan_summary: str | None = None
        self.briefing: c.Briefing | None = None
        self.answer: str | None = None
        self.satisfaction: int | None = None
        self.satisfied: bool | None = None
        self.lessons_learned: str | None = None
        self.withdrawn_reason: str | None = None
        self.outcome: ComplaintOutcome | None = None
        self.linked_cases = []
        intake = start.intake
        # The clock runs from when the complaint was received, if that was earlier.
        received = min(intake.received_at or self.opened_at, self.opened_at)
        self.deadlines.start("first_feedback", self.commitments.first_feedback,
                             at=self.opened_at, started_at=received)
        for key in STAGES:
            self.deadlines.start(key, getattr(self.commitments, key), at=self.opened_at,
                                 started_at=received)
        origin = (f"(来自 {start.origin.case_id})" if start.origin else "")
        self._intake_events.append(self._event(
            "opened", start.opened_by,
            f"投诉受理{origin}:{intake.complainant_name}:{intake.matter}",
            {"intake": intake.model_dump(mode="json"),
             "origin": start.origin.model_dump(mode="json") if start.origin else None,
             "policy_version": self.policy.policy_version},
            [NoticeRequest(to_role=Role.supervisor, template="complaint-opened",
                           params={"case_id": self.case_id, "text": intake.matter})]))

    @workflow.run
    async def run(self, start: c.ComplaintStart) -> c.ComplaintResult:
        if self._reviewing():  # every complaint is evaluated for reportability
            await self._live(lambda: self._ask_review(ReviewFacts(
                complaint_category=self.category.value if self.category else None,
                patient_harmed=start.intake.patient_harmed)))
        else:
            await self._live()
        await workflow.wait_condition(workflow.all_handlers_finished)
        assert self.outcome is not None and self.closed_at is not None
        return c.ComplaintResult(case_id=self.case_id, outcome=self.outcome, level=self.level,
                                 satisfaction=self.satisfaction, closed_at=self.closed_at)

    # ----- reads --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.status in (C.closed, C.withdrawn)

    def view(self) -> c.ComplaintView:
        return c.ComplaintView(
            **self._case_view(), status=self.status, outcome=self.outcome, level=self.level,
            category=self.category, intake=self.start.intake,
            hospital_name=self.start.hospital_name, equipment=self.start.equipment,
            origin=self.start.origin, team=self.team, findings=self.findings,
            root_cause=self.root_cause, plan_summary=self.plan_summary,
            actions=list(self.actions.values()), briefing=self.briefing, answer=self.answer,
            satisfaction=self.satisfaction, satisfied=self.satisfied,
            lessons_learned=self.lessons_learned, withdrawn_reason=self.withdrawn_reason,
            linked_cases=self.linked_cases)

    # ----- checks beyond the rule table ---------------------------------------------------------

    def _refusal(self, action: str) -> str | None:
        if action == "first-feedback":
            feedback = self.deadlines.get("first_feedback")
            if feedback is not None and not feedback.is_open:
                return "the first feedback was already given"
        if action == "complete-action" and not self._open_actions():
            return "every corrective action is done"
        return None

    def _person_refusal(self, actor: Actor, action: str) -> str | None:
        return self._owner_refusal(actor) if action == "complete-action" else None

    def _check_payload(self, action: str, payload: BaseModel) -> None:
        now = workflow.now()
        if isinstance(payload, c.Classify) and payload.category == self.category:
            raise InvalidPayload(f"the category is already {payload.category}", field="category")
        self._check_action_payload(payload, now)

    # ----- step handlers ------------------------------------------------------------------------

    def _classify(self, actor: Actor, p: c.Classify) -> Outcome:
        self.category = p.category
        return f"分类:{word('complaint_category', p.category)}", p.model_dump(mode="json"), []

    def _assign(self, actor: Actor, p: c.AssignHandler) -> Outcome:
        self.assignee = Actor(id=p.handler_id, name=p.handler_name or p.handler_id)
        return (f"负责人:{self.assignee.name}", p.model_dump(mode="json"),
                [NoticeRequest(to_person_id=p.handler_id, template="complaint-handler",
                               params={"case_id": self.case_id,
                                       "text": self.start.intake.matter})])

    def _first_feedback(self, actor: Actor, p: c.FirstFeedback) -> Outcome:
        self.deadlines.meet("first_feedback", workflow.now())
        return f"首次反馈:{p.note}", p.model_dump(mode="json"), []

    def _form_team(self, actor: Actor, p: c.FormTeam) -> Outcome:
        self.team = list(p.members)
        self.deadlines.meet("team", workflow.now())
        self.status = C.team_formed
        names = ", ".join(f"{m.name} ({m.role.value})" for m in p.members)
        return f"成立调查组:{names}", p.model_dump(mode="json"), []

    def _record_findings(self, actor: Actor, p: c.Findings) -> Outcome:
        self.findings.append(p)
        self.status = C.investigating
        return (f"调查:{p.facts}(证据 {len(p.evidence)} 项)", p.model_dump(mode="json"),
                [])

    def _root_cause(self, actor: Actor, p: c.RootCause) -> Outcome:
        self.root_cause = p.root_cause
        self.status = C.root_cause_found
        return f"根本原因:{p.root_cause}", p.model_dump(mode="json"), []

    def _plan(self, actor: Actor, p: c.Plan) -> Outcome:
        now = workflow.now()
        self.plan_summary = p.summary
        notices = [self._track_action(item, now) for item in p.actions]
        self.deadlines.meet("plan", now)
        self.status = C.planned
        return (f"整改方案({len(p.actions)} 项措施):{p.summary}",
                p.model_dump(mode="json"), notices)

    def _brief(self, actor: Actor, p: c.Briefing) -> Outcome:
        self.briefing = p
        self.status = C.briefed
        return f"内部通报:{p.summary}", p.model_dump(mode="json"), []

    def _answer(self, actor: Actor, p: c.Answer) -> Outcome:
        now = workflow.now()
        self.answer = p.answer
        self.deadlines.meet("first_feedback", now)  # an answer is feedback, if none came first
        self.deadlines.meet("answer", now)
        self.status = C.answered
        self._await_callback_if_done(now)
        return f"答复投诉人:{p.answer}", p.model_dump(mode="json"), []

    def _add_action(self, actor: Actor, p: c.CorrectiveActionInput) -> Outcome:
        now = workflow.now()
        notice = self._track_action(p, now)
        if self.status == C.awaiting_callback:  # the callback waits for this action too
            self.deadlines.waive("callback", now, "a corrective action was added")
            self.status = C.answered
        return (f"新增整改措施:{p.description}",
                p.model_dump(mode="json"), [notice])

    def _complete_action(self, actor: Actor, p: c.CompleteAction) -> Outcome:
        now = workflow.now()
        action = self._finish_action(p, now)
        self._await_callback_if_done(now)
        return (f"整改完成 {action.id}:{p.result}",
                p.model_dump(mode="json"), [])

    def _callback(self, actor: Actor, p: c.Callback) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("callback", now)
        self.satisfaction, self.satisfied = p.satisfaction, p.satisfied
        if p.satisfied:
            self.status = C.resolved
            self.deadlines.start("close", self.commitments.close, at=now,
                                 notify_offset=self.level - 1)
            return (f"回访:满意({p.satisfaction}/5){p.comment}".strip(),
                    p.model_dump(mode="json"), [])
        before = self.level
        self.level = min(self.level + 1, len(self.policy.ladder.levels))
        for key in STAGES:  # handled one level higher: their breaches go one level higher too
            self.deadlines.start(key, getattr(self.commitments, key), at=now,
                                 notify_offset=self.level - 1)
        self.status = C.reopened
        to_role = self.policy.ladder.levels[self.level - 1].notify
        return (f"回访不满意({p.satisfaction}/5):第 {self.level} 级重新处理 "
                f"{p.comment}".strip(),
                p.model_dump(mode="json") | {"level_before": before, "level": self.level},
                [NoticeRequest(to_role=to_role, urgent=True, template="complaint-reopened",
                               params={"case_id": self.case_id, "level": self.level,
                                       "text": p.comment or self.start.intake.matter})])

    def _close(self, actor: Actor, p: c.Close) -> Outcome:
        self.deadlines.meet("close", workflow.now())
        self._settle(workflow.now(), "closed")
        self.lessons_learned = p.lessons_learned
        self.outcome = ComplaintOutcome.resolved
        self.status = C.closed
        self.closed_at = workflow.now()
        return f"结案;经验教训:{p.lessons_learned}", p.model_dump(mode="json"), []

    def _withdraw(self, actor: Actor, p: c.Withdraw) -> Outcome:
        now = workflow.now()
        self._settle(now, "withdrawn")
        self.withdrawn_reason = p.reason
        self.outcome = ComplaintOutcome.withdrawn
        self.status = C.withdrawn
        self.closed_at = now
        return f"撤诉:{p.reason}", p.model_dump(mode="json"), []

    # ----- helpers ------------------------------------------------------------------------------

    def _await_callback_if_done(self, now: datetime) -> None:
        """Answered and every action done: the satisfaction callback is due in 3 days."""
        if self.status == C.answered and not self._open_actions():
            self.status = C.awaiting_callback
            self.deadlines.start("callback", self.commitments.callback, at=now)

    # ----- recording ----------------------------------------------------------------------------

    def _projection(self) -> CaseProjection:
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value, severity=None,
            hospital_id=self.hospital_id, equipment_serial=self.start.intake.equipment_serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached, title=self.start.intake.matter[:200],
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
