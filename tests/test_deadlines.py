"""Deadlines of a repair case on the time-skipping test server: each rung of the escalation ladder
fires once at its point, pauses move deadlines by exactly the paused time, reclassification
recomputes from the intake time, business-hours deadlines skip nights, weekends and holidays.

Every scenario is checked twice: in the workflow's own view (query) and in what the recording
activities wrote to PostgreSQL (escalations, timeline, notifications outbox, case row).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from temporalio.testing import WorkflowEnvironment

from caseflow.domain.repair import RepairView
from caseflow.domain.sla import CommitmentView
from caseflow.store.models import Case, CaseEventRow, Escalation, Notification
from tests.conftest import private_server
from tests.repair_driver import ENGINEER, HOTLINE, SUPERVISOR, RepairDriver

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONTRACT = "HT-2025-RJ-001"  # H-DH: CT-DH-0001 / MR-DH-0002, restore general 48h, minor on business
LADDER = {0: 0.75, 1: 1.0, 2: 1.5, 3: 2.5}
PROMPT = timedelta(seconds=2)  # a rung fires within this of its scheduled instant (virtual time)

Opener = Callable[..., Awaitable[RepairDriver]]


# ----- helpers -----------------------------------------------------------------------------------

@pytest.fixture
def open_case(ts_env, ts_worker, sessions, policy_book) -> Opener:  # type: ignore[no-untyped-def]
    """Open repair cases on the shared test server.

    Cases are left running: terminating a workflow while one of its activities is in flight
    leaves the Java test server's time-skipping lock held, and every later env.sleep hangs.
    """

    async def _open(**intake_fields: Any) -> RepairDriver:
        return await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book,
                                       **intake_fields)

    return _open


def commitment(view: RepairView, key: str) -> CommitmentView:
    """The current round of a commitment (earlier rounds come first in the view)."""
    found = [c for c in view.commitments if c.key == key]
    assert found, f"no commitment {key!r} in {[c.key for c in view.commitments]}"
    return found[-1]


def escalation_rows(sessions, case_id: str, key: str) -> list[Escalation]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(
            select(Escalation).where(Escalation.case_id == case_id, Escalation.commitment == key)
            .order_by(Escalation.round, Escalation.level)))


def notified(sessions, case_id: str, key: str, round_: int, level: int) -> dict[str, bool]:  # type: ignore[no-untyped-def]
    """Who got the outbox message of one rung, and whether it was marked urgent."""
    prefix = f"{case_id}/esc/{key}/{round_}/{level}/"
    with sessions() as session:
        rows = session.scalars(select(Notification).where(Notification.dedupe_key.like(prefix + "%")))
        return {row.person_id: row.urgent for row in rows}


def escalation_notice_count(sessions, case_id: str, key: str) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(Notification).where(
            Notification.dedupe_key.like(f"{case_id}/esc/{key}/%"))) or 0


def timeline(sessions, case_id: str) -> list[CaseEventRow]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id).order_by(CaseEventRow.seq)))


def case_row(sessions, case_id: str) -> Case:  # type: ignore[no-untyped-def]
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.case_id == case_id))
        assert row is not None
        return row


async def advance_to(env: WorkflowEnvironment, instant: datetime) -> None:
    """Skip virtual time until `instant`."""
    now = await env.get_current_time()
    assert instant > now, (instant, now)
    await env.sleep(instant - now)


def assert_fired_on_ladder(c: CommitmentView, levels: list[int], duration: timedelta,
                           notify: dict[int, str]) -> None:
    """Each level fired once, at start + fraction * duration, promptly (7x24 commitments)."""
    assert [f.level for f in c.fired] == levels
    for fired in c.fired:
        assert fired.scheduled_at == c.started_at + duration * LADDER[fired.level], fired
        assert timedelta(0) <= fired.fired_at - fired.scheduled_at < PROMPT, fired
        assert fired.notify == notify[fired.level]


async def to_arrived(case: RepairDriver, severity: str = "severe") -> RepairView:
    """Classify, assign EN-01, confirm the hand-over, acknowledge and arrive at once."""
    await case.act("classify", SUPERVISOR, severity=severity)
    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await case.act("confirm-handover", HOTLINE)
    await case.act("acknowledge", ENGINEER)
    return await case.act("arrive", ENGINEER, mode="on_site")


async def to_work_approved(case: RepairDriver, severity: str = "severe") -> RepairView:
    await to_arrived(case, severity)
    await case.act("report-site", ENGINEER, condition="机房温湿度正常,电源稳定")
    return await case.act("approve-start", SUPERVISOR)


# ----- arrival (on site / remote within 30 minutes for severe) -----------------------------------

async def test_arrival_in_time_is_met_and_escalates_nothing(open_case, ts_env, sessions):
    case = await open_case()
    await case.act("classify", SUPERVISOR, severity="severe")
    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await case.act("confirm-handover", HOTLINE)
    await case.act("acknowledge", ENGINEER)
    await case.sleep(minutes=20)  # before the 75 % warning at 22.5 minutes
    view = await case.act("arrive", ENGINEER, mode="remote")
    arrival = commitment(view, "arrival")
    assert arrival.state == "met"
    assert arrival.due_at == view.opened_at + timedelta(minutes=30)
    assert arrival.met_at is not None and arrival.met_at < arrival.due_at

    await case.sleep(hours=2)  # long past the arrival ladder
    view = await case.state()
    arrival = commitment(view, "arrival")
    assert arrival.state == "met" and arrival.fired == [] and not arrival.warned
    assert not view.breached and view.escalation_level == 0
    assert escalation_rows(sessions, case.case_id, "arrival") == []
    assert escalation_notice_count(sessions, case.case_id, "arrival") == 0
    assert not case_row(sessions, case.case_id).breached


@pytest.mark.parametrize(("serial", "hospital", "supervisors"), [
    ("CT-DH-0001", "H-DH", {"SV-01"}),           # SV-02 serves H-JB only
    ("CT-JB-0003", "H-JB", {"SV-01", "SV-02"}),
])
async def test_missed_arrival_escalates_each_level_once(open_case, ts_env, sessions, serial,
                                                        hospital, supervisors):
    case = await open_case(serial=serial, hospital=hospital)
    await case.act("classify", SUPERVISOR, severity="severe")
    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await case.act("confirm-handover", HOTLINE)
    opened_at = (await case.state()).opened_at

    await advance_to(ts_env, opened_at + timedelta(minutes=80))  # past level 3 at 75 minutes
    view = await case.state()
    arrival = commitment(view, "arrival")
    assert arrival.started_at == opened_at
    assert arrival.state == "breached" and arrival.breached and arrival.warned
    assert arrival.escalation_level == 3
    assert arrival.breached_at == opened_at + timedelta(minutes=30)
    assert_fired_on_ladder(arrival, [0, 1, 2, 3], timedelta(minutes=30),
                           {0: "assignee", 1: "supervisor", 2: "manager", 3: "director"})
    assert [f.scheduled_at - opened_at for f in arrival.fired] == [
        timedelta(minutes=22, seconds=30), timedelta(minutes=30), timedelta(minutes=45),
        timedelta(minutes=75)]
    assert view.breached and view.escalation_level == 3
    assert [(e["commitment"], e["level"]) for e in view.escalations
            if e["commitment"] == "arrival"] == [("arrival", n) for n in range(4)]

    rows = escalation_rows(sessions, case.case_id, "arrival")
    assert [(r.round, r.level, r.notify) for r in rows] == [
        (1, 0, "assignee"), (1, 1, "supervisor"), (1, 2, "manager"), (1, 3, "director")]
    assert [r.scheduled_at for r in rows] == [f.scheduled_at for f in arrival.fired]
    assert all(r.due_at == opened_at + timedelta(minutes=30) for r in rows)
    # The warning goes to the engineer, quietly; breaches of a severe case go out at once.
    assert notified(sessions, case.case_id, "arrival", 1, 0) == {"EN-01": False}
    assert notified(sessions, case.case_id, "arrival", 1, 1) == {sv: True for sv in supervisors}
    assert notified(sessions, case.case_id, "arrival", 1, 2) == {"MG-01": True}
    assert notified(sessions, case.case_id, "arrival", 1, 3) == {"DR-01": True}
    events = [(e.event, e.data["level"]) for e in timeline(sessions, case.case_id)
              if e.event in ("warning", "escalation") and e.data["commitment"] == "arrival"]
    assert events == [("warning", 0), ("escalation", 1), ("escalation", 2), ("escalation", 3)]
    assert case_row(sessions, case.case_id).breached

    notices = escalation_notice_count(sessions, case.case_id, "arrival")
    await case.sleep(hours=10)  # much longer: the ladder has nothing left for arrival
    again = commitment(await case.state(), "arrival")
    assert again.fired == arrival.fired
    assert len(escalation_rows(sessions, case.case_id, "arrival")) == 4
    assert escalation_notice_count(sessions, case.case_id, "arrival") == notices


async def test_late_arrival_stops_the_ladder_at_the_level_reached(open_case, ts_env, sessions):
    case = await open_case()
    await case.act("classify", SUPERVISOR, severity="severe")
    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await case.act("confirm-handover", HOTLINE)
    await case.act("acknowledge", ENGINEER)
    opened_at = (await case.state()).opened_at
    await advance_to(ts_env, opened_at + timedelta(minutes=35))  # breached, level 2 not yet
    view = await case.act("arrive", ENGINEER, mode="on_site")
    arrival = commitment(view, "arrival")
    assert arrival.state == "met_late" and arrival.breached
    await case.sleep(hours=3)
    arrival = commitment(await case.state(), "arrival")
    assert [f.level for f in arrival.fired] == [0, 1]
    assert [r.level for r in escalation_rows(sessions, case.case_id, "arrival")] == [0, 1]


# ----- hand-over check (1 h after assignment, the hotline's) -------------------------------------

async def test_handover_confirmed_within_the_hour_is_met(open_case, ts_env, sessions):
    case = await open_case()
    await case.act("classify", SUPERVISOR, severity="severe")
    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await case.act("acknowledge", ENGINEER)
    await case.act("arrive", ENGINEER, mode="on_site")
    await case.sleep(minutes=40)
    view = await case.act("confirm-handover", HOTLINE)
    handover = commitment(view, "handover")
    assert handover.state == "met"
    assert handover.due_at == handover.started_at + timedelta(hours=1)
    assert "confirm-handover" not in view.allowed_actions
    await case.sleep(hours=3)
    assert commitment(await case.state(), "handover").fired == []
    assert escalation_rows(sessions, case.case_id, "handover") == []


async def test_missed_handover_warns_the_hotline_then_escalates_to_the_supervisor(
        open_case, ts_env, sessions):
    case = await open_case()
    await case.act("classify", SUPERVISOR, severity="severe")
    view = await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id,
                          engineer_name=ENGINEER.name)
    assigned_at = view.steps[-1].at
    await case.act("acknowledge", ENGINEER)
    await case.act("arrive", ENGINEER, mode="on_site")
    handover = commitment(await case.state(), "handover")
    assert handover.started_at == assigned_at and handover.calendar == "7x24"

    await advance_to(ts_env, assigned_at + timedelta(minutes=65))
    handover = commitment(await case.state(), "handover")
    assert handover.state == "breached"
    assert_fired_on_ladder(handover, [0, 1], timedelta(hours=1), {0: "hotline", 1: "supervisor"})
    assert notified(sessions, case.case_id, "handover", 1, 0) == {"HL-01": False}
    assert notified(sessions, case.case_id, "handover", 1, 1) == {"SV-01": True}

    view = await case.act("confirm-handover", HOTLINE)  # late, but it stops the ladder
    assert commitment(view, "handover").state == "met_late"
    await case.sleep(hours=3)
    assert [r.level for r in escalation_rows(sessions, case.case_id, "handover")] == [0, 1]


# ----- daily progress (24 h rounds) --------------------------------------------------------------

async def test_progress_report_meets_the_round_and_starts_the_next_one(open_case, ts_env,
                                                                       sessions):
    case = await open_case()
    view = await to_arrived(case, "general")
    progress = commitment(view, "progress")
    assert progress.round == 1 and progress.due_at == progress.started_at + timedelta(hours=24)
    first_start = progress.started_at

    await advance_to(ts_env, first_start + timedelta(hours=20))  # warned at 18 h
    view = await case.act("progress", ENGINEER, note="等待备件,已联系厂家")
    reported_at = view.steps[-1].at
    progress = commitment(view, "progress")
    assert progress.round == 2 and progress.state == "open" and progress.fired == []
    assert progress.started_at == reported_at
    assert progress.due_at == reported_at + timedelta(hours=24)

    await advance_to(ts_env, reported_at + timedelta(hours=25))  # no report: round 2 breached
    progress = commitment(await case.state(), "progress")
    assert progress.round == 2 and progress.state == "breached"
    assert_fired_on_ladder(progress, [0, 1], timedelta(hours=24),
                           {0: "assignee", 1: "supervisor"})
    rows = escalation_rows(sessions, case.case_id, "progress")
    assert [(r.round, r.level) for r in rows] == [(1, 0), (2, 0), (2, 1)]
    assert rows[0].scheduled_at == first_start + timedelta(hours=18)
    assert rows[2].scheduled_at == reported_at + timedelta(hours=24)
    assert notified(sessions, case.case_id, "progress", 1, 0) == {"EN-01": False}
    assert notified(sessions, case.case_id, "progress", 2, 0) == {"EN-01": False}
    assert set(notified(sessions, case.case_id, "progress", 2, 1)) == {"SV-01"}


async def test_late_progress_report_keeps_the_case_breached(open_case, ts_env, sessions):
    """A case "is breached" as soon as any commitment is (DOMAIN.md). Fails today: starting the
    next progress round replaces the breached round, so the case forgets the breach."""
    case = await open_case()
    view = await to_arrived(case, "general")  # restore general: 48 h under HT-2025-RJ-001
    started = commitment(view, "progress").started_at
    await advance_to(ts_env, started + timedelta(hours=25))
    view = await case.state()
    assert commitment(view, "progress").state == "breached" and view.breached

    view = await case.act("progress", ENGINEER, note="今天完成球管校准")
    assert [(r.round, r.level) for r in escalation_rows(sessions, case.case_id, "progress")] == \
        [(1, 0), (1, 1)]
    assert view.breached, "the missed round-1 progress report no longer counts"
    assert view.escalation_level == 1
    assert case_row(sessions, case.case_id).breached


# ----- restore, customer confirmation, callback --------------------------------------------------

async def test_missed_restore_escalates_from_the_intake_time(open_case, ts_env, sessions):
    case = await open_case()
    await case.walk_to("repairing")  # severe, diagnosed xray_tube: 24 h
    opened_at = (await case.state()).opened_at
    await advance_to(ts_env, opened_at + timedelta(hours=61))
    view = await case.state()
    restore = commitment(view, "restore")
    assert restore.started_at == opened_at
    assert restore.due_at == opened_at + timedelta(hours=24)
    assert restore.state == "breached" and view.status == "repairing"
    assert_fired_on_ladder(restore, [0, 1, 2, 3], timedelta(hours=24),
                           {0: "assignee", 1: "supervisor", 2: "manager", 3: "director"})
    rows = escalation_rows(sessions, case.case_id, "restore")
    assert [(r.level, r.scheduled_at - opened_at) for r in rows] == [
        (0, timedelta(hours=18)), (1, timedelta(hours=24)), (2, timedelta(hours=36)),
        (3, timedelta(hours=60))]
    assert notified(sessions, case.case_id, "restore", 1, 2) == {"MG-01": True}
    assert case_row(sessions, case.case_id).breached


async def test_missed_customer_confirmation_chases_the_hotline_then_the_supervisor(
        open_case, ts_env, sessions):
    case = await open_case()
    view = await case.walk_to("awaiting_confirmation")
    assert commitment(view, "restore").state == "met"
    assert commitment(view, "progress").state == "waived"
    confirmation = commitment(view, "customer_confirmation")
    resolved_at = view.steps[-1].at
    assert confirmation.started_at == resolved_at
    assert confirmation.due_at == resolved_at + timedelta(hours=48)

    await advance_to(ts_env, resolved_at + timedelta(hours=49))
    view = await case.state()
    confirmation = commitment(view, "customer_confirmation")
    assert view.status == "awaiting_confirmation" and confirmation.state == "breached"
    assert_fired_on_ladder(confirmation, [0, 1], timedelta(hours=48),
                           {0: "hotline", 1: "supervisor"})
    assert notified(sessions, case.case_id, "customer_confirmation", 1, 0) == {"HL-01": False}
    assert notified(sessions, case.case_id, "customer_confirmation", 1, 1) == {"SV-01": True}


async def test_callback_is_due_by_2359_shanghai_on_the_day_of_the_confirmation(
        open_case, ts_env, sessions, policy_book):
    case = await open_case()
    view = await case.walk_to("awaiting_callback")
    confirmed_at = view.steps[-1].at
    callback = commitment(view, "callback")
    assert callback.started_at == confirmed_at
    due_local = callback.due_at.astimezone(SHANGHAI)
    assert due_local.date() == confirmed_at.astimezone(SHANGHAI).date()
    assert due_local.time() == time(23, 59, 59)
    assert callback.due_at == policy_book.pin(None, confirmed_at).local_calendar.end_of_day(
        confirmed_at)

    await advance_to(ts_env, callback.due_at + timedelta(minutes=1))
    callback = commitment(await case.state(), "callback")
    assert callback.state == "breached"
    assert [f.level for f in callback.fired] == [0, 1]
    assert callback.fired[1].scheduled_at == callback.due_at
    assert notified(sessions, case.case_id, "callback", 1, 0) == {"HL-01": False}
    view = await case.act("callback", HOTLINE, satisfaction=4, comment="回访晚了一天")
    assert view.status == "closed" and commitment(view, "callback").state == "met_late"


# ----- pauses ------------------------------------------------------------------------------------

async def test_customer_postponement_moves_restore_by_exactly_the_paused_time(
        open_case, ts_env, sessions):
    case = await open_case()
    view = await case.walk_to("repairing")
    original_due = commitment(view, "restore").due_at
    assert original_due == view.opened_at + timedelta(hours=24)

    await advance_to(ts_env, view.opened_at + timedelta(hours=20))  # warned at 18 h
    view = await case.act("pause", HOTLINE, reason="customer_postponed", note="科室要求周末再修")
    assert view.paused is not None and view.paused.reason == "customer_postponed"
    assert commitment(view, "restore").state == "paused"
    assert commitment(view, "handover").state != "paused"  # the hand-over check never pauses

    await case.sleep(hours=10)  # the original due time passes while paused: no breach
    view = await case.state()
    assert commitment(view, "restore").state == "paused"
    assert [f.level for f in commitment(view, "restore").fired] == [0]
    view = await case.act("resume", SUPERVISOR, note="客户同意继续")
    pause = view.pauses[-1]
    assert pause.by == HOTLINE.id and pause.ended_by == SUPERVISOR.id
    paused = pause.ended_at - pause.started_at
    assert paused >= timedelta(hours=10)
    restore = commitment(view, "restore")
    assert restore.state == "open"
    assert restore.due_at == original_due + paused
    assert restore.paused_seconds == paused.total_seconds()

    await advance_to(ts_env, restore.due_at + timedelta(minutes=1))
    restore = commitment(await case.state(), "restore")
    assert [f.level for f in restore.fired] == [0, 1]
    assert restore.fired[1].scheduled_at == original_due + paused
    rows = escalation_rows(sessions, case.case_id, "restore")
    assert [(r.level, r.scheduled_at) for r in rows] == [
        (0, view.opened_at + timedelta(hours=18)), (1, original_due + paused)]


async def test_pause_with_a_resume_date_resumes_by_itself(open_case, ts_env, sessions):
    case = await open_case()
    view = await case.walk_to("repairing")
    original_due = commitment(view, "restore").due_at
    resume_at = await ts_env.get_current_time() + timedelta(hours=2)
    view = await case.act("pause", SUPERVISOR, reason="device_unavailable", resume_at=resume_at)
    assert view.paused is not None and view.paused.resume_at == resume_at

    await case.sleep(hours=3)
    view = await case.state()
    assert view.paused is None
    pause = view.pauses[-1]
    assert pause.ended_by == "system"
    assert timedelta(0) <= pause.ended_at - resume_at < PROMPT
    paused = pause.ended_at - pause.started_at
    restore = commitment(view, "restore")
    assert restore.state == "open"
    assert restore.due_at == original_due + paused
    assert restore.paused_seconds == paused.total_seconds()
    resumes = [e for e in timeline(sessions, case.case_id) if e.event == "resume"]
    assert [(e.actor_id, e.at) for e in resumes] == [("system", pause.ended_at)]


async def test_pause_before_classification_holds_the_arrival_clock(open_case, ts_env, sessions):
    """A pause is allowed before classification, so the clocks started at classification (from
    the intake time) must leave the paused time out. Fails today: Deadlines.start opens the pause
    span at the classification time, so the paused hours count and arrival escalates at once."""
    case = await open_case()
    view = await case.act("pause", HOTLINE, reason="customer_postponed", note="设备今日停机检查")
    paused_at = view.steps[-1].at
    await case.sleep(hours=2)
    view = await case.act("classify", SUPERVISOR, severity="severe")
    arrival = commitment(view, "arrival")
    assert arrival.state == "paused", arrival
    assert arrival.fired == []
    view = await case.act("resume", HOTLINE)
    resumed_at = view.steps[-1].at
    arrival = commitment(view, "arrival")
    assert arrival.due_at == resumed_at + timedelta(minutes=30) - (paused_at - view.opened_at)
    assert escalation_rows(sessions, case.case_id, "arrival") == []


# ----- quotation (out of warranty) ---------------------------------------------------------------

async def _to_quotation(case: RepairDriver) -> RepairView:
    await to_work_approved(case, "severe")
    view = await case.act("diagnose", ENGINEER, findings="球管灯丝断裂", fault_category="xray_tube")
    assert not view.in_warranty and view.status == "awaiting_quotation"
    return await case.act("quote", ENGINEER, amount="86000.00",
                          items=[{"description": "球管 tube", "amount": "86000.00"}])


async def test_quotation_wait_pauses_restore_until_the_customer_approves(open_case, ts_env,
                                                                          sessions):
    case = await open_case(serial="CT-JB-0003", hospital="H-JB")
    view = await _to_quotation(case)
    original_due = view.opened_at + timedelta(hours=24)
    assert view.status == "awaiting_quote_decision"
    assert view.paused is not None and view.paused.reason == "awaiting_quotation_approval"
    assert commitment(view, "restore").state == "paused"
    assert "resume" not in view.allowed_actions  # only the customer's decision resumes it

    await case.sleep(hours=30)  # longer than the whole restore time: nothing escalates
    assert commitment(await case.state(), "restore").fired == []
    view = await case.act("approve-quote", HOTLINE, approved_by="设备科 刘主任")
    assert view.status == "repairing" and view.paused is None
    pause = view.pauses[-1]
    waited = pause.ended_at - pause.started_at
    assert waited >= timedelta(hours=30)
    restore = commitment(view, "restore")
    assert restore.state == "open"
    assert restore.due_at == original_due + waited
    assert restore.paused_seconds == waited.total_seconds()
    assert escalation_rows(sessions, case.case_id, "restore") == []
    events = [e.event for e in timeline(sessions, case.case_id)]
    assert events[-2:] == ["quote", "approve-quote"]


async def test_declined_quotation_waives_restore_and_ends_with_the_callback(open_case, ts_env,
                                                                            sessions):
    case = await open_case(serial="CT-JB-0003", hospital="H-JB")
    await _to_quotation(case)
    await case.sleep(hours=1)
    view = await case.act("decline-quote", HOTLINE, reason="预算不足,暂不维修")
    assert view.status == "awaiting_callback" and view.outcome == "quotation_declined"
    assert view.paused is None
    restore = commitment(view, "restore")
    assert restore.state == "waived" and restore.waived_reason == "quotation declined"
    assert commitment(view, "progress").state == "waived"
    assert commitment(view, "callback").state == "open"
    assert view.allowed_actions == ["callback"]

    await case.act("callback", HOTLINE, satisfaction=3, comment="理解")
    result = await case.result()
    assert result.outcome == "quotation_declined"
    assert escalation_rows(sessions, case.case_id, "restore") == []
    row = case_row(sessions, case.case_id)
    assert row.status == "closed" and row.closed_at is not None


# ----- reclassification and fault category -------------------------------------------------------

async def test_reclassify_general_to_severe_recomputes_restore_from_the_intake_time(
        open_case, ts_env, sessions):
    case = await open_case(serial="CT-JB-0003", hospital="H-JB")  # default policy: general 72 h
    view = await to_arrived(case, "general")
    opened_at = view.opened_at
    assert commitment(view, "restore").due_at == opened_at + timedelta(hours=72)

    await case.sleep(hours=2)
    view = await case.act("reclassify", SUPERVISOR, severity="severe", reason="影响多个科室检查")
    assert view.severity == "severe"
    restore = commitment(view, "restore")
    assert restore.started_at == opened_at
    assert restore.due_at == opened_at + timedelta(hours=24)
    assert commitment(view, "arrival").state == "met"
    row = [e for e in timeline(sessions, case.case_id) if e.event == "reclassify"][-1]
    assert row.data == {"from": "general", "to": "severe", "reason": "影响多个科室检查"}
    assert case_row(sessions, case.case_id).severity == "severe"


async def test_reclassify_past_the_new_deadline_escalates_at_once(open_case, ts_env, sessions):
    case = await open_case(serial="CT-JB-0003", hospital="H-JB")
    view = await to_arrived(case, "general")
    opened_at = view.opened_at
    await advance_to(ts_env, opened_at + timedelta(hours=30))
    await case.act("reclassify", SUPERVISOR, severity="severe", reason="主要功能丧失")
    await case.sleep(seconds=1)
    restore = commitment(await case.state(), "restore")
    assert restore.state == "breached"
    assert [f.level for f in restore.fired] == [1]  # the warning after the breach is moot
    assert restore.fired[0].scheduled_at == opened_at + timedelta(hours=24)
    assert [r.level for r in escalation_rows(sessions, case.case_id, "restore")] == [1]


@pytest.mark.parametrize(("severity", "restore_hours"), [("severe", 12), ("general", 48)])
async def test_workstation_software_crash_restores_in_12h_from_intake_when_severe(
        open_case, ts_env, severity, restore_hours):
    case = await open_case()  # CT-DH-0001 in warranty, HT-2025-RJ-001: general restore 48 h
    await to_work_approved(case, severity)
    await case.sleep(hours=1)
    view = await case.act("diagnose", ENGINEER, findings="工作站软件崩溃,无法重建图像",
                          fault_category="workstation_software_crash")
    restore = commitment(view, "restore")
    assert restore.due_at == view.opened_at + timedelta(hours=restore_hours)
    assert view.status == "repairing"


# ----- business-hours deadlines (contract HT-2025-RJ-001, minor) ---------------------------------

async def test_minor_deadlines_on_business_time_skip_nights_and_weekends(open_case, ts_env,
                                                                         policy_book):
    case = await open_case()
    view = await case.act("classify", SUPERVISOR, severity="minor")
    calendar = policy_book.pin(CONTRACT, view.opened_at).calendar("business")
    arrival, restore = commitment(view, "arrival"), commitment(view, "restore")
    assert arrival.calendar == restore.calendar == "business"
    assert view.contract_code == CONTRACT
    for c, working in ((arrival, timedelta(hours=9, minutes=30)),
                       (restore, 7 * timedelta(hours=9, minutes=30))):
        assert c.due_at == calendar.add(view.opened_at, working)
        assert calendar.between(view.opened_at, c.due_at) == working
        local = calendar.local(c.due_at)
        assert calendar.is_working_day(local.date())
        assert time(8, 0) < local.time() <= time(17, 30)
    # One working day is 9.5 h of opening hours, never reached in 9.5 h of elapsed time.
    assert arrival.due_at - view.opened_at > timedelta(hours=9, minutes=30)


async def test_minor_case_without_a_business_contract_runs_on_7x24(open_case, ts_env):
    case = await open_case(serial="CT-JB-0003", hospital="H-JB")
    view = await case.act("classify", SUPERVISOR, severity="minor")
    arrival, restore = commitment(view, "arrival"), commitment(view, "restore")
    assert arrival.calendar == restore.calendar == "7x24"
    assert arrival.due_at == view.opened_at + timedelta(hours=24)
    assert restore.due_at == view.opened_at + timedelta(days=7)


@pytest.fixture
async def own_env(sessions) -> AsyncIterator[tuple[WorkflowEnvironment, str]]:  # type: ignore[no-untyped-def]
    """A private time-skipping server: the holiday test jumps weeks ahead, which must not move
    the shared server's clock (other tests assume units still in warranty)."""
    async with private_server(sessions, "ts-holiday") as server:
        yield server


async def test_business_deadlines_and_their_ladder_skip_a_public_holiday(own_env, sessions,
                                                                        policy_book):
    env, queue = own_env
    now = await env.get_current_time()
    calendar = policy_book.pin(CONTRACT, now).calendar("business")

    def next_working_day(day):  # type: ignore[no-untyped-def]
        day += timedelta(days=1)
        while not calendar.is_working_day(day):
            day += timedelta(days=1)
        return day

    # The next public holiday on a weekday, and the working day before it, 15:00 local.
    holiday = calendar.local(now).date() + timedelta(days=2)
    while calendar.is_working_day(holiday) or holiday.weekday() >= 5:
        holiday += timedelta(days=1)
    eve = holiday - timedelta(days=1)
    while not calendar.is_working_day(eve):
        eve -= timedelta(days=1)
    await advance_to(env, datetime.combine(eve, time(15, 0), SHANGHAI))

    case = await RepairDriver.open(env, queue, sessions, policy_book)  # CT-DH-0001, H-DH
    view = await case.act("classify", SUPERVISOR, severity="minor")
    opened = calendar.local(view.opened_at)
    assert opened.date() == eve and time(15, 0) <= opened.time() < time(15, 10)
    arrival, restore = commitment(view, "arrival"), commitment(view, "restore")

    # 1 working day: 2.5 h left on the eve, the holiday (and any weekend) skipped, the rest
    # on the next working day: the same time of day, one working day later.
    first = next_working_day(eve)
    assert first > holiday
    assert calendar.local(arrival.due_at).date() == first
    assert calendar.local(arrival.due_at).time() == opened.time()
    # "7d" of business time: seven working days later at the same time of day.
    seventh = eve
    for _ in range(7):
        seventh = next_working_day(seventh)
    assert calendar.local(restore.due_at).date() == seventh
    assert calendar.local(restore.due_at).time() == opened.time()

    # Nothing escalates over the holiday: at opening time of the first working day after it
    # the arrival has used 2.5 of its 9.5 working hours.
    await advance_to(env, datetime.combine(first, time(8, 0), SHANGHAI))
    assert commitment(await case.state(), "arrival").fired == []
    assert escalation_rows(sessions, case.case_id, "arrival") == []

    await advance_to(env, arrival.due_at + timedelta(minutes=1))
    arrival = commitment(await case.state(), "arrival")
    assert arrival.state == "breached"
    working = timedelta(hours=9, minutes=30)
    assert [f.level for f in arrival.fired] == [0, 1]
    for fired in arrival.fired:
        assert fired.scheduled_at == calendar.add(view.opened_at, working * LADDER[fired.level])
        assert calendar.local(fired.scheduled_at).date() == first
        assert timedelta(0) <= fired.fired_at - fired.scheduled_at < PROMPT
    rows = escalation_rows(sessions, case.case_id, "arrival")
    assert [(r.level, r.scheduled_at) for r in rows] == \
        [(f.level, f.scheduled_at) for f in arrival.fired]


async def test_an_unconfirmed_handover_stops_escalating_once_the_repair_is_resolved(
        ts_env, ts_worker, sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.walk_to("acknowledged")  # assigned, but the hotline never confirms the hand-over
    await case.walk_to("awaiting_confirmation")
    handover = commitment(await case.state(), "handover")
    assert handover.state == "waived" and handover.waived_reason == "resolved"
    await case.sleep(hours=10)  # far past every rung of the 1 h hand-over check
    assert escalation_rows(sessions, case.case_id, "handover") == []


async def test_a_missed_callback_climbs_the_ladder_in_days_not_in_what_was_left_of_the_day(
        ts_env, ts_worker, sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.walk_to("awaiting_callback")
    callback = commitment(await case.state(), "callback")
    started, due = callback.started_at, callback.due_at
    assert due.astimezone(ZoneInfo("Asia/Shanghai")).time() == time(23, 59, 59)
    await advance_to(ts_env, due + timedelta(days=2))
    callback = commitment(await case.state(), "callback")
    scheduled = {f.level: f.scheduled_at for f in callback.fired}
    assert set(scheduled) == {0, 1, 2, 3}
    assert scheduled[0] == started + (due - started) * 0.75  # the warning: 75% of the day left
    assert scheduled[1] == due
    assert scheduled[2] == due + timedelta(hours=12)  # 1.5: half a day past due
    assert scheduled[3] == due + timedelta(hours=36)  # 2.5: a day and a half past due
    assert len(escalation_rows(sessions, case.case_id, "callback")) == 4


def test_reminders_fire_every_interval_before_due_then_the_ladder_takes_over(policy_book):
    """A commitment with `remind_every` reminds its owner at each multiple before due (rungs
    -1, -2, ...), then warns and escalates as usual; none of it moves while paused."""
    from caseflow.domain.policy import CommitmentSpec
    from caseflow.workflows.sla import Deadlines

    start = datetime(2027, 3, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    book = Deadlines(policy_book.pin(None, start))
    spec = CommitmentSpec.model_validate({"within": "7d", "remind_every": "2d",
                                          "owner": "hotline", "label": "签字 signatures"})
    book.start("signatures", spec, at=start)
    day = timedelta(days=1)
    assert [(lvl, at - start) for lvl, at, _ in book._pending(book.commitments["signatures"])][:4] \
        == [(-1, 2 * day), (-2, 4 * day), (-3, 6 * day), (0, 7 * day * 0.75)]
    fired = book.due(start + 4 * day)
    assert [(f.level, f.notify) for f in fired] == [(-1, "hotline"), (-2, "hotline")]
    book.pause(at=start + 5 * day, reason="customer_postponed")
    assert book.due(start + 30 * day) == []  # paused: nothing more
    book.resume(at=start + 6 * day)
    fired = book.due(start + 9 * day)  # 8 days of clock: past the reminder 3 and due
    assert [f.level for f in fired] == [1], "a reminder after the breach tells nobody anything"
    assert fired[0].scheduled_at == start + 8 * day


# ----- no case without a clock: classification ---------------------------------------------------

async def test_an_unclassified_repair_runs_a_classification_clock_and_the_strictest_arrival(
        open_case, ts_env, sessions):
    case = await open_case()  # HT-2025-RJ-001: arrival 30 min, minor 1 business day
    view = await case.state()
    assert view.severity is None
    classification = commitment(view, "classification")
    assert classification.state == "open"
    assert classification.due_at == view.opened_at + timedelta(minutes=15)
    arrival = commitment(view, "arrival")
    assert arrival.started_at == view.opened_at
    assert arrival.due_at == view.opened_at + timedelta(minutes=30)  # the strictest, not minor's

    await case.sleep(minutes=5)
    view = await case.act("classify", SUPERVISOR, severity="minor")
    assert commitment(view, "classification").state == "met"
    arrival = commitment(view, "arrival")  # recomputed from the intake, as reclassify does
    assert arrival.started_at == view.opened_at and arrival.state == "open"
    assert arrival.due_at > view.opened_at + timedelta(hours=8)
    assert escalation_rows(sessions, case.case_id, "classification") == []


async def test_a_repair_nobody_classifies_escalates_to_the_supervisor_at_once(
        open_case, ts_env, sessions):
    case = await open_case(serial="CT-JB-0003", hospital="H-JB")
    opened_at = (await case.state()).opened_at
    await advance_to(ts_env, opened_at + timedelta(minutes=24))  # past 1.5 x 15 min
    classification = commitment(await case.state(), "classification")
    assert classification.state == "breached"
    assert [f.level for f in classification.fired] == [0, 1, 2]
    rows = escalation_rows(sessions, case.case_id, "classification")
    assert [(r.level, r.notify) for r in rows] == [(0, "supervisor"), (1, "supervisor"),
                                                  (2, "manager")]
    # Not classified yet counts as critical: the breach goes out at once, day or night.
    assert set(notified(sessions, case.case_id, "classification", 1, 1).values()) == {True}
    view = await case.act("classify", SUPERVISOR, severity="general")
    assert commitment(view, "classification").state == "met_late"
    await case.sleep(hours=1)  # long past level 3: the ladder stopped at the classification
    assert [r.level for r in escalation_rows(sessions, case.case_id, "classification")] == [0, 1, 2]
