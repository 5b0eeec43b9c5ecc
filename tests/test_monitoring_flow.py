"""A repair opened by remote monitoring on the time-skipping server: its deadlines run like any
repair's, the monitoring integration's steps are its own, and a repair whose alarms cleared
before anyone acted closes as self-resolved, which ends its escalations."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.repair_driver import ENGINEER, HOTLINE, MONITORING, SUPERVISOR, RepairDriver

ALARM = {"episode_id": 7, "code": "MR-COMPRESSOR", "severity": "alarm",
         "raised_at": "2026-11-20T09:30:00+08:00", "alarms": 40,
         "values": [{"name": "compressor_pressure", "value": 1.2, "unit": "MPa", "low": 1.5}]}


async def open_by_alarm(ts_env, ts_worker, sessions, policy_book) -> RepairDriver:  # type: ignore[no-untyped-def]
    return await RepairDriver.open(
        ts_env, ts_worker.task_queue, sessions, policy_book, opened_by=MONITORING,
        serial="MR-DH-0002", channel="remote_monitoring", severity="severe",
        symptom="氦压缩机故障 helium compressor fault (MR-COMPRESSOR)",
        alarm_codes=["MR-COMPRESSOR"], alarm_values=ALARM["values"])


async def test_an_alarm_repair_left_alone_escalates_and_closes_self_resolved_once_cleared(
        ts_env, ts_worker, sessions, policy_book):
    case = await open_by_alarm(ts_env, ts_worker, sessions, policy_book)
    await case.sleep(minutes=40)  # the 30-minute arrival of a severe fault is missed
    view = await case.state()
    assert view.breached and view.escalation_level >= 1
    assert view.alarm_episodes == 1 and not view.self_resolvable
    cleared = await case.act("alarm-cleared", MONITORING, episode_id=7, code="MR-COMPRESSOR",
                             cleared_at="2026-11-20T09:50:00+08:00", alarms=40)
    assert cleared.self_resolvable and "close-self-resolved" in cleared.allowed_actions
    closed = await case.act("close-self-resolved", SUPERVISOR, reason="压缩机自动重启,压力恢复正常")
    assert closed.status == "closed" and closed.outcome == "self_resolved"
    result = await case.result()  # the workflow has ended: nothing escalates any more
    assert result.outcome == "self_resolved" and result.breached
    final = await case.state()
    assert final.escalation_level == view.escalation_level
    assert all(c.state in ("met", "met_late", "breached", "waived") for c in final.commitments)


async def test_a_new_episode_after_the_clearing_withdraws_self_resolution(
        ts_env, ts_worker, sessions, policy_book):
    case = await open_by_alarm(ts_env, ts_worker, sessions, policy_book)
    await case.act("alarm-cleared", MONITORING, episode_id=7, code="MR-COMPRESSOR",
                   cleared_at="2026-11-20T09:35:00+08:00", alarms=3)
    view = await case.act("alarm", MONITORING, **{**ALARM, "episode_id": 8})
    assert view.alarm_episodes == 2 and not view.self_resolvable
    assert view.alarm_cleared_at is None
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.step("close-self-resolved", SUPERVISOR, reason="x")
    assert refused.value.cause.type == "InvalidTransition"


async def test_only_the_monitoring_integration_feeds_alarms_and_people_act_as_before(
        ts_env, ts_worker, sessions, policy_book):
    case = await open_by_alarm(ts_env, ts_worker, sessions, policy_book)
    for actor in (HOTLINE, SUPERVISOR, ENGINEER):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await case.step("alarm", actor, **ALARM)
        assert refused.value.cause.type == "NotPermitted"
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await case.step("assign", MONITORING, engineer_id=ENGINEER.id)
    assert refused.value.cause.type == "NotPermitted"
    view = await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id,
                          engineer_name=ENGINEER.name)
    assert view.status == "assigned" and view.opened_by.role == "monitoring"
    # A person acted: a clearing now is recorded, but does not make it self-resolvable.
    cleared = await case.act("alarm-cleared", MONITORING, episode_id=7, code="MR-COMPRESSOR",
                             cleared_at="2026-11-20T09:50:00+08:00", alarms=40)
    assert cleared.alarm_cleared_at is not None and not cleared.self_resolvable
