"""CaseWorkflow: what every case workflow shares (the base of RepairWorkflow, ComplaintWorkflow...).

- one update, `act`, for every step: its validator checks the idempotency key, the rule of the
  action (role, status), the person, the state and the payload, and refuses with a typed error
  before anything reaches the history; the handler changes state, records, and answers with a
  small `StepResult` (the API reads the view by query);
- one query, `state`;
- numbered timeline events, escalations and search attributes, written through activities;
- the deadline watcher over the case's `Deadlines` book;
- opening a linked case (`_open_linked`): reserve its number, start its workflow as a child,
  record the link or the trouble;
- continue-as-new: a case whose history passes a bound continues as a new run carrying its
  state (`CaseCarry`), so its history stays small for its whole life.

Cases opened since the `lean-histories` patch record each step in one local activity, set the
watcher's timer again only when the next wake-up comes earlier, and continue as new; older
histories replay on the path they ran (`self.lean` False).

A subclass sets `kind`, `rules` and `carry` (its `CaseCarry`), sets `self.start` and returns
early from its `@workflow.init` when `_resumed` restores a continued case, else calls
`_open_case`; it defines a `_<action>` handler per action returning (summary, data, notices),
and `view`, `_projection`, `closed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

from caseflow.workflows.sla import REVISION, Deadlines, revision_in_force, watch, watch_lean

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain import migration as m
    from caseflow.domain import search_attributes as search
    from caseflow.domain.cases import (
        OPENED_LEAN,
        REVIEWS_AND_GROUPS,
        RUNGS_BY_TIMER,
        STAFF,
        ActionRule,
        CaseAction,
        CaseCarry,
        CompleteAction,
        CorrectiveAction,
        CorrectiveActionInput,
        LinkedCase,
        RequestKey,
        Step,
        StepResult,
    )
    from caseflow.domain.enums import Role
    from caseflow.domain.errors import (
        DomainError,
        InvalidPayload,
        InvalidTransition,
        NotAssignee,
        NotPermitted,
    )
    from caseflow.domain.kinds import KINDS
    from caseflow.domain.migration import PolicyMigration
    from caseflow.domain.policy import SECTION_OF, CasePolicy, CommitmentSpec
    from caseflow.domain.records import (
        OPEN_LINKED_REVIEW,
        RECORD_CASE_EVENT,
        RECORD_CASE_EVENTS,
        RECORD_ESCALATION,
        SYSTEM,
        Actor,
        CaseEvent,
        CaseEvents,
        CaseProjection,
        EscalationRecord,
        NoticeRequest,
        OpenedCase,
    )
    from caseflow.domain.review import LinkedReviewRequest, ReviewFacts, ReviewOrigin
    from caseflow.domain.sla import EscalationDue, escalations_of
    from caseflow.domain.words import commitment_word, local_text, word

ACTIVITY_TIMEOUT = timedelta(seconds=10)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200),
                           maximum_interval=timedelta(seconds=30))
# The rungs as the plain zh-CN summary (logs, exports) names them; readers get them worded
# from the event's code and data (console) or the notice's template (domain/notices.py).
# Cases opened under this patch are lean (docs/architecture.md "Lean case histories"); the
# patches before it (the deadline revisions, each kind's own) are all in force for them.
LEAN_PATCH = "lean-histories"
# Lean cases opened since this patch escalate a rung only when the watcher's timer fires
# (sla.watch_lean `by_timer`; docs/architecture.md "The watcher escalates by its timer").
RUNGS_BY_TIMER_PATCH = "sla-rungs-by-timer"
# A run continues as new once its history passes either bound (or Temporal suggests it), far
# below Temporal's warnings (10,240 events, 10 MB).
MAX_EVENTS = 1_000
MAX_BYTES = 512 * 1024
KEEP_STEPS = 50  # steps a continued case repeats in its view (all are on the timeline)
KEEP_KEYS = 200  # request keys it remembers (a client's retry comes within minutes)
# A complaint (at intake), a patient-safety emergency (at intake) and a repair (at its close)
# open their reportability review (histories before this patch did not).
REVIEW_PATCH = "reportability-review"

Outcome = tuple[str, dict[str, Any], list[NoticeRequest]]


class CaseWorkflow:
    kind: ClassVar[str]
    rules: ClassVar[dict[str, ActionRule]]
    carry: ClassVar[type[CaseCarry]]

    start: Any
    status: Any
    assignee: Actor | None
    closed_at: datetime | None
    linked_cases: list[LinkedCase]  # the cases this one opened (a kind that opens any)

    def _open_case(self, case_id: str, policy: CasePolicy, hospital_id: str,
                   opened_by: Actor) -> None:
        self._begin(case_id, policy, opened_by, lean=self._since(OPENED_LEAN, LEAN_PATCH))
        self.hospital_id = hospital_id
        self.deadlines = Deadlines(policy, revision=REVISION if self.lean
                                   else revision_in_force())
        self.opened_at = workflow.now()
        self.assignee = None
        self.closed_at = None
        self.steps: list[Step] = []
        self.earlier_steps = 0
        self.seq = 0
        self.run_number = 1  # this run's place among the case's runs
        self.request_keys: dict[str, RequestKey] = {}
        self.actions: dict[str, CorrectiveAction] = {}  # improvement actions, if the kind has any
        self.migrations: list[str] = []  # the policy migrations that moved it
        self.review_asked = False  # its reportability review was asked for (REVIEW_PATCH)

    def _begin(self, case_id: str, policy: CasePolicy, opened_by: Actor, lean: bool) -> None:
        self.case_id = case_id
        self.opened_by = opened_by
        self.policy = policy
        self.lean = lean
        self._busy = 0  # work in flight that a continue-as-new must wait for
        # Events of the intake, numbered in @workflow.init so an update that arrives before
        # run() starts cannot take an earlier number; `_live` writes them first.
        self._intake_events: list[CaseEvent] = []
        # What the search attributes are known to hold: a lean case starts from those it was
        # started with (a new run: those its last run left), so it upserts only what differs.
        self._published: dict[str, Any] = self._started_with() if lean else {}

    def _resumed(self, carried: CaseCarry | None) -> bool:
        """Restore a case that continued as new from what its last run carried (True); False
        for a new case (the caller opens it)."""
        if carried is None:
            return False
        self._begin(self.start.case_id, self.start.policy, self.start.opened_by, lean=True)
        for name in type(carried).model_fields:
            if name != "book":
                setattr(self, name, getattr(carried, name))
        self.deadlines = Deadlines.restore(self.policy, carried.book)
        return True

    def _since(self, version: int, patch_id: str) -> bool:
        """Whether the behaviour behind `patch_id`, which came with code `version`, is in force:
        always for a case opened by that code or later (its input says so, and no marker is
        recorded), else as its history says (a new case of older inputs records the marker)."""
        return self.start.version >= version or workflow.patched(patch_id)

    def _patched(self, patch_id: str) -> bool:
        """Whether a behaviour behind `patch_id` is in force: always for a lean case (opened
        after it), else as the history says."""
        return self.lean or workflow.patched(patch_id)

    @staticmethod
    def _started_with() -> dict[str, Any]:
        found = workflow.info().typed_search_attributes
        return {name: found.get(key) if found.get(key) is not None
                else (False if name == "SlaBreached" else "")
                for name, key in search.KEYS.items()}

    # ----- to be defined by each kind -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def view(self) -> BaseModel:
        raise NotImplementedError

    def _projection(self) -> CaseProjection:
        raise NotImplementedError

    def _next_due(self) -> Any:
        """The open, running commitment due first (None: nothing is running)."""
        running = [c for c in self.deadlines.commitments.values()
                   if c.is_open and not c.is_paused and c.due_at is not None]
        return min(running, key=lambda c: (c.due_at, c.key), default=None)

    def _projected(self) -> CaseProjection:
        """The projection with the deadlines that changed since the last record."""
        first = self._next_due()
        return self._projection().model_copy(update={
            "commitments": self.deadlines.report(workflow.now()),
            "next_due_at": first.due_at if first else None,
            "next_due_key": first.key if first else None})

    def search_attributes(self) -> dict[str, Any]:
        """The search attributes, read off the projection (so the two never disagree)."""
        p = self._projection()
        return search.values(p.kind, p.status, p.hospital_id, p.equipment_serial, p.severity,
                             p.assignee_id, p.breached)

    def _refusal(self, action: str) -> str | None:
        """Why `action` is not allowed now beyond the status table, if so."""
        return None

    def _check_payload(self, action: str, payload: BaseModel) -> None:
        """Rules on the payload that depend on the case's state (raise InvalidPayload)."""

    def _check_person(self, request: CaseAction, payload: BaseModel) -> None:
        """A reported improvement action must be the person's own (staff report any); then the
        refusal `allowed_for` answers with, so the buttons offered and the validator agree."""
        self._check_action_owner(request, payload)
        refusal = self._person_refusal(request.actor, request.action)
        if refusal is not None:
            raise NotAssignee(refusal)

    def _person_refusal(self, actor: Actor, action: str) -> str | None:
        """Why this person may not take `action` on this case whatever its payload (None: they
        may): an engineer acts only on a case assigned to them."""
        if actor.role == Role.engineer and (self.assignee is None or self.assignee.id != actor.id):
            return f"{action}: case {self.case_id} is not assigned to you"
        return None

    def _owner_refusal(self, actor: Actor) -> str | None:
        """An improvement action is reported by staff, or by someone who owns an open one."""
        if actor.role in STAFF or any(a.owner_id == actor.id for a in self._open_actions()):
            return None
        return f"you own no open improvement action of {self.case_id}"

    def _urgent(self) -> bool:
        """Whether breaches of this case go out at once, day or night."""
        return False

    def _urgent_rung(self, due: EscalationDue) -> bool:
        """Whether this rung goes out at once (else in its recipient's working hours)."""
        return due.level >= 1 and self._urgent()

    # ----- reads --------------------------------------------------------------------------------

    @workflow.query
    def state(self) -> BaseModel:
        return self.view()

    @workflow.query
    def allowed_for(self, actor: Actor) -> list[str]:
        """The actions this person may take now: allowed in the case's state, to their role,
        and to them (what the validator checks before it looks at a payload)."""
        return [name for name in self.allowed_actions()
                if actor.role in self.rules[name].roles
                and self._person_refusal(actor, name) is None]

    def _case_view(self) -> dict[str, Any]:
        """The fields of `CaseView`, for a kind's view."""
        commitments = self.deadlines.views(workflow.now())
        return dict(
            case_id=self.case_id, opened_at=self.opened_at, closed_at=self.closed_at,
            opened_by=self.opened_by, assignee=self.assignee, breached=self.deadlines.breached,
            escalation_level=self.deadlines.escalation_level,
            commitments=commitments,
            escalations=escalations_of(commitments),
            steps=self.steps, earlier_steps=self.earlier_steps,
            allowed_actions=self.allowed_actions(), policy_version=self.policy.policy_version,
            run=self.run_number)

    def allowed_actions(self) -> list[str]:
        return [name for name, rule in self.rules.items()
                if self.status in rule.statuses and self._refusal(name) is None]

    # ----- the one update every step goes through -----------------------------------------------

    @workflow.update
    async def act(self, request: CaseAction) -> StepResult:
        taken = self.request_keys.get(request.idempotency_key or "")
        if taken is not None:  # taken by an earlier run of this case: the same answer again
            return taken.result
        rule = self.rules[request.action]
        payload = rule.payload.model_validate(request.payload)
        handler = getattr(self, "_" + request.action.replace("-", "_"))
        summary, data, notices = handler(request.actor, payload)
        self.steps.append(Step(action=request.action, at=workflow.now(), by=request.actor,
                               data=payload.model_dump(mode="json")))
        event = self._event(request.action, request.actor, summary, data, notices)
        result = StepResult(case_id=self.case_id, action=request.action, seq=event.seq,
                            status=str(getattr(self.status, "value", self.status)))
        if request.idempotency_key and request.request_hash:
            self.request_keys[request.idempotency_key] = RequestKey(hash=request.request_hash,
                                                                    result=result)
        await self._write([event])
        return result

    @act.validator
    def _validate_act(self, request: CaseAction) -> None:
        try:
            self._check(request)
        except DomainError as error:
            raise ApplicationError(error.message, {"field": error.field},
                                   type=type(error).__name__, non_retryable=True) from None

    def _check(self, request: CaseAction) -> None:
        taken = self.request_keys.get(request.idempotency_key or "")
        if taken is not None:
            if taken.hash != request.request_hash:
                raise InvalidPayload("already used for a different request",
                                     field="header.Idempotency-Key")
            return  # the same step, taken by an earlier run of this case: answered again
        rule = self.rules.get(request.action)
        if rule is None:
            raise InvalidPayload(f"unknown action {request.action!r}", field="action")
        role = request.actor.role
        if role not in rule.roles:
            allowed = ", ".join(sorted(x.value for x in rule.roles))
            raise NotPermitted(f"role {role} may not {request.action}; allowed: {allowed}")
        payload = rule.parse(request.payload)
        self._check_person(request, payload)
        if self.status not in rule.statuses:
            raise InvalidTransition(
                f"cannot {request.action} while the case is {self.status.value}; "
                f"allowed now: {', '.join(self.allowed_actions()) or 'nothing'}")
        refusal = self._refusal(request.action)
        if refusal is not None:
            raise InvalidTransition(refusal)
        self._check_payload(request.action, payload)

    # ----- improvement actions, each with an owner and a due date of its own --------------------

    def _open_actions(self) -> list[CorrectiveAction]:
        return [a for a in self.actions.values() if a.done_at is None]

    def _track_action(self, item: CorrectiveActionInput, now: datetime) -> NoticeRequest:
        """Track one action on its own deadline (it warns and escalates); tell its owner."""
        action = CorrectiveAction(
            id=f"A{len(self.actions) + 1}", description=item.description, owner_id=item.owner_id,
            owner_name=item.owner_name or item.owner_id, due_at=item.due_at, added_at=now)
        self.actions[action.id] = action
        self.deadlines.start_until(
            f"action-{action.id}", label=f"整改 {action.id}:{action.description[:60]}", at=now,
            due_at=action.due_at, owner_id=action.owner_id)
        return NoticeRequest(to_person_id=action.owner_id, template="corrective-action",
                             params={"case_id": self.case_id, "action_id": action.id,
                                     "text": action.description,
                                     "due_at": action.due_at.isoformat()})

    def _finish_action(self, p: CompleteAction, now: datetime) -> CorrectiveAction:
        action = self.actions[p.action_id]
        action.done_at, action.result, action.evidence = now, p.result, list(p.evidence)
        self.deadlines.meet(f"action-{action.id}", now)
        return action

    def _check_action_owner(self, request: CaseAction, payload: BaseModel) -> None:
        """An improvement action is reported by staff, or by its own owner."""
        if isinstance(payload, CompleteAction) and request.actor.role not in STAFF:
            action = self.actions.get(payload.action_id)
            if action is not None and action.owner_id != request.actor.id:
                raise NotAssignee(f"corrective action {action.id} is owned by {action.owner_name}")

    def _check_action_payload(self, payload: BaseModel, now: datetime) -> None:
        """Due dates in the future; a reported action exists and is not done yet."""
        items = getattr(payload, "actions", None)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, CorrectiveActionInput) and item.due_at <= now:
                    raise InvalidPayload("must be in the future", field=f"actions.{index}.due_at")
        if isinstance(payload, CorrectiveActionInput) and payload.due_at <= now:
            raise InvalidPayload("must be in the future", field="due_at")
        if isinstance(payload, CompleteAction):
            found = self.actions.get(payload.action_id)
            if found is None:
                raise InvalidPayload(f"no corrective action {payload.action_id!r}; "
                                     f"known: {', '.join(self.actions)}", field="action_id")
            if found.done_at is not None:
                raise InvalidTransition(f"corrective action {found.id} is already done")

    # ----- moving to another policy (docs/sla-policy.md "Changing the policy of open cases") ----

    def _spec_for(self, key: str, policy: CasePolicy) -> CommitmentSpec | None:
        """The spec of commitment `key` under `policy` (None: its due time was set by a
        person). A kind whose specs depend on its state (a repair's severity) overrides it."""
        spec = getattr(getattr(policy, self.kind, None), key, None)
        return spec if isinstance(spec, CommitmentSpec) else None

    def _adopt(self, policy: CasePolicy) -> None:
        """Read the kind's commitments from `policy` from now on (a kind that keeps them under
        another name overrides it)."""
        self.commitments = getattr(policy, self.kind)

    def _why_not_move(self, request: PolicyMigration) -> tuple[str, str] | None:
        """(code, detail) if this case is left alone, else None."""
        if request.migration_id in self.migrations:
            return m.MIGRATED_BEFORE, f"moved by migration {request.migration_id} already"
        if self.closed:
            return m.CLOSED, f"{self.case_id} is closed"
        if self.policy.policy_version == request.policy.policy_version:
            return m.SAME_POLICY, f"on policy {self.policy.policy_version} already"
        if self.policy.policy_version != request.expected_version:
            return m.POLICY_CHANGED, (f"on policy {self.policy.policy_version} now, "
                                      f"{request.expected_version} at the preview")
        if getattr(request.policy, SECTION_OF.get(self.kind, self.kind), None) is None:
            return m.NO_SECTION, f"the policy has no {self.kind} commitments"
        try:
            self.deadlines.copy().move_to(request.policy,
                                          lambda key: self._spec_for(key, request.policy),
                                          workflow.now())
        except KeyError as missing:
            return m.CALENDAR_MISSING, f"calendar {missing} is not in the policy"
        return None

    @workflow.query
    def preview_policy(self, policy: CasePolicy) -> m.CasePreview:
        """What moving to `policy` would change (nothing changes)."""
        preview = m.CasePreview(case_id=self.case_id, kind=self.kind,
                                contract_code=self.policy.contract_code,
                                from_version=self.policy.policy_version,
                                to_version=policy.policy_version)
        why = self._why_not_move(PolicyMigration(
            migration_id="", policy=policy, expected_version=self.policy.policy_version,
            reason="", actor=SYSTEM))
        if why is not None:
            preview.left_alone, preview.detail = why
            return preview
        preview.moves = self.deadlines.copy().move_to(
            policy, lambda key: self._spec_for(key, policy), workflow.now())
        return preview

    @workflow.update
    async def migrate_policy(self, request: PolicyMigration) -> m.MigrationOutcome:
        """Move the case to another policy: recorded on its timeline with who, when, why and
        both versions; each migration moves it once."""
        before = self.policy.policy_version
        moves = self.deadlines.move_to(request.policy,
                                       lambda key: self._spec_for(key, request.policy),
                                       workflow.now())
        self.policy = request.policy
        self.start = self.start.model_copy(update={"policy": request.policy})
        self._adopt(request.policy)
        self.migrations.append(request.migration_id)
        data = {"migration_id": request.migration_id, "reason": request.reason,
                "from_version": before, "to_version": request.policy.policy_version,
                "moves": [move.model_dump(mode="json") for move in moves]}
        await self._record("policy_migrated", request.actor,
                           f"政策迁移 {before} -> {request.policy.policy_version}:"
                           f"{request.reason}", data)
        return m.MigrationOutcome(case_id=self.case_id, status="migrated", from_version=before,
                                  to_version=request.policy.policy_version, moved=len(moves))

    @migrate_policy.validator
    def _validate_migration(self, request: PolicyMigration) -> None:
        why = self._why_not_move(request)
        if why is not None:
            raise ApplicationError(why[1], {"code": why[0]}, type="LeftAlone",
                                   non_retryable=True)

    # ----- deadlines ----------------------------------------------------------------------------

    async def _live(self, *alongside: Callable[[], Awaitable[None]]) -> None:
        """The life of the case: record its intake, then escalate what is due until it closes,
        running `alongside` (work the case starts on its own, e.g. paging) next to the watcher.
        A lean case whose history passes its bound continues as new from here (it does not
        return): once no step, no record and no work alongside is in flight."""
        self._show_details()  # a continued run too, before its first step
        if self._intake_events:
            await self._write(self._intake_events)
            self._intake_events = []
        if not self.lean:
            watcher = watch(self.deadlines, closed=lambda: self.closed,
                            on_escalation=self._escalate, on_resume=self._auto_resume)
            await asyncio.gather(watcher, *(work() for work in alongside))
            return
        by_timer = self._since(RUNGS_BY_TIMER, RUNGS_BY_TIMER_PATCH)
        work = [asyncio.ensure_future(task()) for task in alongside]
        await watch_lean(self.deadlines, stop=lambda: self.closed or self._continuing(),
                         on_escalation=self._escalate, on_resume=self._auto_resume,
                         by_timer=by_timer)
        if not self.closed:
            await workflow.wait_condition(
                lambda: self.closed or (self._busy == 0 and workflow.all_handlers_finished()))
            if not self.closed:
                workflow.continue_as_new(self.start.model_copy(update={"carried": self._carry()}))
        await asyncio.gather(*work)

    @staticmethod
    def _continuing() -> bool:
        """Whether this run's history is past its bound (or Temporal suggests a new run)."""
        info = workflow.info()
        return (info.is_continue_as_new_suggested()
                or info.get_current_history_length() >= MAX_EVENTS
                or info.get_current_history_size() >= MAX_BYTES)

    def _carry(self) -> CaseCarry:
        """The state the next run starts from (`carry`'s fields, read off this workflow)."""
        self._trim()
        fields = {name: getattr(self, name) for name in self.carry.model_fields if name != "book"}
        fields["book"] = self.deadlines.carry()
        fields["run_number"] = self.run_number + 1
        fields["request_keys"] = dict(list(self.request_keys.items())[-KEEP_KEYS:])
        return self.carry.model_validate(fields)

    def _trim(self) -> None:
        """Keep the view of a continued case short: older steps stay on the timeline only. A
        kind trims its own long lists the same way."""
        self.steps, self.earlier_steps = keep_last(self.steps, KEEP_STEPS, self.earlier_steps)

    def _settle(self, at: datetime, reason: str) -> None:
        """The case ends: whatever is still open no longer binds anyone (a lean case's earlier
        rounds are final already: a missed page stays on record as missed)."""
        rounds = self.deadlines.commitments.values() if self.lean else self.deadlines.all_rounds()
        for commitment in list(rounds):
            self.deadlines.waive(commitment.key, at, reason)

    async def _auto_resume(self) -> None:
        pause = self.deadlines.resume(at=workflow.now(), by=SYSTEM.id)
        await self._record("resume", SYSTEM, "到期自动恢复计时"
                                             f"({word('pause_reason', pause.reason) if pause else ''})")

    # ----- cases this one opens -----------------------------------------------------------------

    async def _open_linked(
        self, kind: str, reserve: str, request: BaseModel, summary: str,
        opened: Callable[[str], str], result_type: type | None = None, *,
        on_its_own: bool = False,
    ) -> tuple[Any, ChildWorkflowHandle[Any, Any] | None, LinkedCase] | None:
        """Open a case of `kind` linked to this one, the one way every kind does it.

        The activity `reserve` reserves its number, keyed by this case (a retried activity
        finds the same number), and builds its start input (the kind's `start` model in the
        registry); its workflow (the kind's `workflow`) starts as a child that lives on its own
        (ParentClosePolicy.ABANDON), on this case's hospital and unit, with the search
        attributes of its first state; the link is kept in `linked_cases` and recorded
        (`<kind>-opened`, worded by `opened` from its number). A replayed workflow issues no
        second start. Anything that stops it from opening is recorded (`<kind>-not-opened`)
        and sent to the supervisors, never left to fail this case: then None. A
        continue-as-new waits until it is opened and recorded.

        `on_its_own`: the (local) activity also starts the workflow (REJECT_DUPLICATE +
        USE_EXISTING, as the API does) and answers only its number (`OpenedCase`): no child, so
        neither case waits for or outlives the other's run (a reportability review,
        docs/architecture.md), and this history holds a marker with the number, not the start
        input."""
        self._busy += 1
        try:
            try:
                if on_its_own:  # a local activity: a marker, not three events and a task
                    started = await workflow.execute_local_activity(
                        reserve, request, result_type=OpenedCase,
                        start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY)
                    return started, None, await self._linked(kind, started.case_id, opened)
                start = await workflow.execute_activity(
                    reserve, request, result_type=KINDS[kind].start,
                    start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY)
                here = self._projection()
                child = await workflow.start_child_workflow(
                    KINDS[kind].workflow, start, id=start.case_id, result_type=result_type,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    parent_close_policy=ParentClosePolicy.ABANDON,
                    search_attributes=search.at_start(kind, start, here.hospital_id,
                                                      here.equipment_serial),
                    static_summary=summary)
            except (ActivityError, WorkflowAlreadyStartedError) as error:
                await self._link_trouble(f"{kind}-not-opened", error, to=KINDS[kind].troubles_to)
                return None
            return start, child, await self._linked(kind, start.case_id, opened)
        finally:
            self._busy -= 1

    async def _linked(self, kind: str, case_id: str, opened: Callable[[str], str]) -> LinkedCase:
        """Keep and record the link to a case this one opened."""
        link = LinkedCase(case_id=case_id, kind=kind, relation=kind, status="open",
                          opened_at=workflow.now())
        self.linked_cases.append(link)
        await self._record(f"{kind}-opened", SYSTEM, opened(case_id), {f"{kind}_id": case_id})
        return link

    async def _ask_review(self, facts: ReviewFacts) -> None:
        """Open this case's reportability review (docs/regulatory.md), once: the activity
        screens the case by the rules of the policy in force, reserves the review and starts
        it on its own (this case neither waits for it nor ends it)."""
        self.review_asked = True
        await self._open_linked(
            "review", OPEN_LINKED_REVIEW,
            LinkedReviewRequest(
                origin=ReviewOrigin(case_id=self.case_id, kind=self.kind,
                                    opened_at=self.opened_at),
                hospital_id=self.hospital_id,
                equipment_serial=self._projection().equipment_serial, facts=facts),
            summary="", opened=lambda case_id: f"可报告性评审 {case_id}", on_its_own=True)

    def _reviewing(self) -> bool:
        """Whether this run asks for the case's review (not yet asked by an earlier run). A case
        opened by code of REVIEWS_AND_GROUPS or later asks without a patch marker; an older one
        asks the patch: a history made before it replays without a review, and a case still
        running when this code arrives is reviewed at its next point that asks (a complaint's or
        emergency's next run, a repair's close)."""
        return not self.review_asked and self._since(REVIEWS_AND_GROUPS, REVIEW_PATCH)

    async def _link_trouble(self, event: str, error: Exception, detail: str = "",
                            to: Role = Role.supervisor) -> None:
        """Record what went wrong with a linked case (the event's words, `detail` after them),
        and tell `to` at once."""
        cause = error.cause if error.cause is not None else error
        said = word("event", event) + (f" {detail}" if detail else "")
        await self._record(event, SYSTEM, f"{said}:{cause}", {"error": str(cause)}, [
            NoticeRequest(to_role=to, urgent=True, template="link-trouble",
                          params={"case_id": self.case_id, "event": event, "text": str(cause)})])

    # ----- recording ----------------------------------------------------------------------------

    def _show_details(self) -> None:
        """What the Temporal UI shows as the case's current details (its summary is the
        start's static summary): status, severity, assignee, the next deadline, whether it is
        breached. The worker keeps them in memory and answers the UI's metadata query with
        them: no command and no history event, so they cost a case's history nothing."""
        p, first = self._projection(), self._next_due()
        severity = f" · **严重度** {word('severity', p.severity)}" if p.severity else ""
        lines = [f"**状态** {word('status', p.status)}{severity}",
                 f"**负责人** {self.assignee.name}" if self.assignee else "**负责人** 未指派"]
        if first is not None:
            lines.append(f"**下一期限** {commitment_word(first.key, default=first.label)} "
                         f"{local_text(first.due_at)}")
        if p.breached:
            lines.append(f"**已超时** 升级第 {self.deadlines.escalation_level} 级")
        workflow.set_current_details("\n".join(lines))

    def _publish(self) -> None:
        """Keep the search attributes and the Temporal UI's details current (only the
        attributes that changed are upserted)."""
        self._show_details()
        values = self.search_attributes()
        changed = [search.KEYS[name].value_set(value) for name, value in values.items()
                   if self._published.get(name) != value]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published = values

    def _event(self, event: str, actor: Actor, summary: str, data: dict[str, Any] | None = None,
               notices: list[NoticeRequest] | None = None) -> CaseEvent:
        """The next timeline event, numbered now so the timeline keeps the order of the steps."""
        self.seq += 1
        info = workflow.info()
        return CaseEvent(case_id=self.case_id, workflow_id=info.workflow_id, run_id=info.run_id,
                         seq=self.seq, event=event, at=workflow.now(), actor=actor,
                         summary=summary, data=data or {}, notices=notices or [])

    async def _write(self, events: list[CaseEvent]) -> None:
        """Record events: a lean case in one local activity (one transaction) with the
        projection after them; an older one an activity per event, as it always did."""
        if self.lean:
            self._publish()
            await self._activity(RECORD_CASE_EVENTS,
                                 CaseEvents(events=events, projection=self._projected()))
            return
        for event in events:
            self._publish()
            await self._activity(RECORD_CASE_EVENT,
                                 event.model_copy(update={"projection": self._projected()}))

    async def _record(self, event: str, actor: Actor, summary: str,
                      data: dict[str, Any] | None = None,
                      notices: list[NoticeRequest] | None = None) -> None:
        await self._write([self._event(event, actor, summary, data, notices)])

    async def _activity(self, name: str, arg: Any, result_type: type | None = None) -> Any:
        """Run one of the case's own activities (records, look-ups): local for a lean case
        (a marker in the history instead of three events and a round trip), else as before."""
        if self.lean:
            return await workflow.execute_local_activity(
                name, arg, result_type=result_type, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=ACTIVITY_RETRY)
        return await workflow.execute_activity(name, arg, result_type=result_type,
                                               start_to_close_timeout=ACTIVITY_TIMEOUT,
                                               retry_policy=ACTIVITY_RETRY)

    async def _escalate(self, due: EscalationDue) -> None:
        self.seq += 1
        self._publish()
        info = workflow.info()
        name = (f"提醒 {-due.level}" if due.level < 0
                else word("level", due.level, default=f"升级第 {due.level} 级"))
        due_text = local_text(due.due_at) if due.due_at else "?"
        owner_id = due.owner_id or (self.assignee.id if self.assignee else None)
        await self._activity(
            RECORD_ESCALATION,
            EscalationRecord(
                case_id=self.case_id, workflow_id=info.workflow_id, run_id=info.run_id,
                seq=self.seq, commitment=due.commitment, label=due.label, round=due.round,
                level=due.level, notify=due.notify, owner=due.owner, assignee_id=owner_id,
                hospital_id=self.hospital_id, scheduled_at=due.scheduled_at,
                fired_at=due.fired_at, due_at=due.due_at,
                urgent=self._urgent_rung(due),
                summary=(f"{name}:{commitment_word(due.commitment, default=due.label)},"
                         f"应于 {due_text} 完成"),
                projection=self._projected()))


def keep_last(items: list[Any], keep: int, before: int) -> tuple[list[Any], int]:
    """The last `keep` of `items`, and how many came before them (`before` + those left out)."""
    left_out = max(len(items) - keep, 0)
    return items[left_out:], before + left_out
