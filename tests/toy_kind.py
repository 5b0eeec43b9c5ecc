"""A toy kind of case, declared only here: its domain (models, rules, view), its workflow on the
case base, and its registry entry `KIND`. tests/test_kind_registry.py registers it and checks
that the API, search, the worker and the console's list of kinds take it up without any other
file knowing it (docs/architecture.md "Adding a kind"). Pure, like a workflow module: the
workflow sandbox imports it afresh."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from temporalio import workflow

from caseflow.workflows.case import CaseWorkflow, Outcome

with workflow.unsafe.imports_passed_through():

    from caseflow.domain.access import Capability
    from caseflow.domain.calendar import Duration
    from caseflow.domain.cases import STAFF, CaseCarry, CaseKind, CaseStart, CaseView, Name, Payload, rule
    from caseflow.domain.policy import CasePolicy, CommitmentSpec
    from caseflow.domain.records import Actor, CaseProjection


class ToyStatus(StrEnum):
    waiting = "waiting"
    done = "done"


class ToyCreate(Payload):
    """A toy case: a hospital, a unit of it, and what to do."""

    hospital_id: Name
    equipment_serial: Name
    chore: Name


class ToyStart(CaseStart):
    case_id: str
    intake: ToyCreate
    policy: CasePolicy
    opened_by: Actor
    carried: ToyCarry | None = None

    @property
    def first_status(self) -> ToyStatus:
        return ToyStatus.waiting


class Finish(Payload):
    note: Name


class ToyView(CaseView):
    kind: Literal["toy"] = "toy"
    status: ToyStatus
    chore: str
    note: str | None = None


class ToyCarry(CaseCarry):
    status: ToyStatus
    note: str | None = None


ToyStart.model_rebuild()
TOY_ACTIONS = {"finish": rule(Finish, STAFF, {ToyStatus.waiting}, "finish the chore")}
# Its one promise, in code (the SLA policy has no section for a toy).
CHORE = CommitmentSpec(within=Duration(seconds=4 * 3600), owner="supervisor", label="chore")


@workflow.defn
class ToyWorkflow(CaseWorkflow):
    kind = "toy"
    rules = TOY_ACTIONS
    carry = ToyCarry

    @workflow.init
    def __init__(self, start: ToyStart) -> None:
        self.start = start
        if self._resumed(start.carried):
            return
        self._open_case(start.case_id, start.policy, start.intake.hospital_id, start.opened_by)
        self.status = ToyStatus.waiting
        self.note: str | None = None
        self.deadlines.start("chore", CHORE, at=self.opened_at)
        self._intake_events.append(self._event("opened", start.opened_by,
                                               f"toy: {start.intake.chore}", {}, []))

    @workflow.run
    async def run(self, start: ToyStart) -> str:
        await self._live()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.status.value

    @property
    def closed(self) -> bool:
        return self.status == ToyStatus.done

    def view(self) -> ToyView:
        return ToyView(**self._case_view(), status=self.status, chore=self.start.intake.chore,
                       note=self.note)

    def _finish(self, actor: Actor, p: Finish) -> Outcome:
        now = workflow.now()
        self.deadlines.meet("chore", now)
        self.note, self.status, self.closed_at = p.note, ToyStatus.done, now
        return f"done: {p.note}", p.model_dump(mode="json"), []

    def _projection(self) -> CaseProjection:
        return CaseProjection(
            case_id=self.case_id, kind=self.kind, status=self.status.value, severity=None,
            hospital_id=self.hospital_id, equipment_serial=self.start.intake.equipment_serial,
            assignee_id=None, breached=self.deadlines.breached,
            title=self.start.intake.chore, opened_at=self.opened_at, closed_at=self.closed_at,
            policy_version=self.policy.policy_version)


KIND = CaseKind(
    name="toy", prefix="TY", workflow="ToyWorkflow", workflow_module=__name__, view=ToyView,
    rules=TOY_ACTIONS, statuses=ToyStatus, collection="toys", intake=ToyCreate, start=ToyStart,
    open_with=Capability.open_repair, title=lambda body: body.chore,
    summary=lambda start: f"toy {start.intake.chore}", desk=True)
