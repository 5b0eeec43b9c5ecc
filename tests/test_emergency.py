"""An emergency on the time-skipping test server (DOMAIN.md section 4).

The on-call person is paged at once; nobody answering climbs the chain level by level every
5 minutes and wraps to level 1, never going silent; the acknowledgement stops the paging and
starts the 30-minute on-site and progress clocks; the emergency then runs through safety
measures, restoring, the post-incident check (a failure returns to the repair), the survey and
the review with improvement actions to close. Each scenario is checked in the workflow's view
and in what the activities wrote to PostgreSQL (escalations, timeline, notifications).

A private time-skipping server: these tests skip hours and days.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from caseflow.domain.emergency import EmergencyResult, EmergencyView
from caseflow.domain.records import OPEN_LINKED_EMERGENCY, Actor
from caseflow.store.models import Case, CaseEventRow, Escalation, Notification
from tests.emergency_driver import (
    AUDITOR,
    CHAIN,
    DIRECTOR,
    EN1,
    EN2,
    EN3,
    HOTLINE,
    MANAGER,
    SUPERVISOR,
    EmergencyDriver,
    new_hospital,
)
from tests.repair_driver import RepairDriver
from tests.test_deadlines import advance_to

MINUTE = timedelta(minutes=1)
PROMPT = timedelta(seconds=5)  # a page or rung fires within this of its time
Opener = Callable[..., Awaitable[EmergencyDriver]]
STANDS_DOWN = {"paging", "acknowledged", "dispatched", "on_site"}


@pytest.fixture
async def declare(private_env, policy_book, sessions) -> AsyncIterator[Opener]:  # type: ignore[no-untyped-def]
    """Declare an emergency at a hospital of its own (with CHAIN on call unless told)."""
    env, queue = private_env
    declared: list[EmergencyDriver] = []

    async def _declare(chain: tuple[Actor, ...] = CHAIN, **intake: Any) -> EmergencyDriver:
        hospital_id = new_hospital(sessions, chain)
        case = await EmergencyDriver.open(env, queue, policy_book, hospital_id, **intake)
        declared.append(case)
        return case

    yield _declare
    # An emergency left open keeps paging through every hour the next tests skip: stand down.
    for case in declared:
        if (await case.state()).status in STANDS_DOWN:
            await case.act("stand-down", SUPERVISOR, reason="测试结束 end of test")


def commitment(view: EmergencyView, key: str, round_: int | None = None):  # type: ignore[no-untyped-def]
    rounds = [c for c in view.commitments if c.key == key]
    assert rounds, f"no commitment {key}"
    return rounds[-1] if round_ is None else next(c for c in rounds if c.round == round_)


def escalations(sessions, case_id: str) -> list[Escalation]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(Escalation).where(Escalation.case_id == case_id)
                                    .order_by(Escalation.id)))


def notices(sessions, case_id: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(Notification).where(Notification.case_id == case_id)
                                    .order_by(Notification.id)))


def events(sessions, case_id: str) -> list[CaseEventRow]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id)
                                    .order_by(CaseEventRow.seq)))


async def refused(case: EmergencyDriver, action: str, actor: Actor, kind: str,
                  **payload: Any) -> ApplicationError:
    """The update is refused with `kind` and the case is left as it was."""
    before = await case.state()
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await case.act(action, actor, **payload)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == kind, (cause.type, cause.message)
    after = await case.state()
    assert after.steps == before.steps and after.status == before.status
    return cause


async def result_of(env: WorkflowEnvironment, case: EmergencyDriver) -> EmergencyResult:
    with env.auto_time_skipping_disabled():
        return EmergencyResult.model_validate(await asyncio.wait_for(case.handle.result(), 60))


# ----- paging -------------------------------------------------------------------------------------

async def test_the_on_call_engineer_is_paged_at_once_and_an_acknowledgement_stops_the_paging(
        declare, env, sessions):
    case = await declare()
    view = await case.pages(1)
    page = view.pages[0]
    assert (page.level, [p.id for p in page.people], page.source) == (1, [EN1.id], "roster")
    assert page.at - view.opened_at < MINUTE
    assert commitment(view, "notify").state == "met"
    assert commitment(view, "acknowledge").due_at == page.at + 5 * MINUTE

    view = await case.act("acknowledge", EN1, note="马上出发")
    assert view.status == "acknowledged" and view.assignee and view.assignee.id == EN1.id
    assert commitment(view, "acknowledge").state == "met"
    assert commitment(view, "on_site").due_at == view.acknowledged_at + 30 * MINUTE
    assert commitment(view, "progress").due_at == view.acknowledged_at + 30 * MINUTE

    await advance_to(env, page.at + 12 * MINUTE)
    view = await case.state()
    assert len(view.pages) == 1, "an acknowledged emergency pages nobody else"
    assert not escalations(sessions, case.case_id)
    paged = [n for n in notices(sessions, case.case_id) if n.subject.startswith("应急呼叫")]
    assert [(n.person_id, n.urgent) for n in paged] == [(EN1.id, True)]
    assert view.breached is False


async def test_nobody_answering_climbs_the_chain_every_5_minutes_and_wraps(declare, env,
                                                                            sessions):
    case = await declare()
    first = (await case.pages(1)).pages[0]
    await advance_to(env, first.at + 30 * MINUTE + 10 * PROMPT)
    view = await case.pages(7)
    levels = [p.level for p in view.pages]
    assert levels == [1, 2, 3, 4, 1, 2, 3], levels
    assert [p.people[0].id for p in view.pages] == [a.id for a in (*CHAIN, *CHAIN[:3])]
    rounds = [c for c in view.commitments if c.key == "acknowledge"]
    assert [c.round for c in rounds] == [1, 2, 3, 4, 5, 6, 7]
    for n, c in enumerate(rounds):
        # A steady 5-minute step from the first page, however long each page took.
        assert c.started_at == first.at + 5 * MINUTE * n, (n, c.started_at)
        assert c.due_at == c.started_at + 5 * MINUTE
    assert [c.state for c in rounds] == ["breached"] * 6 + ["open"]
    for page, c in zip(view.pages, rounds, strict=True):
        assert timedelta(0) <= page.at - c.started_at < PROMPT
    # Each missed round is one escalation, recorded once; each page reached its person, urgent.
    rows = escalations(sessions, case.case_id)
    assert [(r.commitment, r.round, r.level) for r in rows] == [
        ("acknowledge", n, 1) for n in range(1, 7)]
    paged = [(n.person_id, n.urgent) for n in notices(sessions, case.case_id)
             if n.subject.startswith("应急呼叫")]
    assert paged == [(a.id, True) for a in (*CHAIN, *CHAIN[:3])]
    assert view.breached is True and view.status == "paging"


async def test_acknowledged_at_level_2_by_the_engineer_paged_there(declare, env, sessions):
    case = await declare(chain=(EN1, EN2, SUPERVISOR))
    first = (await case.pages(1)).pages[0]
    await refused(case, "acknowledge", EN2, "NotAssignee")  # not paged yet
    await advance_to(env, first.at + 5 * MINUTE + PROMPT)
    view = await case.pages(2)
    assert [p.level for p in view.pages] == [1, 2]
    await refused(case, "acknowledge", EN3, "NotAssignee")  # never paged
    view = await case.act("acknowledge", EN2)
    assert view.status == "acknowledged"
    result_level = view.steps[-1].data
    assert result_level == {"note": ""}
    assert commitment(view, "acknowledge", 1).state == "breached"
    assert commitment(view, "acknowledge", 2).state == "met"
    await advance_to(env, first.at + 16 * MINUTE)
    assert len((await case.state()).pages) == 2
    opened = [e.event for e in events(sessions, case.case_id)]
    # its reportability review is opened once, after the first page (docs/regulatory.md)
    assert opened.count("review-opened") == 1 and opened.index("review-opened") > 1
    opened.remove("review-opened")
    assert opened[:3] == ["opened", "page", "escalation"] and opened.count("page") == 2
    assert opened[-1] == "acknowledge"
    acknowledged = events(sessions, case.case_id)[-1]
    assert acknowledged.data["level"] == 2


async def test_with_no_roster_the_supervisors_then_managers_then_directors_are_paged(
        declare, env, sessions):
    case = await declare(chain=())
    view = await case.pages(1)
    page = view.pages[0]
    assert page.source == "directory" and page.level == 1
    assert SUPERVISOR.id in {p.id for p in page.people}
    assert all(p.role == "supervisor" for p in page.people)
    await advance_to(env, page.at + 10 * MINUTE + PROMPT)
    view = await case.pages(3)
    assert [p.people[0].role for p in view.pages[:3]] == ["supervisor", "manager", "director"]
    assert {p.id for p in view.pages[1].people} >= {MANAGER.id}
    assert {p.id for p in view.pages[2].people} >= {DIRECTOR.id}
    view = await case.act("acknowledge", DIRECTOR)
    assert view.status == "acknowledged"


# ----- after the acknowledgement ------------------------------------------------------------------

async def acknowledged(declare) -> tuple[EmergencyDriver, EmergencyView]:  # type: ignore[no-untyped-def]
    case = await declare()
    await case.pages(1)
    return case, await case.act("acknowledge", EN1)


async def test_progress_updates_are_chased_every_30_minutes_until_restored(declare, env,
                                                                         sessions):
    case, view = await acknowledged(declare)
    start = view.acknowledged_at
    assert start is not None
    # The first update in time: met, and the next round is due 30 minutes after it.
    await advance_to(env, start + 20 * MINUTE)
    view = await case.act("progress", HOTLINE, message="工程师已出发,预计20分钟到达")
    first, second = (commitment(view, "progress", n) for n in (1, 2))
    assert first.state == "met" and second.due_at == view.steps[-1].at + 30 * MINUTE
    # The second is missed: the assignee is reminded at 75%, the supervisor told at 30 minutes.
    await advance_to(env, second.due_at + PROMPT)
    view = await case.state()
    second = commitment(view, "progress", 2)
    assert [f.level for f in second.fired] == [0, 1]
    assert second.fired[0].scheduled_at == second.started_at + 30 * MINUTE * 0.75
    assert second.state == "breached"
    rows = [(r.commitment, r.round, r.level, r.notify) for r in escalations(sessions, case.case_id)
            if r.commitment == "progress"]
    assert rows == [("progress", 2, 0, "assignee"), ("progress", 2, 1, "supervisor")]
    reminded = {(n.person_id, n.urgent) for n in notices(sessions, case.case_id)
                if "/esc/progress/2/0" in n.dedupe_key}
    assert reminded == {(EN1.id, True)}
    # Restored: no more progress rounds, nothing more escalates.
    await case.act("dispatch", EN1, team=[{"person_id": EN1.id, "person_name": EN1.name}])
    await case.act("on-site", EN1, mode="on_site")
    await case.act("safety-measures", EN1, measures=["患者已转移至 CT-2 检查"])
    view = await case.act("restored", EN1, summary="更换检查床电机驱动板")
    assert commitment(view, "progress").state in ("met", "met_late")
    count = len(escalations(sessions, case.case_id))
    await advance_to(env, view.restored_at + 3 * 30 * MINUTE)
    fired = [(r.commitment, r.level) for r in escalations(sessions, case.case_id)[count:]]
    assert all(c != "progress" for c, _ in fired), fired


async def test_a_team_late_on_site_climbs_the_ladder_once_per_level(declare, env, sessions):
    case, view = await acknowledged(declare)
    assert view.acknowledged_at is not None
    await case.act("dispatch", EN1, team=[{"person_id": EN2.id, "person_name": EN2.name}],
                   parts=["检查床电机驱动板"])
    await advance_to(env, view.acknowledged_at + 80 * MINUTE)
    on_site = commitment(await case.state(), "on_site")
    assert [(f.level, f.notify) for f in on_site.fired] == [
        (0, "assignee"), (1, "supervisor"), (2, "manager"), (3, "director")]
    for fired, fraction in zip(on_site.fired, (0.75, 1.0, 1.5, 2.5), strict=True):
        assert fired.scheduled_at == on_site.started_at + 30 * MINUTE * fraction
    urgent = {n.urgent for n in notices(sessions, case.case_id) if "/esc/on_site/" in n.dedupe_key}
    assert urgent == {True}, "an emergency's escalations go out at once, day or night"
    # The team member reports arrival: met late, the ladder stops.
    view = await case.act("on-site", EN2, mode="remote")
    assert commitment(view, "on_site").state == "met_late"


async def test_the_full_path_to_close(declare, env, sessions):
    case, view = await acknowledged(declare)
    await refused(case, "on-site", EN1, "InvalidTransition", mode="on_site")  # not dispatched
    view = await case.act("dispatch", EN1, team=[
        {"person_id": EN1.id, "person_name": EN1.name},
        {"person_id": EN2.id, "person_name": EN2.name}], parts=["检查床电机驱动板"])
    assert view.status == "dispatched" and [m.person_id for m in view.team] == [EN1.id, EN2.id]
    await refused(case, "on-site", EN3, "NotAssignee", mode="on_site")  # not on the team
    view = await case.act("on-site", EN2, mode="on_site", note="已到达 CT 室")
    assert commitment(view, "on_site").state == "met"
    refusal = await refused(case, "restored", EN1, "InvalidTransition",
                            summary="已修复")
    assert "safety measures" in refusal.message
    await case.act("safety-measures", EN1, measures=["患者已转移至 CT-2", "手动退床并断电"])
    await case.act("progress", EN2, message="已找到故障,正在更换驱动板")
    view = await case.act("restored", EN1, summary="更换检查床电机驱动板,恢复扫描")
    assert view.status == "restored"
    # A failed check sends the emergency back to the repair, with the customer kept informed.
    check = {"functions_ok": True, "running_state_ok": True, "electrical_safety_ok": True,
             "parameters": [{"name": "CT值 水模", "value": 9.0, "unit": "HU", "low": -4,
                             "high": 4}]}
    view = await case.act("performance-check", EN1, **check)
    assert view.status == "on_site" and view.checks[-1].data["passed"] is False
    assert commitment(view, "progress").state == "open"
    view = await case.act("restored", EN1, summary="重新校准")
    check["parameters"][0]["value"] = 1.5  # type: ignore[index]
    view = await case.act("performance-check", EN1, **check)
    assert view.status == "checked" and [c.data["passed"] for c in view.checks] == [False, True]
    await refused(case, "survey", EN1, "NotPermitted", satisfaction=5)
    view = await case.act("survey", HOTLINE, satisfaction=4, comment="响应很快")
    due = await case.due_in(days=14)
    view = await case.act("review", SUPERVISOR, root_cause="驱动板老化", summary="加入预防性维护",
                          actions=[{"description": "全院同型号驱动板巡检", "owner_id": EN2.id,
                                    "owner_name": EN2.name, "due_at": due}])
    assert view.status == "reviewed" and [a.owner_id for a in view.actions] == [EN2.id]
    refusal = await refused(case, "close", MANAGER, "InvalidTransition")
    assert "A1" in refusal.message
    await refused(case, "complete-action", EN1, "NotAssignee", action_id="A1", result="完成")
    await refused(case, "close", AUDITOR, "NotPermitted")
    await case.act("complete-action", EN2, action_id="A1", result="已巡检12台")
    view = await case.act("close", MANAGER, note="复盘完成")
    assert view.status == "closed" and view.outcome == "restored"
    assert all(c.state in ("met", "waived") for c in view.commitments), view.commitments
    result = await result_of(env, case)
    assert (result.outcome, result.pages, result.acknowledged_level) == ("restored", 1, 1)
    timeline = [e.event for e in events(sessions, case.case_id)]
    # its reportability review is opened once, after the first page (docs/regulatory.md)
    assert timeline.count("review-opened") == 1 and timeline.index("review-opened") > 1
    timeline.remove("review-opened")
    assert timeline == ["opened", "page", "acknowledge", "dispatch", "on-site",
                        "safety-measures", "progress", "restored", "performance-check",
                        "restored", "performance-check", "survey", "review", "complete-action",
                        "close"]
    assert any("患者已转移至 CT-2" in e.summary for e in events(sessions, case.case_id)
               if e.event == "safety-measures")


async def test_a_stand_down_waives_every_clock_and_stops_the_paging(declare, env, sessions):
    case = await declare()
    first = (await case.pages(1)).pages[0]
    await refused(case, "stand-down", HOTLINE, "NotPermitted", reason="误报")
    view = await case.act("stand-down", SUPERVISOR, reason="误报:设备已自行恢复")
    assert view.status == "stood_down" and view.outcome == "stood_down"
    assert {c.state for c in view.commitments} <= {"met", "waived"}
    await advance_to(env, first.at + 20 * MINUTE)
    assert len((await case.state()).pages) == 1
    assert not escalations(sessions, case.case_id)
    assert (await result_of(env, case)).outcome == "stood_down"


# ----- a critical repair ----------------------------------------------------------------------

async def linked_emergencies(case: RepairDriver, count: int) -> list[str]:
    for _ in range(200):
        found = [c.case_id for c in (await case.state()).linked_cases if c.kind == "emergency"]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case.case_id}: no linked emergency")


async def emergencies_asked(env, repair: RepairDriver) -> int:  # type: ignore[no-untyped-def]
    """How often the repair's history asks for a linked emergency to be opened."""
    history = await env.client.get_workflow_handle(repair.case_id).fetch_history()
    return sum(1 for e in history.events
               if e.activity_task_scheduled_event_attributes.activity_type.name
               == OPEN_LINKED_EMERGENCY)


async def test_a_repair_reclassified_critical_opens_one_linked_emergency(private_env, env,
                                                                         sessions, policy_book):
    _, queue = private_env
    repair = await RepairDriver.open(env, queue, sessions, policy_book, severity="severe")
    # A step taken is a workflow task after the one that would have asked for the emergency
    # (a critical repair does so at once): past that point, none was asked for.
    await repair.act("assign", SUPERVISOR, engineer_id="EN-01")
    assert await emergencies_asked(env, repair) == 0, "a severe repair declares no emergency"
    assert not (await repair.state()).linked_cases
    await repair.act("reclassify", SUPERVISOR, severity="critical", reason="患者安全受威胁")
    (emergency_id,) = await linked_emergencies(repair, 1)
    assert emergency_id.startswith("EM-")
    for severity in ("severe", "critical"):  # down and up again once it is open: still one
        await repair.act("reclassify", SUPERVISOR, severity=severity, reason=f"现场评估 {severity}")
    await repair.act("assign", SUPERVISOR, engineer_id="EN-02")  # a later task again
    assert await emergencies_asked(env, repair) == 1
    view = await repair.state()
    assert [c.case_id for c in view.linked_cases] == [emergency_id]
    with sessions() as session:
        rows = session.scalars(select(Case).where(Case.kind == "emergency",
                                                  Case.created_by == f"case:{repair.case_id}"))
        assert [r.case_id for r in rows] == [emergency_id]
    assert [e.event for e in events(sessions, repair.case_id)].count("emergency-opened") == 1

    emergency = EmergencyDriver(env, env.client.get_workflow_handle(emergency_id))
    opened = await emergency.pages(1)
    assert opened.intake.related_case_id == repair.case_id
    assert opened.intake.equipment_serial == "CT-DH-0001" and opened.intake.hospital_id == "H-DH"
    assert opened.opened_by.id == SUPERVISOR.id
    await emergency.act("stand-down", SUPERVISOR, reason="测试结束 end of test")


async def test_a_repair_opened_critical_declares_its_emergency_at_once(private_env, env,
                                                                       sessions, policy_book):
    _, queue = private_env
    repair = await RepairDriver.open(env, queue, sessions, policy_book, severity="critical")
    (emergency_id,) = await linked_emergencies(repair, 1)
    emergency = EmergencyDriver(env, env.client.get_workflow_handle(emergency_id))
    view = await emergency.pages(1)
    assert view.opened_by.id == HOTLINE.id and view.status == "paging"
    await emergency.act("stand-down", SUPERVISOR, reason="测试结束 end of test")
