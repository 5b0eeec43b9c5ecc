"""A dissatisfied repair callback opens one linked complaint; its closing shows on the repair."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select
from temporalio.client import WorkflowExecutionStatus

from caseflow.domain.cases import LinkedCase
from caseflow.domain.complaint import ComplaintView
from caseflow.store.models import Case, CaseEventRow
from tests.complaint_driver import ComplaintDriver
from tests.repair_driver import ENGINEER, HOTLINE, SUPERVISOR, RepairDriver


async def linked_complaint(case: RepairDriver) -> str:
    for _ in range(100):
        view = await case.state()
        found = [link.case_id for link in view.linked_cases if link.kind == "complaint"]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError("no complaint was linked to the repair")


def complaint_link(view: Any) -> LinkedCase:
    return next(link for link in view.linked_cases if link.kind == "complaint")


def kinds_linked(view: Any) -> list[str]:
    """Every closed repair opens its reportability review (docs/regulatory.md): the other
    links are what a test is about."""
    return [link.kind for link in view.linked_cases]


async def test_a_dissatisfied_callback_opens_one_linked_complaint_even_if_retried(
        ts_env, ts_worker, sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.walk_to("awaiting_callback")
    for _ in range(3):  # a client retrying the same callback (same update id)
        view = await case.act("callback", HOTLINE, update_id="callback-once", satisfaction=2,
                              comment="修了三次还是坏")
    assert view.status == "closed" and view.complaint_requested
    complaint_id = await linked_complaint(case)
    assert complaint_id.startswith("CP-")
    with sessions() as session:
        rows = session.scalars(select(Case).where(Case.kind == "complaint",
                                                  Case.created_by == f"case:{case.case_id}"))
        assert [r.case_id for r in rows] == [complaint_id]

    complaint = ComplaintDriver(ts_env, ts_env.client.get_workflow_handle(complaint_id))
    opened = await complaint.state()
    assert isinstance(opened, ComplaintView)
    assert opened.origin.case_id == case.case_id and opened.origin.satisfaction == 2
    assert opened.intake.channel == "callback" and opened.intake.related_case_id == case.case_id
    assert "修了三次还是坏" in opened.intake.matter

    # the complaint runs its course; its closing is visible from the repair
    await complaint.walk_to_answered()
    await complaint.act("complete-action", ENGINEER, action_id="A1", result="已完成")
    await complaint.act("callback", HOTLINE, satisfied=True, satisfaction=4)
    await complaint.act("close", SUPERVISOR, lessons_learned="回访不满意要追到底")
    result = await case.result()
    assert result.outcome == "repaired"
    repair = await case.state()
    assert kinds_linked(repair) == ["review", "complaint"]
    assert complaint_link(repair).status == "closed"
    assert complaint_link(repair).outcome == "resolved"
    with sessions() as session:
        events = list(session.scalars(select(CaseEventRow.event).where(
            CaseEventRow.case_id == case.case_id).order_by(CaseEventRow.seq)))
        complaints = session.scalar(select(func.count()).select_from(Case).where(
            Case.kind == "complaint", Case.created_by == f"case:{case.case_id}"))
    assert events[-4:] == ["callback", "review-opened", "complaint-opened", "complaint-closed"]
    assert complaints == 1


async def test_a_satisfied_callback_opens_no_complaint(ts_env, ts_worker, sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.walk_to("closed")
    await case.result()
    assert kinds_linked(await case.state()) == ["review"]  # its review, no complaint


async def test_a_callback_scored_3_closes_the_repair_and_opens_no_complaint(
        ts_env, ts_worker, sessions, policy_book):
    """3 is the lowest score that is not dissatisfied (2 or less opens a complaint). Waits for
    the event that shows the workflow past that decision, its end or a complaint opened,
    rather than for the end alone (which a repair that opened a complaint never reaches)."""
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.walk_to("awaiting_callback")
    view = await case.act("callback", HOTLINE, satisfaction=3, comment="一般")
    assert view.status == "closed" and not view.complaint_requested
    handle = ts_env.client.get_workflow_handle(case.case_id)

    def recorded() -> list[str]:
        with sessions() as session:
            return list(session.scalars(select(CaseEventRow.event).where(
                CaseEventRow.case_id == case.case_id).order_by(CaseEventRow.seq)))

    for _ in range(400):
        status = (await handle.describe()).status
        if status != WorkflowExecutionStatus.RUNNING or "complaint-opened" in recorded():
            break
        await asyncio.sleep(0.05)
    assert "complaint-opened" not in recorded(), recorded()
    assert status == WorkflowExecutionStatus.COMPLETED, status
    assert kinds_linked(await case.state()) == ["review"]  # its review, no complaint
    with sessions() as session:
        assert list(session.scalars(select(Case.kind).where(
            Case.created_by == f"case:{case.case_id}"))) == ["review"]


async def test_an_explicit_complaint_at_a_good_score_still_opens_one(ts_env, ts_worker,
                                                                      sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.walk_to("awaiting_callback")
    await case.act("callback", HOTLINE, satisfaction=4, complaint=True, comment="工程师态度差")
    complaint_id = await linked_complaint(case)
    complaint = ComplaintDriver(ts_env, ts_env.client.get_workflow_handle(complaint_id))
    await complaint.act("withdraw", HOTLINE, reason="客户表示不再追究")
    await case.result()
    link = complaint_link(await case.state())
    assert link.status == "closed" and link.outcome == "withdrawn"


async def test_a_linked_complaint_that_ends_abnormally_is_recorded_not_fatal(
        dev_env, dev_worker, sessions, policy_book):
    # On the real dev server: the time-skipping test server does not tell a parent that its
    # child was terminated.
    case = await RepairDriver.open(dev_env, dev_worker.task_queue, sessions, policy_book)
    await case.walk_to("awaiting_callback")
    await case.act("callback", HOTLINE, satisfaction=1, comment="非常不满意")
    complaint_id = await linked_complaint(case)
    await dev_env.client.get_workflow_handle(complaint_id).terminate("opened by mistake")
    result = await case.result()  # the repair still completes
    assert result.outcome == "repaired"
    link = complaint_link(await case.state())
    assert link.status == "ended abnormally"
    with sessions() as session:
        last = session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case.case_id)
                               .order_by(CaseEventRow.seq.desc())).first()
    assert last.event == "complaint-ended" and complaint_id in last.summary
