"""Preventive maintenance on the time-skipping test server: a unit's plan opens a visit on each
due date across a year of skipped time (continuing as new on the way), pauses, resumes and
ends with reasons; an overdue visit escalates on the shared deadline machinery; a visit's
finding that needs a repair opens one linked repair. Checked in the workflows' views and in
PostgreSQL (cases, equipment status, escalations).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from caseflow.domain.cases import CODE_VERSION
from caseflow.domain.maintenance import PlanStart, PlanView, VisitStart, VisitView, opens_at
from caseflow.domain.records import SYSTEM, Actor
from caseflow.domain.repair import RepairView
from caseflow.store import directory
from caseflow.store.models import Case, CaseEventRow, Equipment, Escalation, Notification
from caseflow.workflows.maintenance import MaintenanceVisitWorkflow
from caseflow.workflows.maintenance_plan import MaintenancePlanWorkflow
from tests.case_driver import CaseDriver
from tests.installation_driver import CONTRACT, ENGINEER, HOTLINE, SUPERVISOR
from tests.test_deadlines import advance_to
from tests.waiting import until

DAY = timedelta(days=1)
PROMPT = timedelta(seconds=5)
TZ = "Asia/Shanghai"


class VisitDriver(CaseDriver):
    view = VisitView


class PlanDriver(CaseDriver):
    view = PlanView


def new_unit(sessions, today: date) -> str:  # type: ignore[no-untyped-def]
    """A CT unit of H-DH in service since `today`, under the hospital's contract."""
    serial = f"CT-M{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Equipment(serial=serial, hospital_id="H-DH", contract_code=CONTRACT,
                              modality="CT", brand="GE", model="Revolution CT",
                              department="放射科", install_date=today, warranty_start=today,
                              warranty_end=today + 730 * DAY, status="in_service"))
    return serial


async def start_plan(env: WorkflowEnvironment, queue: str, sessions,  # type: ignore[no-untyped-def]
                     interval: int = 90, ends_on: date | None = None,
                     ) -> tuple[WorkflowHandle, PlanStart]:
    today = (await env.get_current_time()).astimezone().date()
    serial = new_unit(sessions, today)
    start = PlanStart(serial=serial, hospital_id="H-DH", interval_days=interval,
                      first_due=today + interval * DAY, timezone=TZ, opened_by=SYSTEM,
                      ends_on=ends_on)
    handle = await env.client.start_workflow(MaintenancePlanWorkflow.run, start,
                                             id=f"PM-{serial}", task_queue=queue)
    return handle, start


async def plan_state(handle: WorkflowHandle) -> PlanView:
    return await handle.query("state", result_type=PlanView)


async def change(handle: WorkflowHandle, what: str, actor: Actor = SUPERVISOR,
                 reason: str = "设备停机大修") -> PlanView:
    return await handle.execute_update("change", {"change": what, "reason": reason,
                                                  "actor": actor.model_dump()},
                                       result_type=PlanView)


def status_of(sessions, serial: str) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        unit = session.get(Equipment, serial)
        assert unit is not None
        return unit.status, unit.status_reason


async def open_visit(env: WorkflowEnvironment, queue: str, sessions, policy_book,  # type: ignore[no-untyped-def]
                     serial: str | None = None) -> VisitDriver:
    """A visit of a new unit; with `serial`, of a unit by that serial the register does not
    know (the visit's snapshot is the new unit's, under that serial)."""
    now = await env.get_current_time()
    with sessions() as session:
        found = directory.equipment(session, new_unit(sessions, now.date()))
        assert found is not None
        snapshot = directory.snapshot(*found)
    if serial is not None:
        snapshot = snapshot.model_copy(update={"serial": serial})
    case_id = f"TV-{uuid.uuid4().hex[:12]}"
    start = VisitStart(case_id=case_id, equipment=snapshot, due_on=now.date(),
                       plan_id=f"PM-{serial}", policy=policy_book.pin(CONTRACT, now, "maintenance"),
                       opened_by=SYSTEM, version=CODE_VERSION)
    handle = await env.client.start_workflow(MaintenanceVisitWorkflow.run, start, id=case_id,
                                             task_queue=queue)
    return VisitDriver(env, handle)


async def test_the_plan_opens_a_visit_on_each_due_date_across_a_year(private_env, sessions):
    env, queue = private_env
    handle, start = await start_plan(env, queue, sessions)
    plan = await plan_state(handle)
    assert plan.next_due == start.first_due
    assert plan.upcoming == [start.first_due + 90 * DAY * n for n in range(4)]
    first_run = (await handle.describe()).run_id
    for n in range(5):  # five due dates: a year and a quarter, continuing as new after four
        due = start.first_due + 90 * DAY * n
        await advance_to(env, opens_at(due, TZ) + PROMPT)
        for _ in range(100):
            plan = await plan_state(env.client.get_workflow_handle(handle.id))
            if len(plan.visits) == n + 1:
                break
            await asyncio.sleep(0.05)
        visit = plan.visits[n]
        assert visit.due_on == due and visit.case_id is not None, plan.visits
        assert visit.opened_at is not None
        assert timedelta(0) <= visit.opened_at - opens_at(due, TZ) < PROMPT, "on time"
        assert plan.next_due == due + 90 * DAY
    assert (await env.client.get_workflow_handle(handle.id).describe()).run_id != first_run
    with sessions() as session:
        rows = list(session.scalars(select(Case).where(Case.kind == "maintenance",
                                                       Case.equipment_serial == start.serial)))
    assert sorted(r.case_id for r in rows) == sorted(v.case_id for v in plan.visits)
    assert all(r.case_id and r.case_id.startswith("MV-") for r in rows)
    opened = VisitDriver(env, env.client.get_workflow_handle(plan.visits[0].case_id or ""))
    view = await opened.state()
    assert view.due_on == start.first_due and view.plan_id == handle.id
    await change(env.client.get_workflow_handle(handle.id), "end", reason="测试结束")


async def test_a_paused_plan_skips_its_due_dates_resumes_and_ends_with_reasons(private_env,
                                                                               sessions):
    env, queue = private_env
    handle, start = await start_plan(env, queue, sessions, interval=30)
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await change(handle, "resume")
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "InvalidTransition"
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await change(handle, "pause", actor=ENGINEER)
    assert caught.value.cause.type == "NotPermitted"  # type: ignore[union-attr]
    plan = await change(handle, "pause", reason="球管更换,停机两个月")
    assert plan.status == "paused"
    assert status_of(sessions, start.serial) == ("out_of_service", "球管更换,停机两个月 (李强)")
    await advance_to(env, opens_at(start.first_due, TZ) + PROMPT)
    for _ in range(100):
        plan = await plan_state(handle)
        if plan.visits:
            break
        await asyncio.sleep(0.05)
    assert [(v.due_on, v.case_id) for v in plan.visits] == [(start.first_due, None)]
    assert (plan.visits[0].note_code, plan.visits[0].note) == ("paused", ""), "a code, no text"
    plan = await change(handle, "resume", reason="设备恢复使用")
    assert plan.status == "active" and status_of(sessions, start.serial)[0] == "in_service"
    second = start.first_due + 30 * DAY
    await advance_to(env, opens_at(second, TZ) + PROMPT)
    for _ in range(100):
        plan = await plan_state(handle)
        if len(plan.visits) == 2:
            break
        await asyncio.sleep(0.05)
    assert plan.visits[1].due_on == second and plan.visits[1].case_id is not None
    plan = await change(handle, "end", reason="设备报废 decommissioned")
    assert plan.status == "ended" and plan.upcoming == []
    assert [c.change for c in plan.changes] == ["pause", "resume", "end"]
    assert status_of(sessions, start.serial)[0] == "decommissioned"
    with env.auto_time_skipping_disabled():
        ended = PlanView.model_validate(await asyncio.wait_for(handle.result(), 30))
    assert ended.status == "ended"


async def test_an_overdue_visit_climbs_the_ladder_once_per_level(private_env, sessions,
                                                                policy_book):
    env, queue = private_env
    visit = await open_visit(env, queue, sessions, policy_book)
    view = await visit.act("assign", SUPERVISOR, engineer_id=ENGINEER.id,
                           engineer_name=ENGINEER.name)
    opened = view.opened_at
    await advance_to(env, opened + 36 * DAY)
    window = [c for c in (await visit.state()).commitments if c.key == "visit"][-1]
    assert [(f.level, f.notify) for f in window.fired] == [
        (0, "assignee"), (1, "supervisor"), (2, "manager"), (3, "director")]
    assert [f.scheduled_at - opened for f in window.fired] == [
        10.5 * DAY, 14 * DAY, 21 * DAY, 35 * DAY]
    with sessions() as session:
        levels = list(session.scalars(select(Escalation.level).where(
            Escalation.case_id == visit.case_id, Escalation.commitment == "visit")
            .order_by(Escalation.id)))
    assert levels == [0, 1, 2, 3]
    await visit.act("cancel", SUPERVISOR, reason="测试结束")


async def test_a_finding_that_needs_a_repair_opens_one_linked_repair(private_env, sessions,
                                                                    policy_book):
    env, queue = private_env
    visit = await open_visit(env, queue, sessions, policy_book)
    await visit.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    report = {"cleaning": {"done": True}, "inspection": {"done": True, "note": "滑环有磨损"},
              "calibration": [{"name": "CT值 水模", "value": 1.0, "unit": "HU", "low": -4,
                               "high": 4}],
              "findings": [{"description": "滑环碳刷磨损严重", "needs_repair": True,
                            "severity": "general"},
                           {"description": "机房温度偏高", "needs_repair": False}]}
    view = await visit.act("report", ENGINEER, **report)
    assert view.status == "done"
    for _ in range(200):
        view = await visit.state()
        if view.linked_cases:
            break
        await asyncio.sleep(0.05)
    (link,) = view.linked_cases
    assert link.kind == "repair" and link.case_id.startswith("RP-")
    repair = await env.client.get_workflow_handle(link.case_id).query("state",
                                                                      result_type=RepairView)
    assert repair.severity == "general" and repair.status == "awaiting_assignment"
    assert "滑环碳刷磨损严重" in repair.intake.symptom and "机房温度" not in repair.intake.symptom
    assert repair.intake.reporter_name == ENGINEER.name and repair.opened_by.id == ENGINEER.id
    view = await visit.act("confirm", HOTLINE, confirmed_by="设备科 吴工")
    assert view.status == "confirmed"
    with sessions() as session:
        rows = list(session.scalars(select(Case.case_id).where(
            Case.kind == "repair", Case.created_by == f"case:{visit.case_id}")))
    assert rows == [link.case_id]


async def test_a_linked_repair_that_cannot_open_is_recorded_and_sent_to_supervisors(
        private_env, sessions, policy_book):
    """The shared way of opening a linked case, when it fails: the reservation refuses (the
    register does not know the unit), the visit records why and tells the supervisors at once,
    links nothing, and goes on to its confirmation."""
    env, queue = private_env
    gone = f"CT-GONE{uuid.uuid4().hex[:8]}"
    visit = await open_visit(env, queue, sessions, policy_book, serial=gone)
    await visit.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await visit.act("report", ENGINEER, cleaning={"done": True}, inspection={"done": True},
                    calibration=[{"name": "CT值 水模", "value": 1.0, "unit": "HU", "low": -4,
                                  "high": 4}],
                    findings=[{"description": "球管打火 tube arcing", "needs_repair": True,
                               "severity": "severe"}])
    def recorded() -> CaseEventRow | None:
        with sessions() as session:
            return session.scalars(select(CaseEventRow).where(
                CaseEventRow.case_id == visit.case_id,
                CaseEventRow.event == "repair-not-opened")).one_or_none()

    trouble = await until(recorded, "the visit records repair-not-opened")
    assert trouble.summary.startswith("未能开立关联维修:")
    assert gone in trouble.data["error"] and trouble.actor_id == SYSTEM.id
    view = await visit.act("confirm", HOTLINE, confirmed_by="设备科 吴工")
    assert view.status == "confirmed" and view.linked_cases == []
    with sessions() as session:
        told = list(session.execute(select(Notification.urgent, Notification.subject).where(
            Notification.case_id == visit.case_id,
            Notification.template == "link-trouble")))
        repairs = list(session.scalars(select(Case.case_id).where(
            Case.created_by == f"case:{visit.case_id}")))
    assert told and all(urgent for urgent, _ in told)
    assert {subject for _, subject in told} == {
        f"未能开立关联维修({visit.case_id})"}
    assert repairs == []


async def test_the_plan_ends_with_its_contract(private_env, sessions):
    env, queue = private_env
    today = (await env.get_current_time()).astimezone().date()
    handle, start = await start_plan(env, queue, sessions, interval=30,
                                     ends_on=today + 75 * DAY)
    assert (await plan_state(handle)).upcoming == [start.first_due, start.first_due + 30 * DAY]
    await advance_to(env, opens_at(start.first_due + 30 * DAY, TZ) + PROMPT)
    with env.auto_time_skipping_disabled():
        ended = PlanView.model_validate(await asyncio.wait_for(handle.result(), 30))
    assert [v.due_on for v in ended.visits] == [start.first_due, start.first_due + 30 * DAY]
    assert ended.status == "ended" and ended.changes[-1].by.id == "system"
    assert ended.changes[-1].reason_code == "contract_ended" and ended.changes[-1].reason == ""
    assert ended.changes[-1].reason_params == {"ends_on": (today + 75 * DAY).isoformat()}
    assert status_of(sessions, start.serial)[0] == "in_service"  # the unit is still in use


async def test_changes_close_together_leave_the_unit_as_the_plan_says(private_env, sessions):
    """The second change is accepted while the first one's register write is under way: the
    unit ends as the plan says after both."""
    env, queue = private_env
    handle, start = await start_plan(env, queue, sessions)

    async def both(first: str, second: str) -> None:
        accepted = await handle.start_update(
            "change", {"change": first, "reason": first, "actor": SUPERVISOR.model_dump()},
            wait_for_stage=WorkflowUpdateStage.ACCEPTED, result_type=PlanView)
        await change(handle, second, reason=second)
        await accepted.result()

    await both("pause", "resume")
    assert (await plan_state(handle)).status == "active"
    assert status_of(sessions, start.serial)[0] == "in_service"
    await both("pause", "end")
    assert (await plan_state(handle)).status == "ended"
    assert status_of(sessions, start.serial)[0] == "decommissioned"


def test_a_plan_written_before_the_codes_reads_its_own_texts_as_codes():
    """Plans that ran before the notes were codes carry zh-CN text in their state (a running
    plan's carried input, a saved history): read back, the texts the plan wrote are its codes,
    a person's reason stays as written."""
    old = PlanStart.model_validate({
        "serial": "CT-OLD-1", "hospital_id": "H-DH", "interval_days": 30,
        "first_due": "2026-01-01", "opened_by": SYSTEM.model_dump(mode="json"),
        "status": "ended",
        "visits": [{"due_on": "2026-01-01", "case_id": None, "note": "计划暂停,未开立"},
                   {"due_on": "2026-01-31", "case_id": None,
                    "note": "not opened: unit CT-OLD-1 is not in the register"},
                   {"due_on": "2026-03-02", "case_id": None, "note": "医院要求改期"}],
        "changes": [{"change": "pause", "reason": "球管更换", "at": "2026-01-01T00:00:00Z",
                     "by": {"id": "MG-01", "name": "李强", "role": "manager"}},
                    {"change": "end", "reason": "合同到期:2026-06-30",
                     "at": "2026-03-01T00:00:00Z", "by": SYSTEM.model_dump(mode="json")}]})
    assert [(v.note_code, v.note_params, v.note) for v in old.visits] == [
        ("paused", {}, ""),
        ("not_opened", {"error": "unit CT-OLD-1 is not in the register"}, ""),
        (None, {}, "医院要求改期")]
    assert [(c.reason_code, c.reason_params, c.reason) for c in old.changes] == [
        (None, {}, "球管更换"), ("contract_ended", {"ends_on": "2026-06-30"}, "")]
    again = PlanStart.model_validate(old.model_dump(mode="json"))
    assert again == old, "carried over as new, the codes stay codes"
