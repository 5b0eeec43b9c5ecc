"""Case histories stay lean for a case's whole life: a step adds the same bytes however many
came before it, a long case continues as new carrying its record, and every run of it replays.

A private time-skipping server: these tests skip days. What they assert is read off the
histories and the database, never off the clock of the machine.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

from sqlalchemy import select
from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import WorkflowHistory

from caseflow.domain.cases import CaseAction, StepResult
from caseflow.domain.enums import ArrivalMode, FaultCategory, RepairStatus, Severity
from caseflow.replay import case_runs, replay_one, replayer
from caseflow.store.models import Case, CaseEventRow, Escalation
from caseflow.workflows.case import KEEP_STEPS, MAX_BYTES, MAX_EVENTS
from tests.emergency_driver import CHAIN, EmergencyDriver, new_hospital
from tests.repair_driver import ENGINEER, HOTLINE, PASSING_VERIFICATION, RepairDriver

# What a run may grow past its bound while it finishes the step in hand and continues as new.
OVERRUN_EVENTS = 30
OVERRUN_BYTES = 32 * 1024
PROMPT = timedelta(seconds=5)  # a page goes out within this of its time


def compact_bytes(history: WorkflowHistory) -> int:
    return len(json.dumps(history.to_json_dict(), separators=(",", ":")))


async def current_bytes(case: RepairDriver) -> int:
    return compact_bytes(await case.handle.fetch_history())


def timeline(sessions, case_id: str, event: str | None = None) -> list[CaseEventRow]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        query = select(CaseEventRow).where(CaseEventRow.case_id == case_id)
        if event is not None:
            query = query.where(CaseEventRow.event == event)
        return list(session.scalars(query.order_by(CaseEventRow.seq)))


async def replays(env, case_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The runs of the case that do not replay against today's code (full sandbox)."""
    engine = replayer()
    failed = []
    for index, history in enumerate(await case_runs(env.client, case_id), start=1):
        outcome = await replay_one(engine, f"run {index}", history)
        if not outcome.ok:
            failed.append(outcome.line())
    return failed


async def test_a_progress_report_adds_the_same_bytes_whatever_came_before(
        private_env, sessions, policy_book):
    env, queue = private_env
    case = await RepairDriver.open(env, queue, sessions, policy_book, severity="general")
    await case.walk_to("repairing")
    added = {}
    for day in range(1, 101):
        before = await current_bytes(case) if day in (1, 100) else 0
        await case.step("progress", ENGINEER, note=f"第{day}天: 等待备件")
        if day in (1, 100):
            added[day] = await current_bytes(case) - before
    assert (await case.state()).run == 1  # both measured in the same run
    assert abs(added[100] - added[1]) <= added[1] * 0.10, added
    assert added[1] < 4000, added  # the step's request, its answer and a marker, not the case


async def test_a_repair_waiting_weeks_continues_as_new_and_keeps_its_record(
        private_env, sessions, policy_book):
    env, queue = private_env
    case = await RepairDriver.open(env, queue, sessions, policy_book, severity="general")
    await case.walk_to("repairing")
    # A step sent as the API sends it (Idempotency-Key, request hash): its retry reaching a
    # later run must get the same answer, not a second step or a 409.
    request = CaseAction(action="order-parts", actor=ENGINEER,
                         payload={"parts": [{"part_no": "FAN-2", "name": "散热风扇"}]},
                         idempotency_key="EN-01:order-fan", request_hash="f" * 64)
    ordered = await case.handle.execute_update("act", request, id="EN-01:order-fan:ffff",
                                               result_type=StepResult)
    reports = 0
    while (await case.state()).run == 1:
        reports += 1
        await case.step("progress", ENGINEER, note=f"第{reports}天: 备件仍在途中")
        assert reports < 400, "never continued as new"
    for _ in range(3):
        reports += 1
        await case.step("progress", ENGINEER, note=f"第{reports}天: 备件仍在途中")
    retried = await case.handle.execute_update("act", request, id="EN-01:order-fan:ffff",
                                               result_type=StepResult)
    assert retried == ordered
    await case.act("parts-arrived", ENGINEER)
    view = await case.act("resolve", ENGINEER, summary="更换风扇,复测正常",
                          verification=PASSING_VERIFICATION)
    assert view.run == 2 and view.status == "awaiting_confirmation"
    # classify at intake, six steps to repairing, the order, the reports, arrived, resolved
    assert view.earlier_steps + len(view.steps) == 1 + 6 + 1 + reports + 2
    assert len(view.steps) <= KEEP_STEPS + 10
    # Every run stayed under the bound; the case id is the same, the runs chained.
    runs = await case_runs(env.client, case.case_id)
    assert len(runs) == 2
    for run in runs:
        assert len(run.events) < MAX_EVENTS + OVERRUN_EVENTS
        assert compact_bytes(run) < MAX_BYTES + OVERRUN_BYTES
    # The timeline has every event of both runs, numbered without a gap or a repeat.
    rows = timeline(sessions, case.case_id)
    assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
    assert len({r.run_id for r in rows}) == 2
    assert len([r for r in rows if r.event == "progress"]) == reports
    assert len([r for r in rows if r.event == "order-parts"]) == 1
    # The case row holds every round of the daily progress report, the first run's too.
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.case_id == case.case_id))
        rounds = sorted(c["round"] for c in row.commitments if c["key"] == "progress")
    assert rounds == list(range(1, reports + 2))
    await case.act("confirm", HOTLINE, confirmed_by="李医生")
    closed = await case.act("callback", HOTLINE, satisfaction=5, comment="满意")
    assert closed.status == "closed"
    await case.result()
    assert await replays(env, case.case_id) == []


async def test_an_emergency_nobody_answers_pages_every_5_minutes_for_72_hours(
        private_env, sessions, policy_book):
    env, queue = private_env
    case = await EmergencyDriver.open(env, queue, policy_book, new_hospital(sessions, CHAIN))
    expected = 72 * 12 + 1  # at once, then every 5 minutes
    for _ in range(72):
        await env.sleep(timedelta(hours=1))
    view = await case.pages(expected, timeout=60)
    pages = timeline(sessions, case.case_id, "page")
    assert len(pages) == expected == view.earlier_pages + len(view.pages)
    # Page k went out 5k minutes after the first (within a few seconds of a page's own work):
    # no drift across the runs, however many.
    late = [abs(page.at - pages[0].at - k * timedelta(minutes=5)) for k, page in enumerate(pages)]
    assert max(late) <= PROMPT, max(late)
    # Each round that ran out escalated exactly once; the levels climbed and wrapped.
    with sessions() as session:
        rounds = [e.round for e in session.scalars(
            select(Escalation).where(Escalation.case_id == case.case_id,
                                     Escalation.commitment == "acknowledge"))]
    assert sorted(rounds) == list(range(1, expected))
    levels = [p.data["level"] for p in pages[:9]]
    assert levels == [1, 2, 3, 4, 1, 2, 3, 4, 1]
    # It continued as new along the way, every run well under Temporal's limits.
    runs = await case_runs(env.client, case.case_id)
    assert view.run == len(runs) >= 5
    assert max(compact_bytes(run) for run in runs) < 1024 * 1024
    assert view.breached and view.escalation_level >= 1
    # Whoever is paged now acknowledges; the paging stops.
    acknowledged = await case.act("acknowledge", view.pages[-1].people[0])
    assert acknowledged.status == "acknowledged"
    await case.act("stand-down", CHAIN[1], reason="演练结束")
    await case.result()
    assert await replays(env, case.case_id) == []


async def test_the_temporal_ui_shows_the_case_status_as_details_at_no_cost_to_the_history(
        private_env, sessions, policy_book):
    """The details are the workflow's current details, read by the UI's metadata query: the
    step that changes them adds the bytes it added before (no event, no command carries
    them), and they follow the case."""
    env, queue = private_env
    case = await RepairDriver.open(env, queue, sessions, policy_book, severity="general")
    await case.walk_to("repairing")

    async def details() -> str:
        metadata = await case.handle.query("__temporal_workflow_metadata",
                                           result_type=WorkflowMetadata)
        return metadata.current_details

    shown = await details()
    assert "**状态** 维修中" in shown and "**严重度** 一般" in shown, "in words, not codes"
    assert f"**负责人** {ENGINEER.name}" in shown and "**下一期限** 交接确认" in shown
    assert not re.search(r"[a-z]{4,}|UTC|\+00:00", shown), f"no code, no UTC time: {shown}"
    assert re.search(r"\*\*下一期限\*\* 交接确认 \d{4}-\d\d-\d\d \d\d:\d\d$", shown), "local time"
    before = await current_bytes(case)
    await case.step("progress", ENGINEER, note="等待备件")
    history = await case.handle.fetch_history()
    added = compact_bytes(history) - before
    assert added < 4000, added  # a progress report's request, answer and marker, as before
    text = json.dumps(history.to_json_dict(), ensure_ascii=False)
    assert "**状态**" not in text and "currentDetails" not in text
    await case.walk_to("closed")
    assert (await details()).startswith("**状态** 已结案")
    with sessions() as session:
        timeline = "\n".join(session.scalars(select(CaseEventRow.summary).where(
            CaseEventRow.case_id == case.case_id).order_by(CaseEventRow.seq)))
    assert "分级:一般" in timeline and "诊断(" in timeline, timeline
    codes = {code.value for vocabulary in (Severity, RepairStatus, ArrivalMode, FaultCategory)
             for code in vocabulary}
    assert [code for code in codes if re.search(rf"(?<![a-z_]){code}(?![a-z_])", timeline)] == []
