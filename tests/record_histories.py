"""Records the saved histories in tests/histories/ (run by hand when a new one is wanted).

    .venv/bin/python -m tests.record_histories

Each history is a real run of today's workflow on the time-skipping test server, with the
activities writing to a throwaway SQLite database. Once committed, a history is never
re-recorded: CI replays it against later code, which is the point. A case that continued as new
is saved as one file per run (`NAME.run1.json`, `NAME.run2.json`...), each replayed on its own.

The `lean_` histories were recorded after the lean-histories patch (one local activity per
step, continue-as-new); the others before it, and replay on the older path. The `v1_` ones
were opened by code version 1 (CaseStart.version): lean, with every patch of that code in force
and no patch marker in their histories; the `v3_` ones by version 3 (the deadline watcher
escalating by its timer, reviews and group events in force, still no patch marker). The
`compact_` ones were written with the pinned policy leaving out its defaults (`LeanInHistory`,
docs/architecture.md "Lean case histories").
"""

from __future__ import annotations

import asyncio
import tempfile
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from temporalio.testing import WorkflowEnvironment

from caseflow.domain.policy_loader import load_policy
from caseflow.replay import case_runs
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.policies import PolicySource
from caseflow.store.seed import load_reference_data
from caseflow.temporal import DATA_CONVERTER, binary, ensure_search_attributes
from caseflow.worker import build_worker
from tests.adverse_event_driver import (
    REGULATORY,
    AdverseEventDriver,
    groups_of,
    model_of,
    units_of_one_model,
)
from tests.complaint_driver import MANAGER, ComplaintDriver
from tests.emergency_driver import CHAIN, EN1, EN2, EmergencyDriver, new_hospital
from tests.installation_driver import IN_SPEC, InstallationDriver, site
from tests.repair_driver import (
    ENGINEER,
    HOTLINE,
    MONITORING,
    PASSING_VERIFICATION,
    SUPERVISOR,
    RepairDriver,
)
from tests.test_maintenance import PlanDriver, VisitDriver, change, open_visit, start_plan
from tests.test_reviews import ReviewDriver, linked
from tests.waiting import until

OUT = Path(__file__).parent / "histories"


async def happy_path(case: RepairDriver) -> None:
    await case.walk_to("closed")


async def quotation_escalation_dispute(case: RepairDriver) -> None:
    """Out of warranty, classified late, arrival missed (ladder), quotation pause, dispute."""
    await case.sleep(minutes=10)
    await case.act("classify", SUPERVISOR, severity="severe", reason="主要功能丧失")
    await case.act("assign", SUPERVISOR, engineer_id="EN-03", engineer_name="刘洋")
    await case.act("pause", HOTLINE, reason="customer_postponed", note="科室下午才能停机")
    await case.sleep(minutes=20)
    await case.act("resume", HOTLINE)
    await case.sleep(minutes=60)  # arrival now missed: warning, level 1, level 2
    engineer = ENGINEER.model_copy(update={"id": "EN-03", "name": "刘洋"})
    await case.act("acknowledge", engineer)
    await case.act("arrive", engineer, mode="on_site")
    await case.act("report-site", engineer, condition="机房漏水,已处理")
    await case.act("approve-start", SUPERVISOR)
    await case.act("diagnose", engineer, findings="高压发生器故障", fault_category="other")
    await case.act("quote", engineer, amount="12800.00", items=[
        {"description": "高压发生器维修", "amount": "12800.00"}])
    await case.sleep(hours=5)
    await case.act("approve-quote", HOTLINE, approved_by="设备科 王主任")
    await case.act("order-parts", engineer, parts=[{"part_no": "HV-9", "name": "高压模块"}])
    await case.act("parts-arrived", engineer)
    await case.act("progress", engineer, note="高压模块已更换,正在复测")
    await case.act("resolve", engineer, summary="更换高压模块", verification=PASSING_VERIFICATION)
    await case.act("dispute", HOTLINE, reason="图像仍有伪影")
    await case.act("resolve", engineer, summary="重新校准", verification=PASSING_VERIFICATION)
    await case.act("confirm", HOTLINE, confirmed_by="李医生")
    await case.act("callback", HOTLINE, satisfaction=2, comment="修复太慢", complaint=True)


async def reassign_pause_late_progress(case: RepairDriver) -> None:
    """Revision 2 of the deadline machinery: paused before classification, re-assigned, a
    missed progress round that stays breached after a late report."""
    await case.act("pause", HOTLINE, reason="device_unavailable", note="设备正在给急诊病人扫描")
    await case.sleep(minutes=40)
    await case.act("classify", SUPERVISOR, severity="general")
    await case.act("resume", HOTLINE)
    await case.act("assign", SUPERVISOR, engineer_id="EN-02", engineer_name="陈静")
    await case.sleep(minutes=30)
    await case.act("assign", SUPERVISOR, engineer_id="EN-01", engineer_name="张伟")
    await case.act("acknowledge", ENGINEER)
    await case.act("confirm-handover", HOTLINE)
    await case.act("arrive", ENGINEER, mode="remote")
    await case.act("report-site", ENGINEER, condition="远程连接正常")
    await case.act("approve-start", SUPERVISOR)
    await case.act("diagnose", ENGINEER, findings="软件配置丢失", fault_category="other")
    await case.sleep(hours=26)
    await case.act("progress", ENGINEER, note="重装软件中")
    await case.act("resolve", ENGINEER, summary="重装工作站软件", verification=PASSING_VERIFICATION)
    await case.act("confirm", HOTLINE, confirmed_by="设备科")
    await case.act("callback", HOTLINE, satisfaction=3)


async def missed_callback(case: RepairDriver) -> None:
    """Revision 3: a callback nobody made climbs the ladder in days after 23:59."""
    await case.walk_to("awaiting_callback")
    await case.sleep(days=3)
    await case.act("callback", HOTLINE, satisfaction=4, comment="回访晚了,但问题已解决")


async def callback_opens_complaint(case: RepairDriver) -> None:
    """The closed loop: a dissatisfied callback opens a complaint; the repair waits for it."""
    await case.walk_to("awaiting_callback")
    await case.act("callback", HOTLINE, satisfaction=1, comment="设备三天后又坏了")
    while not (view := await case.state()).linked_cases:
        await asyncio.sleep(0.05)
    complaint = ComplaintDriver(case.env, case.env.client.get_workflow_handle(
        view.linked_cases[0].case_id))
    await complaint.act("first-feedback", HOTLINE, note="已受理")
    await complaint.act("withdraw", HOTLINE, reason="设备已正常,客户撤诉")


async def critical_opens_emergency(case: RepairDriver) -> None:
    """Opened critical: a linked emergency is declared at once; the repair goes on to close."""
    while not (view := await case.state()).linked_cases:
        await asyncio.sleep(0.05)
    emergency = EmergencyDriver(case.env, case.env.client.get_workflow_handle(
        view.linked_cases[0].case_id))
    await emergency.pages(1)
    await emergency.act("stand-down", SUPERVISOR, reason="维修单已覆盖,无需应急")
    await case.walk_to("closed")


async def repair_waits_weeks(case: RepairDriver) -> None:
    """A repair waiting for parts with a progress report a day, long enough to continue as
    new; then resolved and closed in its second run."""
    await case.walk_to("repairing")
    await case.act("order-parts", ENGINEER, parts=[{"part_no": "DET-8", "name": "探测器模块"}])
    day = 0
    while (await case.state()).run == 1:
        day += 1
        await case.sleep(hours=20)
        await case.step("progress", ENGINEER, note=f"第{day}天: 探测器模块仍在途中")
    await case.act("parts-arrived", ENGINEER)
    await case.act("resolve", ENGINEER, summary="更换探测器模块", verification=PASSING_VERIFICATION)
    await case.act("confirm", HOTLINE, confirmed_by="李医生")
    await case.act("callback", HOTLINE, satisfaction=4, comment="等待时间长,但修好了")


async def alarm_self_resolved(case: RepairDriver) -> None:
    """Opened by remote monitoring; a second fault episode added, then every alarm cleared
    before anyone acted; the supervisor closes it as self-resolved."""
    await case.sleep(minutes=10)
    await case.act("alarm", MONITORING, episode_id=2, code="MR-GRADIENT-TEMP", severity="alarm",
                   raised_at="2026-11-20T09:40:00+08:00", alarms=12,
                   values=[{"name": "gradient_temp", "value": 41.5, "unit": "°C", "high": 40}])
    await case.act("alarm-cleared", MONITORING, episode_id=2, code="MR-GRADIENT-TEMP",
                   cleared_at="2026-11-20T09:55:00+08:00", alarms=12)
    await case.act("close-self-resolved", SUPERVISOR, reason="梯度线圈冷却恢复,远程确认正常")


async def emergency_unanswered_continues(case: EmergencyDriver) -> None:
    """Nobody answers for 11 hours: the chain is paged every 5 minutes, round after round,
    and the emergency continues as new while paging; then acknowledged and stood down."""
    await case.pages(1)
    while (await case.state()).run == 1:
        await case.sleep(hours=1)
    view = await case.state()
    await case.act("acknowledge", view.pages[-1].people[0], note="刚看到呼叫")
    await case.act("stand-down", MANAGER, reason="患者已转院,设备停用待修")


async def emergency_climbs_then_closed(case: EmergencyDriver) -> None:
    """Nobody answers for 12 minutes (three levels paged), the manager acknowledges; a late
    team, a failed check, a review action done late, closed."""
    await case.pages(1)
    await case.sleep(minutes=12)
    await case.pages(3)
    await case.act("acknowledge", MANAGER, note="我来协调")
    await case.act("dispatch", MANAGER, team=[{"person_id": EN1.id, "person_name": EN1.name},
                                              {"person_id": EN2.id, "person_name": EN2.name}],
                   parts=["检查床驱动板"])
    await case.sleep(minutes=35)  # on site missed: warning, then the supervisor
    await case.act("on-site", EN1, mode="on_site")
    await case.act("safety-measures", EN1, measures=["患者转移至 CT-2", "断电退床"])
    await case.act("progress", EN2, message="正在更换驱动板")
    await case.act("restored", EN1, summary="更换驱动板")
    check = {"functions_ok": True, "running_state_ok": True, "electrical_safety_ok": False,
             "parameters": [{"name": "CT值 水模", "value": 1.0, "unit": "HU", "low": -4,
                             "high": 4}]}
    await case.act("performance-check", EN1, **check)
    await case.act("restored", EN1, summary="重新接地")
    await case.act("performance-check", EN1, **(check | {"electrical_safety_ok": True}))
    await case.act("survey", HOTLINE, satisfaction=4, comment="响应及时")
    await case.act("review", SUPERVISOR, root_cause="驱动板老化", summary="加入巡检", actions=[
        {"description": "同型号驱动板巡检", "owner_id": EN2.id, "owner_name": EN2.name,
         "due_at": await case.due_in(days=2)}])
    await case.sleep(days=3)  # the action is missed: its owner is warned, then escalated
    await case.act("complete-action", EN2, action_id="A1", result="已巡检")
    await case.act("close", MANAGER, note="复盘完成")


async def installation_site_fix_to_acceptance(case: InstallationDriver) -> None:
    """A failed site check (clock paused, reminders), an out-of-spec round, late signatures
    (reminded), accepted: the unit goes into service and its plan starts."""
    await case.walk_to("ordered")
    await case.act("assess-site", ENGINEER, **site(failing=("grounding",)))
    await case.sleep(days=3)
    await case.act("assess-site", ENGINEER, **site())
    await case.walk_to("commissioned")
    await case.act("verify", ENGINEER, parameters=[dict(IN_SPEC[0], value=7.5), *IN_SPEC[1:]])
    await case.act("commission", ENGINEER, note="重新校准")
    await case.walk_to("trained")
    await case.act("sign", MANAGER, party="vendor", signer_name="赵敏", signature_ref="v.pdf")
    await case.sleep(days=3)
    await case.walk_to("accepted")


async def installation_refused_then_accepted(case: InstallationDriver) -> None:
    """The hospital refuses to sign: rework on a new commissioning window, verified again,
    training kept, signed by both. (Signatures counted from the verification.)"""
    await case.walk_to("trained")
    await case.act("sign", MANAGER, party="vendor", signer_name="赵敏", signature_ref="v.pdf")
    await case.act("refuse", HOTLINE, party="hospital", signer_name="吴工",
                   reason="图像均匀性不达标")
    await case.act("commission", ENGINEER, note="更换准直器后重新调试")
    await case.act("verify", ENGINEER, parameters=IN_SPEC)
    await case.sleep(days=3)
    await case.walk_to("accepted")


async def visit_finding_opens_repair(case: VisitDriver) -> None:
    await case.act("assign", SUPERVISOR, engineer_id="EN-01", engineer_name="张伟")
    await case.act("report", ENGINEER, cleaning={"done": True}, inspection={"done": True},
                   calibration=[{"name": "CT值 水模", "value": 0.8, "unit": "HU", "low": -4,
                                 "high": 4}],
                   findings=[{"description": "滑环碳刷磨损", "needs_repair": True,
                              "severity": "general"}])
    while not (await case.state()).linked_cases:
        await asyncio.sleep(0.05)
    await case.act("confirm", HOTLINE, confirmed_by="设备科 吴工")


async def plan_paused_resumed_ended(case: PlanDriver) -> None:
    """Two due dates: the first opens a visit, the second passes while paused; ended."""
    plan = await case.state()
    await case.sleep(days=31)
    while not (await case.state()).visits:
        await asyncio.sleep(0.05)
    await change(case.handle, "pause", reason="球管更换停机")
    await case.sleep(days=30)
    while len((await case.state()).visits) < 2:
        await asyncio.sleep(0.05)
    await change(case.handle, "resume", reason="恢复使用")
    await change(case.handle, "end", reason=f"设备报废 {plan.serial}")


async def complaint_reopened(case: ComplaintDriver) -> None:
    """Actions added mid-way, one missed, a dissatisfied callback (level 2), then closed."""
    await case.walk_to_answered(action_days=2)
    await case.act("add-action", SUPERVISOR, description="对全体工程师进行服务礼仪培训",
                   owner_id="SV-01", owner_name="李强", due_at=await case.due_in(days=1))
    await case.sleep(days=3)  # both actions missed: warnings and escalations
    await case.act("complete-action", ENGINEER, action_id="A1", result="负荷上限已上线")
    await case.act("complete-action", SUPERVISOR, action_id="A2", result="培训已完成")
    await case.act("callback", HOTLINE, satisfied=False, satisfaction=2, comment="整改太慢")
    await case.act("form-team", MANAGER, members=[{"name": "赵敏", "role": "quality_control"}])
    await case.act("record-findings", MANAGER, facts="整改超期两天")
    await case.act("root-cause", MANAGER, root_cause="整改措施无人跟踪")
    await case.act("plan", MANAGER, summary="建立整改跟踪表", actions=[
        {"description": "每周检查整改进度", "owner_id": "MG-01", "owner_name": "赵敏",
         "due_at": await case.due_in(days=5)}])
    await case.act("brief", MANAGER, summary="服务部通报")
    await case.act("answer", HOTLINE, answer="已升级处理并建立跟踪机制")
    await case.act("complete-action", MANAGER, action_id="A3", result="跟踪表已建立")
    await case.act("callback", HOTLINE, satisfied=True, satisfaction=5, comment="满意")
    await case.act("close", MANAGER, lessons_learned="整改措施必须有人跟踪到期")


async def adverse_event_late_then_closed(case: AdverseEventDriver) -> None:
    """CN and EU: classified again, the EU report on time, NMPA's late (the ladder), a final
    report asked for and sent, closed with the evaluation."""
    await case.sleep(hours=6)
    await case.act("classify", REGULATORY, event_type="serious_injury", reason="患者腰部受伤")
    await case.act("investigate", REGULATORY, findings="检查床液压阀失效", root_cause="阀门批次缺陷",
                   corrective_action="更换同批次液压阀")
    await case.sleep(days=10)
    await case.submit("EU", "MIR-2026-0042")
    await case.sleep(days=22)  # NMPA's 20 days missed: warning, level 1
    await case.submit("CN", "NMPA-2026-000123")
    await case.act("request-follow-up", REGULATORY, jurisdiction="EU", kind="final",
                   reason="主管当局要求提交最终报告")
    await case.sleep(days=3)
    await case.submit("EU", "MIR-2026-0042-F", report="F1")
    await case.act("close", REGULATORY, evaluation="液压阀批次缺陷,已召回", reply="已书面答复医院")


async def review_late_then_possibly_reportable(case: Any) -> None:
    """A flagged complaint's review: decided late (warning, levels 1 to 3), possibly
    reportable: it opens the adverse event, counted from the complaint's intake."""
    await case.sleep(days=3)
    await case.act("decide", REGULATORY, decision="possibly_reportable",
                   event_type="serious_injury", reason="检查床下降夹伤患者,可能与限位开关故障有关")


SCENARIOS = {
    "v1_repair_happy_path": (happy_path, {}),
    "v3_repair_happy_path": (happy_path, {}),
    "lean_repair_happy_path": (happy_path, {}),
    "lean_repair_callback_opens_complaint": (callback_opens_complaint, {}),
    "lean_repair_critical_opens_emergency": (critical_opens_emergency, {"severity": "critical"}),
    "lean_repair_waits_weeks_continues_as_new": (repair_waits_weeks, {"severity": "general"}),
    "lean_repair_alarm_self_resolved": (alarm_self_resolved, {
        "opened_by": MONITORING, "serial": "MR-DH-0002", "channel": "remote_monitoring",
        "severity": "severe", "symptom": "氦压缩机故障 helium compressor fault (MR-COMPRESSOR)",
        "alarm_codes": ["MR-COMPRESSOR"],
        "alarm_values": [{"name": "compressor_pressure", "value": 1.2, "unit": "MPa",
                          "low": 1.5}]}),
    "repair_happy_path": (happy_path, {}),
    "repair_quotation_escalation_dispute": (quotation_escalation_dispute,
                                            {"serial": "CT-JB-0003", "hospital": "H-JB"}),
    "repair_reassign_pause_late_progress": (reassign_pause_late_progress,
                                            {"serial": "MR-DH-0002"}),
    "repair_missed_callback": (missed_callback, {}),
    "repair_callback_opens_complaint": (callback_opens_complaint, {}),
    "repair_critical_opens_emergency": (critical_opens_emergency, {"severity": "critical"}),
}
COMPLAINT_SCENARIOS = {
    "complaint_reopened_then_closed": (complaint_reopened, {}),
    "lean_complaint_reopened_then_closed": (complaint_reopened, {}),
}
EMERGENCY_SCENARIOS = {
    "emergency_climbs_then_closed": (emergency_climbs_then_closed, {}),
    "lean_emergency_climbs_then_closed": (emergency_climbs_then_closed, {}),
    "v1_emergency_climbs_then_closed": (emergency_climbs_then_closed, {}),
    "v3_emergency_climbs_then_closed": (emergency_climbs_then_closed, {}),
    "lean_emergency_unanswered_continues_as_new": (emergency_unanswered_continues, {}),
}
ADVERSE_EVENT_SCENARIOS = {
    "lean_adverse_event_late_then_closed": (adverse_event_late_then_closed, {}),
    "v3_adverse_event_late_then_closed": (adverse_event_late_then_closed, {}),
}
# A review is opened by the case it reviews: the complaint is recorded with `intake`, the
# scenario runs on its review, whose history is saved.
REVIEW_SCENARIOS = {
    "lean_review_late_then_possibly_reportable": (review_late_then_possibly_reportable, {
        "category": "equipment_failure", "patient_harmed": "yes",
        "equipment_serial": "CT-DH-0001", "matter": "CT检查床下降时夹伤患者"}),
}
# Recorded after the reportability-review patch: a repair that opens its review at its close.
SCENARIOS["lean_repair_happy_path_screened"] = (happy_path, {})
# Recorded with the pinned policy leaving out its defaults in the start event.
SCENARIOS["compact_repair_happy_path"] = (happy_path, {})
EMERGENCY_SCENARIOS["compact_emergency_climbs_then_closed"] = (emergency_climbs_then_closed, {})
OTHER_SCENARIOS = {
    "lean_installation_site_fix_to_acceptance": installation_site_fix_to_acceptance,
    "v1_installation_site_fix_to_acceptance": installation_site_fix_to_acceptance,
    "lean_maintenance_visit_finding_opens_repair": visit_finding_opens_repair,
    "installation_site_fix_to_acceptance": installation_site_fix_to_acceptance,
    "installation_refused_then_accepted": installation_refused_then_accepted,
    "maintenance_visit_finding_opens_repair": visit_finding_opens_repair,
    "maintenance_plan_paused_resumed_ended": plan_paused_resumed_ended,
}


async def uptime_guard_breached(env: WorkflowEnvironment, sessions, book) -> Any:  # type: ignore[no-untyped-def]
    """The demo contract's uptime guard (95% a quarter): a critical repair on CT-JB-0003 left
    open warns at 75% of the budget and climbs the ladder; the guard continues as new after its
    looks of a run (its first run is the history)."""
    from caseflow.domain.guarantee import GuardStart
    from caseflow.workflows.uptime import LOOKS_PER_RUN, RECHECK, UptimeGuardWorkflow
    from tests.reliability_fixture import open_repair

    now = await env.get_current_time()
    open_repair(sessions, "H-JB", "CT-JB-0003", now, "critical",
                restore_within=timedelta(hours=24))
    handle = await env.client.start_workflow(
        UptimeGuardWorkflow.run, GuardStart(contract_code="HT-2024-JB-007"),
        id="UG-HT-2024-JB-007", task_queue="record")
    first_run = (await handle.describe()).run_id
    await env.sleep(RECHECK * (LOOKS_PER_RUN + 4))
    return env.client.get_workflow_handle(handle.id, run_id=first_run)


async def report_job_visit(env: WorkflowEnvironment, sessions, book) -> Any:  # type: ignore[no-untyped-def]
    """A maintenance visit's report made in the background, to done."""
    from caseflow.store.report_jobs import new_job
    from caseflow.workflows.report_job import ReportJobWorkflow
    from tests.reliability_fixture import CaseWriter

    now = await env.get_current_time()
    visit = CaseWriter(sessions, "maintenance", "H-DH", "CT-DH-0001", now, title="预防性维护")
    visit.event("opened", now, {"due_on": now.date().isoformat()})
    with sessions.begin() as session:
        job = new_job(session, kind="visit", by="MG-01", now=now, case_id=visit.case_id,
                      hospital_id="H-DH")
        job_id = job.id
    handle = await env.client.start_workflow(ReportJobWorkflow.run, job_id, id=job_id,
                                             task_queue="record")
    await handle.result()
    return handle


async def adverse_event_group(env: WorkflowEnvironment, sessions, book) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Three events of one model and fault at three hospitals (CN): the first opened without its
    fault and classified with it; the third makes the group event, which tells the first; the
    first reports within its 24 hours and closes; the group's 12-hour NMPA report is late (the
    ladder), sent, and the group closed. Both histories: the group's and the first event's."""
    serials = units_of_one_model(sessions, jurisdictions=("CN",))
    model = model_of(sessions, serials[0])
    first = await AdverseEventDriver.open(env, "record", sessions, book, jurisdictions=["CN"],
                                          serial=serials[0], event_type="malfunction")
    await first.act("classify", REGULATORY, event_type="serious_injury", reason="患者腰部受伤",
                    fault_category="xray_tube")
    for serial in serials[1:]:
        await AdverseEventDriver.open(env, "record", sessions, book, jurisdictions=["CN"],
                                      serial=serial, event_type="malfunction",
                                      fault_category="xray_tube")
    (group_id,) = await until(lambda: groups_of(sessions, model), "the group event")
    group = AdverseEventDriver(env, env.client.get_workflow_handle(group_id))

    async def told() -> bool:
        return (await first.state()).group_case_id == group_id
    await until(told, "the first event told of its group")
    await first.sleep(hours=2)
    await first.submit("CN", "国械监-2026-G001")
    await first.act("close", REGULATORY, evaluation="同批次球管缺陷,见群体事件")
    await group.sleep(hours=13)  # the 12 hours missed: warning, level 1
    await group.submit("CN", "国械监-群体-2026-001")
    await group.act("investigate", REGULATORY, findings="同批次球管高压接头缺陷")
    await group.act("close", REGULATORY, evaluation="批次缺陷,已召回", reply="已通报三家医院")
    return {"lean_adverse_event_group_late_then_closed": group.handle,
            "lean_adverse_event_in_group_then_closed": first.handle}


RELIABILITY_SCENARIOS = {
    "uptime_guard_breached": uptime_guard_breached,
    "report_job_visit": report_job_visit,
}


async def main() -> None:
    book = load_policy()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/record.db"
        migrate(url)
        sessions = make_sessions(make_engine(url))
        load_reference_data(sessions)
        env = await WorkflowEnvironment.start_time_skipping(
            data_converter=DATA_CONVERTER,
            test_server_existing_path=binary("temporal-test-server"))
        await ensure_search_attributes(env.client)
        try:
            with ThreadPoolExecutor(8) as executor:
                async with build_worker(env.client, sessions, "record", executor,
                                        PolicySource(sessions, book)):
                    for name, (scenario, intake) in [
                            *SCENARIOS.items(), *COMPLAINT_SCENARIOS.items(),
                            *EMERGENCY_SCENARIOS.items(), *ADVERSE_EVENT_SCENARIOS.items(),
                            *REVIEW_SCENARIOS.items(),
                            *((n, (f, {})) for n, f in OTHER_SCENARIOS.items())]:
                        target = OUT / f"{name}.json"
                        if target.exists() or (OUT / f"{name}.run1.json").exists():
                            print(f"kept     {name}")
                            continue
                        if name in COMPLAINT_SCENARIOS:
                            case = await ComplaintDriver.open(env, "record", book, **intake)
                        elif name in REVIEW_SCENARIOS:
                            complaint = await ComplaintDriver.open(env, "record", book, **intake)
                            case = await linked(complaint, "review", ReviewDriver)
                        elif name in ADVERSE_EVENT_SCENARIOS:
                            case = await AdverseEventDriver.open(
                                env, "record", sessions, book, jurisdictions=["CN", "EU"],
                                event_type="malfunction")
                        elif name in EMERGENCY_SCENARIOS:
                            case = await EmergencyDriver.open(
                                env, "record", book, new_hospital(sessions, CHAIN), **intake)
                        elif "installation" in name:
                            case = await InstallationDriver.open(env, "record", sessions, book)
                        elif "maintenance_visit" in name:
                            case = await open_visit(env, "record", sessions, book)
                        elif name.startswith("maintenance_plan"):
                            handle, _ = await start_plan(env, "record", sessions, interval=30)
                            case = PlanDriver(env, handle)
                        else:
                            case = await RepairDriver.open(env, "record", sessions, book,
                                                           **intake)
                        await scenario(case)
                        await case.result()
                        runs = await case_runs(env.client, case.case_id)
                        for index, history in enumerate(runs, start=1):
                            path = target if len(runs) == 1 else OUT / f"{name}.run{index}.json"
                            path.write_text(history.to_json(), "utf-8")
                            print(f"recorded {path} ({len(history.events)} events)")
                    group_names = ("lean_adverse_event_group_late_then_closed",
                                   "lean_adverse_event_in_group_then_closed")
                    if not all((OUT / f"{name}.json").exists() for name in group_names):
                        handles = await adverse_event_group(env, sessions, book)
                        for name, handle in handles.items():
                            with env.auto_time_skipping_disabled():
                                await handle.result()
                            history = await handle.fetch_history()
                            (OUT / f"{name}.json").write_text(history.to_json(), "utf-8")
                            print(f"recorded {name} ({len(history.events)} events)")
                    for name, record in RELIABILITY_SCENARIOS.items():
                        target = OUT / f"{name}.json"
                        if target.exists():
                            print(f"kept     {target}")
                            continue
                        handle = await record(env, sessions, book)
                        history = await handle.fetch_history()
                        target.write_text(history.to_json(), "utf-8")
                        print(f"recorded {target} ({len(history.events)} events)")
        finally:
            await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
