"""CaseWorkflow: what every case workflow shares (the base of RepairWorkflow, ComplaintWorkflow...).

- one update, `act`, for every step: its validator checks the idempotency key, the rule of the
  action (role, status), the person, the state and the payload, and refuses with a typed error
  before anything reaches the history; the handler changes state, records, returns the view;
- one query, `state`;
- numbered timeline events, escalations and search attributes, written through activities;
- the deadline watcher over the case's `Deadlines` book.

A subclass sets `kind` and `rules`, calls `_open_case` first in its `@workflow.init`, defines a
`_<action>` handler per action returning (summary, data, notices), and `view`, `_projection`,
`closed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from caseflow.workflows import search_attributes as search
from caseflow.workflows.sla import Deadlines, revision_in_force, watch

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from caseflow.domain.cases import (
        STAFF,
        ActionRule,
        CaseAction,
        CompleteAction,
        CorrectiveAction,
        CorrectiveActionInput,
        Step,
    )
    from caseflow.domain.enums import Role
    from caseflow.domain.errors import (
        DomainError,
        InvalidPayload,
        InvalidTransition,
        NotAssignee,
        NotPermitted,
    )
    from caseflow.domain.policy import CasePolicy
    from caseflow.domain.records import (
        RECORD_CASE_EVENT,
        RECORD_ESCALATION,
        SYSTEM,
        Actor,
        CaseEvent,
        CaseProjection,
        EscalationRecord,
        NoticeRequest,
    )
    from caseflow.domain.sla import EscalationDue

ACTIVITY_TIMEOUT = timedelta(seconds=10)
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=200),
                           maximum_interval=timedelta(seconds=30))
LEVEL_NAMES = {0: "预警 warning", 1: "超时 breach (level 1)", 2: "升级 level 2", 3: "升级 level 3"}

Outcome = tuple[str, dict[str, Any], list[NoticeRequest]]


class CaseWorkflow:
    kind: ClassVar[str]
    rules: ClassVar[dict[str, ActionRule]]

    status: Any
    assignee: Actor | None
    closed_at: datetime | None

    def _open_case(self, case_id: str, policy: CasePolicy, hospital_id: str,
                   opened_by: Actor) -> None:
        self.case_id = case_id
        self.opened_by = opened_by
        self.policy = policy
        self.hospital_id = hospital_id
        self.deadlines = Deadlines(policy, revision=revision_in_force())
        self.opened_at = workflow.now()
        self.assignee = None
        self.closed_at = None
        self.steps: list[Step] = []
        self.seq = 0
        self._published: dict[str, Any] = {}
        self.request_keys: dict[str, str] = {}  # idempotency key -> hash of the request it took
        self.actions: dict[str, CorrectiveAction] = {}  # improvement actions, if the kind has any
        # Events of the intake, numbered in @workflow.init so an update that arrives before
        # run() starts cannot take an earlier number; `_live` writes them first.
        self._intake_events: list[CaseEvent] = []

    # ----- to be defined by each kind -----------------------------------------------------------

    @property
    def closed(self) -> bool:
        raise NotImplementedError

    def view(self) -> BaseModel:
        raise NotImplementedError

    def _projection(self) -> CaseProjection:
        raise NotImplementedError

    def _projected(self) -> CaseProjection:
        """The projection with the deadlines as the case page shows them."""
        running = [c for c in self.deadlines.commitments.values()
                   if c.is_open and not c.is_paused and c.due_at is not None]
        first = min(running, key=lambda c: (c.due_at, c.key), default=None)
        return self._projection().model_copy(update={
            "commitments": self.deadlines.views(workflow.now()),
            "next_due_at": first.due_at if first else None,
            "next_due_key": first.key if first else None})

    def search_attributes(self) -> dict[str, Any]:
        """The search attributes, read off the projection (so the two never disagree)."""
        p = self._projection()
        return {"CaseKind": p.kind, "HospitalId": p.hospital_id,
                "EquipmentSerial": p.equipment_serial or "", "CaseStatus": p.status,
                "Severity": p.severity or "", "AssigneeId": p.assignee_id or "",
                "SlaBreached": p.breached}

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
        return dict(
            case_id=self.case_id, opened_at=self.opened_at, closed_at=self.closed_at,
            opened_by=self.opened_by, assignee=self.assignee, breached=self.deadlines.breached,
            escalation_level=self.deadlines.escalation_level,
            commitments=self.deadlines.views(workflow.now()),
            escalations=[
                {"commitment": c.key, "label": c.label, "round": c.round, **f.model_dump()}
                for c in self.deadlines.all_rounds() for f in c.fired],
            steps=self.steps, allowed_actions=self.allowed_actions(),
            policy_version=self.policy.policy_version)

    def allowed_actions(self) -> list[str]:
        return [name for name, rule in self.rules.items()
                if self.status in rule.statuses and self._refusal(name) is None]

    # ----- the one update every step goes through -----------------------------------------------

    @workflow.update
    async def act(self, request: CaseAction) -> BaseModel:
        rule = self.rules[request.action]
        payload = rule.payload.model_validate(request.payload)
        if request.idempotency_key and request.request_hash:
            self.request_keys[request.idempotency_key] = request.request_hash
        handler = getattr(self, "_" + request.action.replace("-", "_"))
        summary, data, notices = handler(request.actor, payload)
        self.steps.append(Step(action=request.action, at=workflow.now(), by=request.actor,
                               data=payload.model_dump(mode="json")))
        await self._record(request.action, request.actor, summary, data, notices)
        return self.view()

    @act.validator
    def _validate_act(self, request: CaseAction) -> None:
        try:
            self._check(request)
        except DomainError as error:
            raise ApplicationError(error.message, {"field": error.field},
                                   type=type(error).__name__, non_retryable=True) from None

    def _check(self, request: CaseAction) -> None:
        taken = self.request_keys.get(request.idempotency_key or "")
        if taken is not None and taken != request.request_hash:
            raise InvalidPayload("already used for a different request",
                                 field="header.Idempotency-Key")
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
            f"action-{action.id}", label=f"整改 {action.id}: {action.description[:60]}", at=now,
            due_at=action.due_at, owner_id=action.owner_id)
        return NoticeRequest(to_person_id=action.owner_id,
                             subject=f"整改措施 corrective action {action.id} ({self.case_id})",
                             body=f"{action.description} (due {action.due_at.isoformat()})")

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

    # ----- deadlines ----------------------------------------------------------------------------

    async def _live(self, *alongside: Callable[[], Awaitable[None]]) -> None:
        """The life of the case: record its intake, then escalate what is due until it closes,
        running `alongside` (work the case starts on its own, e.g. paging) next to the watcher."""
        for event in self._intake_events:
            await self._write(event)
        watcher = watch(self.deadlines, closed=lambda: self.closed,
                        on_escalation=self._escalate, on_resume=self._auto_resume)
        if alongside:
            await asyncio.gather(watcher, *(work() for work in alongside))
        else:
            await watcher

    def _settle(self, at: datetime, reason: str) -> None:
        """The case ends: whatever is still open no longer binds anyone."""
        for commitment in self.deadlines.all_rounds():
            self.deadlines.waive(commitment.key, at, reason)

    async def _auto_resume(self) -> None:
        pause = self.deadlines.resume(at=workflow.now(), by=SYSTEM.id)
        await self._record("resume", SYSTEM, "恢复计时 clock resumed on the scheduled date "
                                             f"({pause.reason if pause else ''})")

    # ----- recording ----------------------------------------------------------------------------

    def _publish(self) -> None:
        """Keep the search attributes current (only what changed is upserted)."""
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
                         summary=summary, data=data or {}, projection=self._projected(),
                         notices=notices or [])

    async def _write(self, event: CaseEvent) -> None:
        self._publish()
        await workflow.execute_activity(RECORD_CASE_EVENT, event,
                                        start_to_close_timeout=ACTIVITY_TIMEOUT,
                                        retry_policy=ACTIVITY_RETRY)

    async def _record(self, event: str, actor: Actor, summary: str,
                      data: dict[str, Any] | None = None,
                      notices: list[NoticeRequest] | None = None) -> None:
        await self._write(self._event(event, actor, summary, data, notices))

    async def _escalate(self, due: EscalationDue) -> None:
        self.seq += 1
        self._publish()
        info = workflow.info()
        name = (f"提醒 reminder {-due.level}" if due.level < 0
                else LEVEL_NAMES.get(due.level, f"level {due.level}"))
        due_text = due.due_at.isoformat() if due.due_at else "?"
        owner_id = due.owner_id or (self.assignee.id if self.assignee else None)
        await workflow.execute_activity(
            RECORD_ESCALATION,
            EscalationRecord(
                case_id=self.case_id, workflow_id=info.workflow_id, run_id=info.run_id,
                seq=self.seq, commitment=due.commitment, label=due.label, round=due.round,
                level=due.level, notify=due.notify, owner=due.owner, assignee_id=owner_id,
                hospital_id=self.hospital_id, scheduled_at=due.scheduled_at,
                fired_at=due.fired_at, due_at=due.due_at,
                urgent=self._urgent_rung(due),
                summary=f"{name}: {due.label} due {due_text}",
                projection=self._projected()),
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY)
