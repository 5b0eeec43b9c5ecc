"""ReportabilityReviewWorkflow: is a complaint, a patient-safety emergency or a closed repair
possibly a reportable adverse event? (docs/regulatory.md)

Opened by the case under review (its origin) with the rules' flags. Regulatory affairs decides
within the policy's deadline (a flagged case sooner), escalating on the ladder when late; a
decision "not an adverse event" carries its reason. "Possibly reportable" opens the adverse
event, linked both ways, counted from the origin's intake. A closed repair no rule flagged is
recorded as screened by the rules (author: the system, reason code `no_rule_matched`, the
policy's version) when the policy says so, and closes at once.
"""

from __future__ import annotations

from temporalio import workflow

from caseflow.workflows.case import CaseWorkflow, Outcome

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import review as rv
    from caseflow.domain.adverse_event import LinkedAdverseEventRequest
    from caseflow.domain.enums import Role
    from caseflow.domain.errors import InvalidPayload
    from caseflow.domain.policy import CasePolicy, CommitmentSpec
    from caseflow.domain.records import (
        OPEN_LINKED_ADVERSE_EVENT,
        SYSTEM,
        Actor,
        CaseProjection,
        NoticeRequest,
    )
    from caseflow.domain.words import word

S = rv.ReviewStatus
DECISION = "decision"  # the commitment: regulatory affairs decides


@workflow.defn
class ReportabilityReviewWorkflow(CaseWorkflow):
    kind = "review"
    rules = rv.REVIEW_ACTIONS
    carry = rv.ReviewCarry

    @workflow.init
    def __init__(self, start: rv.ReviewStart) -> None:
        assert start.policy.review is not None, "the pinned policy has no review section"
        self.start = start
        self.commitments = start.policy.review
        if self._resumed(start.carried):
            return
        self._open_case(start.case_id, start.policy, start.hospital_id, start.opened_by)
        self.status = S.pending
        self.decision: rv.Decision | None = None
        self.reason: str | None = None
        self.event_type: str | None = None
        self.decided_by: Actor | None = None
        self.decided_at = None
        self.linked_cases = []
        origin = start.origin
        data = {"origin": origin.case_id, "origin_kind": origin.kind, "flags": start.flags,
                "policy_version": self.policy.policy_version}
        if start.screened:
            self._intake_events.append(self._event(
                "opened", start.opened_by,
                f"可报告性评审:{word('kind', origin.kind)} {origin.case_id}", data))
            self._decided(SYSTEM, rv.Decision.not_adverse_event, None)
            self._intake_events.append(self._event(
                "screened", SYSTEM,
                f"规则筛查:无规则命中,{word('decision', rv.Decision.not_adverse_event)}",
                {"decision": self.decision, "reason_code": rv.NO_RULE_MATCHED,
                 "policy_version": self.policy.policy_version}))
            return
        self.deadlines.start(DECISION, self._spec(), at=self.opened_at)
        self._intake_events.append(self._event(
            "opened", start.opened_by,
            f"可报告性评审:{word('kind', origin.kind)} {origin.case_id}", data,
            [NoticeRequest(to_role=Role.regulatory, urgent=bool(start.flags),
                           template="review-opened",
                           params={"case_id": self.case_id, "origin": origin.case_id,
                                   "flags": ", ".join(start.flags)})]))

    @workflow.run
    async def run(self, start: rv.ReviewStart) -> str:
        await self._live()
        if self.decision == rv.Decision.possibly_reportable and not any(
                link.kind == "adverse_event" for link in self.linked_cases):
            await self._open_adverse_event()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status.value

    # ----- reads --------------------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self.status == S.decided

    def view(self) -> rv.ReviewView:
        return rv.ReviewView(
            **self._case_view(), status=self.status, origin=self.start.origin,
            equipment_serial=self.start.equipment_serial, flags=self.start.flags,
            screened=self.start.screened, decision=self.decision, reason=self.reason,
            reason_code=rv.NO_RULE_MATCHED if self.start.screened else None,
            decided_by=self.decided_by, decided_at=self.decided_at,
            decided_on_policy=self.policy.policy_version if self.decision else None,
            event_type=self.event_type, linked_cases=self.linked_cases)

    def _spec(self, policy: CasePolicy | None = None) -> CommitmentSpec:
        section = (policy or self.policy).review
        assert section is not None
        return section.flagged if self.start.flags else section.unflagged

    def _spec_for(self, key: str, policy: CasePolicy) -> CommitmentSpec | None:
        return self._spec(policy) if key == DECISION and policy.review is not None else None

    def _urgent(self) -> bool:
        return bool(self.start.flags)

    # ----- checks beyond the rule table ---------------------------------------------------------

    def _person_refusal(self, actor: Actor, action: str) -> str | None:
        return None  # anyone in regulatory affairs may decide

    def _check_payload(self, action: str, payload: BaseModel) -> None:
        if not isinstance(payload, rv.Decide):
            return
        if payload.decision == rv.Decision.not_adverse_event:
            if not payload.reason:
                raise InvalidPayload("a decision that it is not an adverse event needs its "
                                     "reason", field="reason")
            if payload.event_type is not None:
                raise InvalidPayload("only a possibly reportable event has an event type",
                                     field="event_type")
            return
        if payload.event_type is None:
            raise InvalidPayload("a possibly reportable event needs its type, one of: "
                                 f"{', '.join(self.start.event_types)}", field="event_type")
        if payload.event_type not in self.start.event_types:
            raise InvalidPayload(f"unknown event type {payload.event_type!r}; the policy knows: "
                                 f"{', '.join(self.start.event_types) or 'none'}",
                                 field="event_type")

    # ----- the decision -------------------------------------------------------------------------

    def _decide(self, actor: Actor, p: rv.Decide) -> Outcome:
        self._decided(actor, p.decision, p.reason or None)
        self.event_type = p.event_type
        return (f"评审结论:{word('decision', p.decision)}" + (f":{p.reason}" if p.reason else ""),
                p.model_dump(mode="json", exclude_none=True), [])

    def _decided(self, actor: Actor, decision: rv.Decision, reason: str | None) -> None:
        now = workflow.now()
        self.deadlines.meet(DECISION, now)
        self._settle(now, "decided")
        self.decision, self.reason = decision, reason
        self.decided_by, self.decided_at = actor, now
        self.status = S.decided
        self.closed_at = now

    async def _open_adverse_event(self) -> None:
        """The adverse event on the reviewed case's unit, counted from that case's intake;
        anything that stops it is recorded here and told at once (never fails the review)."""
        assert self.event_type is not None and self.decided_by is not None
        origin = self.start.origin
        await self._open_linked(
            "adverse_event", OPEN_LINKED_ADVERSE_EVENT,
            LinkedAdverseEventRequest(
                review_id=self.case_id, origin_case_id=origin.case_id,
                hospital_id=self.hospital_id, equipment_serial=self.start.equipment_serial,
                event_type=self.event_type,
                description=self.reason or f"可报告性评审 {self.case_id}:"
                                           f"{word('kind', origin.kind)} {origin.case_id} "
                                           "可能需报告",
                opened_by=self.decided_by, fault_category=self.start.fault_category),
            summary="", opened=lambda case_id: f"不良事件 {case_id}:评审认为可能需报告",
            on_its_own=True)

    # ----- recording ----------------------------------------------------------------------------

    def _projection(self) -> CaseProjection:
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value, severity=None,
            hospital_id=self.hospital_id, equipment_serial=self.start.equipment_serial,
            assignee_id=self.assignee.id if self.assignee else None,
            breached=self.deadlines.breached,
            title=f"可报告性评审 {self.start.origin.case_id}",
            opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)
