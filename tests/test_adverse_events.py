"""Adverse events on the time-skipping test server (DOMAIN.md section 5, docs/regulatory.md).

The regulators' clocks run from the company's first awareness (the intake of the case that
recorded the event), per jurisdiction where the unit is registered, on the calendar the policy
names: calendar days for NMPA and the MDR, FDA work days that skip a weekend. A late report
climbs the ladder once per level; the validator refuses what regulatory affairs may not do.
Each scenario is checked in the workflow's view and in what the activities wrote to PostgreSQL.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from caseflow.domain.adverse_event import AdverseEventView
from caseflow.domain.sla import CommitmentView
from caseflow.store.models import Escalation
from tests.adverse_event_driver import REGULATORY, AdverseEventDriver, origin_of
from tests.complaint_driver import ComplaintDriver
from tests.repair_driver import SUPERVISOR, RepairDriver
from tests.test_deadlines import LADDER, PROMPT, advance_to

BEIJING = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
DAY = timedelta(days=1)


def quiet_friday_evening(now: datetime) -> datetime:
    """The next Friday, 17:00 Beijing time, with no public holiday (nor adjusted working day) in
    China or the US in the three weeks after it: the expected dues are then plain days."""
    day = (now.astimezone(BEIJING) + 2 * DAY).date()
    while True:
        day += timedelta(days=(4 - day.weekday()) % 7)
        days = {day + timedelta(days=n) for n in range(22)}
        cn = holidays.country_holidays("CN", years={d.year for d in days})
        us = holidays.country_holidays("US", years={d.year for d in days})
        adjusted = set(getattr(cn, "weekend_workdays", ()))
        if not any(d in cn or d in us or d in adjusted for d in days):
            return datetime.combine(day, time(17, 0), BEIJING)
        day += timedelta(days=7)


def report(view: AdverseEventView, key: str) -> CommitmentView:
    return next(c for c in view.commitments if c.key == key)


async def at_friday_evening(env) -> datetime:  # type: ignore[no-untyped-def]
    friday = quiet_friday_evening(await env.get_current_time())
    await advance_to(env, friday)
    return friday


def escalations(sessions, case_id: str) -> list[tuple[str, int]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return [(e.commitment, e.level) for e in session.scalars(
            select(Escalation).where(Escalation.case_id == case_id).order_by(Escalation.id))]


async def refused(case: AdverseEventDriver, action: str, kind: str, field: str | None = None,
                  actor=REGULATORY, **payload) -> ApplicationError:  # type: ignore[no-untyped-def]
    before = await case.state()
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await case.act(action, actor, **payload)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == kind, cause
    if field is not None:
        assert cause.details and cause.details[0] == {"field": field}, cause.details
    after = await case.state()
    assert after.steps == before.steps and after.reports == before.reports
    return cause


async def test_a_serious_injury_recorded_friday_evening_owes_nmpa_20_days_and_the_mdr_15_from_the_complaints_intake(  # noqa: E501
        private_env, sessions, policy_book):
    env, queue = private_env
    friday = await at_friday_evening(env)
    complaint = await ComplaintDriver.open(env, queue, policy_book, category="equipment_failure",
                                           equipment_serial="CT-DH-0001",
                                           matter="CT检查床下降时夹伤患者")
    recorded = await complaint.state()
    assert recorded.opened_at - friday < PROMPT
    await complaint.sleep(days=2, hours=3)  # the review takes a weekend
    case = await AdverseEventDriver.open(env, queue, sessions, policy_book,
                                         jurisdictions=["CN", "EU"], origin=origin_of(recorded))
    view = await case.state()
    assert view.aware_at == recorded.opened_at and view.opened_at > view.aware_at + 2 * DAY
    nmpa, mdr = report(view, "report:CN"), report(view, "report:EU")
    assert nmpa.started_at == mdr.started_at == recorded.opened_at
    assert nmpa.due_at == recorded.opened_at + 20 * DAY
    assert mdr.due_at == recorded.opened_at + 15 * DAY
    assert nmpa.due_at.astimezone(BEIJING).strftime("%a %H:%M") == "Thu 17:00"
    assert [(r.jurisdiction, r.regulator.split()[0], r.within) for r in view.reports] == [
        ("CN", "NMPA", "20d"), ("EU", "EU", "15d")]
    assert all(r.source for r in view.reports)
    assert view.assignee == REGULATORY and view.status == "recorded"


async def test_a_us_five_work_day_report_skips_the_weekend(private_env, sessions, policy_book):
    env, queue = private_env
    friday = await at_friday_evening(env)
    case = await AdverseEventDriver.open(env, queue, sessions, policy_book, jurisdictions=["US"],
                                         event_type="public_health_threat", serial="MR-DH-0002")
    fda = report(await case.state(), "report:US")
    # Friday 17:00 in Beijing is Friday morning in New York, before its working day: the five
    # work days are Friday and Monday to Thursday, 09:00-17:00 each.
    due = fda.due_at.astimezone(NEW_YORK)
    assert fda.started_at - friday < PROMPT
    assert due.date() == friday.astimezone(NEW_YORK).date() + 6 * DAY
    assert due.strftime("%a %H:%M") == "Thu 17:00"


async def test_a_death_found_during_a_repair_counts_from_the_repairs_intake(
        private_env, sessions, policy_book):
    env, queue = private_env
    repair = await RepairDriver.open(env, queue, sessions, policy_book)
    await repair.act("classify", SUPERVISOR, severity="severe", reason="检查床失控")
    intake = await repair.state()
    await repair.sleep(hours=30)
    case = await AdverseEventDriver.open(env, queue, sessions, policy_book, jurisdictions=["CN"],
                                         event_type="death", origin=origin_of(intake))
    nmpa = report(await case.state(), "report:CN")
    assert nmpa.started_at == intake.opened_at
    assert nmpa.due_at == intake.opened_at + 7 * DAY


async def test_a_late_report_climbs_the_ladder_once_per_level_and_no_further(
        private_env, sessions, policy_book):
    env, queue = private_env
    case = await AdverseEventDriver.open(env, queue, sessions, policy_book, jurisdictions=["CN"],
                                         event_type="death")
    aware = (await case.state()).aware_at
    await advance_to(env, aware + 7 * DAY * 2.5 + timedelta(hours=1))  # past level 3
    late = await case.submit("CN", "NMPA-2026-000123")
    nmpa = report(late, "report:CN")
    assert nmpa.state == "met_late" and late.status == "reported"
    assert [f.level for f in nmpa.fired] == [0, 1, 2, 3]
    for fired in nmpa.fired:
        assert fired.scheduled_at == aware + 7 * DAY * LADDER[fired.level], fired
        assert fired.fired_at - fired.scheduled_at < PROMPT
    await case.sleep(days=3)
    # A later step proves the workflow went on past the submission before counting rungs.
    await case.act("investigate", REGULATORY, findings="检查床液压阀失效,已更换")
    assert escalations(sessions, case.case_id) == [("report:CN", level) for level in range(4)]


async def test_reports_follow_ups_and_closing(private_env, sessions, policy_book):
    env, queue = private_env
    case = await AdverseEventDriver.open(env, queue, sessions, policy_book,
                                         jurisdictions=["CN", "EU"], event_type="malfunction")
    await case.sleep(days=1)
    view = await case.act("classify", REGULATORY, event_type="serious_injury",
                          reason="患者腰部受伤,属严重伤害")
    assert report(view, "report:EU").due_at == view.aware_at + 15 * DAY  # from the awareness
    await refused(case, "close", "InvalidTransition", evaluation="尚未报告")
    await case.submit("CN", "NMPA-1")
    view = await case.submit("EU", "MIR-2026-77")
    assert view.status == "reported"
    await refused(case, "classify", "InvalidTransition", event_type="death", reason="改判")
    view = await case.act("request-follow-up", REGULATORY, jurisdiction="EU", kind="final",
                          reason="主管当局要求提交最终报告")
    follow = report(view, "follow_up:EU:F1")
    assert follow.due_at == view.steps[-1].at + 30 * DAY
    await refused(case, "close", "InvalidTransition", evaluation="仍有报告")
    await case.sleep(days=5)
    await case.submit("EU", "MIR-2026-77-F", report="F1")
    view = await case.act("close", REGULATORY, evaluation="液压阀批次问题,已召回", reply="已答复医院")
    assert view.status == "closed" and not view.allowed_actions
    assert [(r.id, r.submission.reference) for r in view.reports if r.submission] == [
        ("initial", "NMPA-1"), ("initial", "MIR-2026-77"), ("F1", "MIR-2026-77-F")]
    assert await case.result() == "closed"


async def test_bad_steps_are_refused_and_change_nothing(private_env, sessions, policy_book):
    env, queue = private_env
    case = await AdverseEventDriver.open(env, queue, sessions, policy_book, jurisdictions=["CN"])
    now = await env.get_current_time()
    submit = dict(submitted_at=now.isoformat(), channel="系统", reference="R-1")
    cause = await refused(case, "submit", "InvalidPayload", "jurisdiction", jurisdiction="XX",
                          **submit)
    assert "XX" in cause.message
    cause = await refused(case, "submit", "InvalidTransition", jurisdiction="US", **submit)
    assert "not registered in US" in cause.message
    cause = await refused(case, "classify", "InvalidPayload", "event_type", event_type="bruise",
                          reason="不明")
    assert "bruise" in cause.message
    await refused(case, "submit", "InvalidPayload", "submitted_at", jurisdiction="CN",
                  **{**submit, "submitted_at": (now + DAY).isoformat()})
    await refused(case, "submit", "NotPermitted", actor=SUPERVISOR, jurisdiction="CN", **submit)
    await refused(case, "submit", "InvalidTransition", jurisdiction="CN", report="F9", **submit)
    view = await case.submit("CN", "NMPA-9")
    await refused(case, "submit", "InvalidTransition", jurisdiction="CN", **submit)
    await case.act("close", REGULATORY, evaluation="评价完成")
    assert (await case.state()).status == "closed" and view.status == "reported"
