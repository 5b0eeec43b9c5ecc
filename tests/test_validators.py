"""The `act` validator refuses a step that is out of order, taken by the wrong person or carrying a
bad payload, and a refused step leaves no trace: no history event, no timeline row, no step.

These tests run on the real Temporal dev server (conftest's dev_env), not on the
time-skipping test server: only a real server drops the speculative workflow task of a rejected
update, so only there can "nothing reaches the history" be checked event for event (the Java test
server writes WorkflowTaskScheduled/Started/Completed for every update, accepted or not). No test
here needs time to pass.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from caseflow.domain.records import Actor
from caseflow.store.models import Case, CaseEventRow
from tests.repair_driver import (
    AUDITOR,
    ENGINEER,
    HOTLINE,
    OTHER_ENGINEER,
    PASSING_VERIFICATION,
    SUPERVISOR,
    RepairDriver,
)


@pytest.fixture
def open_case(dev_env, dev_worker, sessions, policy_book):  # type: ignore[no-untyped-def]
    async def _open(**intake_fields: Any) -> RepairDriver:
        return await RepairDriver.open(dev_env, dev_worker.task_queue, sessions, policy_book,
                                       **intake_fields)

    return _open


# ----- helpers -----------------------------------------------------------------------------------

async def history(case: RepairDriver) -> list[tuple[int, int]]:
    return [(e.event_id, e.event_type) async for e in case.handle.fetch_history_events()]


def timeline_count(sessions, case_id: str) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(CaseEventRow)
                              .where(CaseEventRow.case_id == case_id)) or 0


def projection_seq(sessions, case_id: str) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(Case.projection_seq).where(Case.case_id == case_id)) or 0


_WFT_OPEN = {EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED}
_WFT_CLOSED = {EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
               EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT}
_ACTIVITY_CLOSED = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED: "activity_task_completed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED: "activity_task_failed_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT: "activity_task_timed_out_event_attributes",
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED: "activity_task_canceled_event_attributes",
}


def _at_rest(events: list[Any]) -> bool:
    """No workflow task and no activity outstanding (timers may be)."""
    task_open, activities = False, set()
    for e in events:
        if e.event_type in _WFT_OPEN:
            task_open = True
        elif e.event_type in _WFT_CLOSED:
            task_open = False
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            activities.add(e.event_id)
        elif e.event_type in _ACTIVITY_CLOSED:
            activities.discard(getattr(e, _ACTIVITY_CLOSED[e.event_type]).scheduled_event_id)
    return not task_open and not activities


async def settle(case: RepairDriver) -> None:
    """Wait (by long-polling the history, not the wall clock) until the case is at rest, e.g. the
    "opened" record scheduled by the run method has completed."""
    while True:
        events = [e async for e in case.handle.fetch_history_events()]
        if _at_rest(events):
            return
        last = events[-1].event_id
        async for e in case.handle.fetch_history_events(wait_new_event=True):
            if e.event_id > last:
                break


async def refuse(case: RepairDriver, sessions, action: str, actor: Actor, kind: str,  # type: ignore[no-untyped-def]
                 field: str | None = None, **payload: Any) -> ApplicationError:
    """The update is refused with `kind` (and `field`), and nothing at all is written."""
    await settle(case)
    events_before = await history(case)
    rows_before = timeline_count(sessions, case.case_id)
    seq_before = projection_seq(sessions, case.case_id)
    view_before = await case.state()

    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await case.act(action, actor, **payload)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == kind, (cause.type, cause.message)
    assert cause.non_retryable
    if field is not None:
        assert cause.details and cause.details[0] == {"field": field}, cause.details

    assert await history(case) == events_before, "a refused update reached the history"
    assert timeline_count(sessions, case.case_id) == rows_before
    assert projection_seq(sessions, case.case_id) == seq_before
    view_after = await case.state()
    assert view_after.steps == view_before.steps
    assert view_after.status == view_before.status
    assert commitments(view_after) == commitments(view_before)
    return cause


def commitments(view: Any) -> list[tuple[Any, ...]]:
    return [(c.key, c.round, c.state, c.due_at, c.fired) for c in view.commitments]


async def assigned(open_case, **intake_fields: Any) -> RepairDriver:  # type: ignore[no-untyped-def]
    case = await open_case(**intake_fields)
    await case.act("classify", SUPERVISOR, severity="severe")
    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    return case


# ----- out of order (409) ------------------------------------------------------------------------

async def test_steps_out_of_order_are_refused_as_invalid_transition(open_case, sessions):
    case = await open_case()
    await case.act("classify", SUPERVISOR, severity="general")
    cause = await refuse(case, sessions, "approve-start", SUPERVISOR, "InvalidTransition")
    assert "awaiting_assignment" in cause.message and "allowed now" in cause.message
    await refuse(case, sessions, "classify", SUPERVISOR, "InvalidTransition", severity="severe")
    await refuse(case, sessions, "confirm", HOTLINE, "InvalidTransition", confirmed_by="李医生")
    await refuse(case, sessions, "callback", HOTLINE, "InvalidTransition", satisfaction=5)

    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await refuse(case, sessions, "arrive", ENGINEER, "InvalidTransition", mode="on_site")
    await refuse(case, sessions, "resolve", ENGINEER, "InvalidTransition", summary="已修复",
                 verification=PASSING_VERIFICATION)
    await refuse(case, sessions, "diagnose", ENGINEER, "InvalidTransition", findings="x",
                 fault_category="other")


async def test_steps_the_current_state_rules_out_are_refused_as_invalid_transition(open_case,
                                                                                   sessions):
    case = await open_case()
    await case.walk_to("assigned")
    cause = await refuse(case, sessions, "resume", HOTLINE, "InvalidTransition")
    assert "not paused" in cause.message
    await case.act("confirm-handover", HOTLINE)
    await refuse(case, sessions, "confirm-handover", HOTLINE, "InvalidTransition")
    await case.act("pause", HOTLINE, reason="customer_postponed")
    await refuse(case, sessions, "pause", SUPERVISOR, "InvalidTransition",
                 reason="device_unavailable")
    await case.act("resume", SUPERVISOR)

    await case.act("acknowledge", ENGINEER)
    await case.act("arrive", ENGINEER, mode="on_site")
    await case.act("report-site", ENGINEER, condition="机房正常")
    await case.act("approve-start", SUPERVISOR)
    await case.walk_to("repairing")
    await refuse(case, sessions, "parts-arrived", ENGINEER, "InvalidTransition")
    await case.act("order-parts", ENGINEER, parts=[{"part_no": "P-100", "name": "高压电缆"}])
    await refuse(case, sessions, "resolve", ENGINEER, "InvalidTransition", summary="已修复",
                 verification=PASSING_VERIFICATION)


async def test_quotation_pause_cannot_be_resumed_by_hand(open_case, sessions):
    case = await open_case(serial="CT-JB-0003", hospital="H-JB")  # out of warranty
    await case.walk_to("work_approved")
    await case.act("diagnose", ENGINEER, findings="球管灯丝断裂", fault_category="xray_tube")
    await case.act("quote", ENGINEER, amount="86000.00")
    cause = await refuse(case, sessions, "resume", SUPERVISOR, "InvalidTransition")
    assert "quotation" in cause.message


# ----- wrong person (403) ------------------------------------------------------------------------

async def test_engineer_cannot_act_on_another_engineers_case(open_case, sessions):
    case = await assigned(open_case)
    await refuse(case, sessions, "acknowledge", OTHER_ENGINEER, "NotAssignee")
    await case.act("acknowledge", ENGINEER)
    await refuse(case, sessions, "arrive", OTHER_ENGINEER, "NotAssignee", mode="on_site")
    await refuse(case, sessions, "progress", OTHER_ENGINEER, "NotAssignee", note="我来看看")


async def test_engineer_cannot_act_on_an_unassigned_case(open_case, sessions):
    case = await open_case()
    await case.act("classify", SUPERVISOR, severity="severe")
    await refuse(case, sessions, "acknowledge", ENGINEER, "NotAssignee")


async def test_auditor_cannot_take_any_step(open_case, sessions):
    case = await open_case()
    await refuse(case, sessions, "classify", AUDITOR, "NotPermitted", severity="severe")
    await case.act("classify", SUPERVISOR, severity="severe")
    await refuse(case, sessions, "assign", AUDITOR, "NotPermitted", engineer_id=ENGINEER.id)
    await refuse(case, sessions, "pause", AUDITOR, "NotPermitted", reason="customer_postponed")


async def test_hotline_and_engineer_cannot_take_supervisor_steps(open_case, sessions):
    case = await open_case()
    cause = await refuse(case, sessions, "classify", HOTLINE, "NotPermitted", severity="severe")
    assert "supervisor" in cause.message
    await case.walk_to("awaiting_assignment")
    await refuse(case, sessions, "assign", HOTLINE, "NotPermitted", engineer_id=ENGINEER.id)
    await refuse(case, sessions, "reclassify", HOTLINE, "NotPermitted", severity="general",
                 reason="客户说不急")
    await case.walk_to("assigned")
    await refuse(case, sessions, "assign", ENGINEER, "NotPermitted", engineer_id=OTHER_ENGINEER.id)
    await case.act("acknowledge", ENGINEER)
    await case.act("arrive", ENGINEER, mode="on_site")
    await case.act("report-site", ENGINEER, condition="机房正常")
    await refuse(case, sessions, "approve-start", ENGINEER, "NotPermitted")  # no work before
    await refuse(case, sessions, "approve-start", HOTLINE, "NotPermitted")   # a supervisor's OK


async def test_supervisor_cannot_report_engineer_steps(open_case, sessions):
    case = await assigned(open_case)
    await refuse(case, sessions, "acknowledge", SUPERVISOR, "NotPermitted")
    await refuse(case, sessions, "progress", SUPERVISOR, "NotPermitted", note="代报进度")


# ----- bad payloads (422) ------------------------------------------------------------------------

async def test_failed_verification_item_is_refused_with_its_field(open_case, sessions):
    case = await open_case()
    await case.walk_to("repairing")
    for item in ("function_test", "image_quality", "stability_run", "electrical_safety"):
        verification = PASSING_VERIFICATION | {item: {"passed": False, "note": "未通过"}}
        await refuse(case, sessions, "resolve", ENGINEER, "InvalidPayload",
                     field=f"verification.{item}", summary="已修复", verification=verification)
    out_of_tolerance = PASSING_VERIFICATION | {"accuracy": [
        {"parameter": "CT值 水模", "measured": 0.5, "reference": 0.0, "tolerance": 4.0},
        {"parameter": "噪声", "measured": 9.0, "reference": 5.0, "tolerance": 1.0}]}
    cause = await refuse(case, sessions, "resolve", ENGINEER, "InvalidPayload",
                         field="verification.accuracy.1.measured", summary="已修复",
                         verification=out_of_tolerance)
    assert "噪声" in cause.message
    await refuse(case, sessions, "resolve", ENGINEER, "InvalidPayload",
                 field="verification.accuracy", summary="已修复",
                 verification=PASSING_VERIFICATION | {"accuracy": []})
    view = await case.act("resolve", ENGINEER, summary="已修复", verification=PASSING_VERIFICATION)
    assert view.status == "awaiting_confirmation"


async def test_pause_for_a_reason_the_policy_does_not_allow_is_refused(open_case, sessions):
    case = await assigned(open_case)
    cause = await refuse(case, sessions, "pause", HOTLINE, "InvalidPayload", field="reason",
                         reason="waiting_for_spare_parts")  # the vendor's own promise
    assert "customer_postponed" in cause.message
    await refuse(case, sessions, "pause", HOTLINE, "InvalidPayload", field="reason",
                 reason="awaiting_quotation_approval")  # only a quotation pauses for that
    past = await case.env.get_current_time() - timedelta(hours=1)
    await refuse(case, sessions, "pause", SUPERVISOR, "InvalidPayload", field="resume_at",
                 reason="customer_postponed", resume_at=past)


async def test_bad_payloads_are_refused_naming_the_field(open_case, sessions):
    case = await open_case()
    await refuse(case, sessions, "classify", SUPERVISOR, "InvalidPayload", field="severity",
                 severity="catastrophic")
    await refuse(case, sessions, "classify", SUPERVISOR, "InvalidPayload", field="colour",
                 severity="severe", colour="red")
    await refuse(case, sessions, "teleport", SUPERVISOR, "InvalidPayload", field="action")
    await case.act("classify", SUPERVISOR, severity="severe")
    await refuse(case, sessions, "reclassify", SUPERVISOR, "InvalidPayload", field="reason",
                 severity="general")
    await refuse(case, sessions, "reclassify", SUPERVISOR, "InvalidPayload", field="severity",
                 severity="severe", reason="再确认")
    await case.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await refuse(case, sessions, "assign", SUPERVISOR, "InvalidPayload", field="engineer_id",
                 engineer_id=ENGINEER.id)
    await case.act("acknowledge", ENGINEER)
    await case.act("arrive", ENGINEER, mode="on_site")
    await case.act("report-site", ENGINEER, condition="机房正常")
    await case.act("approve-start", SUPERVISOR)
    await case.walk_to("awaiting_callback")
    await refuse(case, sessions, "callback", HOTLINE, "InvalidPayload", field="satisfaction",
                 satisfaction=7)


# ----- nothing written, idempotency --------------------------------------------------------------

async def test_refused_update_leaves_history_timeline_and_steps_untouched(open_case, sessions):
    case = await assigned(open_case)
    await settle(case)
    events = await history(case)
    rows = timeline_count(sessions, case.case_id)
    steps = (await case.state()).steps
    for action, actor, payload in [
        ("arrive", ENGINEER, {"mode": "on_site"}),                  # InvalidTransition
        ("acknowledge", OTHER_ENGINEER, {}),                        # NotAssignee
        ("approve-start", AUDITOR, {}),                             # NotPermitted
        ("pause", HOTLINE, {"reason": "waiting_for_spare_parts"}),  # InvalidPayload
    ]:
        with pytest.raises(WorkflowUpdateFailedError):
            await case.act(action, actor, **payload)
    assert await history(case) == events
    accepted = [t for _, t in events
                if t == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]
    assert len(accepted) == 2  # classify and assign, nothing else
    assert timeline_count(sessions, case.case_id) == rows
    assert (await case.state()).steps == steps
    # The case still takes the right step afterwards.
    view = await case.act("acknowledge", ENGINEER)
    assert view.status == "acknowledged" and len(view.steps) == len(steps) + 1


async def accepted_update_ids(case: RepairDriver) -> list[str]:
    return [e.workflow_execution_update_accepted_event_attributes.accepted_request.meta.update_id
            async for e in case.handle.fetch_history_events()
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED]


def timeline_events(sessions, case_id: str, event: str) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(CaseEventRow).where(
            CaseEventRow.case_id == case_id, CaseEventRow.event == event)) or 0


async def test_same_update_id_twice_is_one_step(open_case, sessions):
    case = await assigned(open_case)
    update_id = f"ack-{case.case_id}"
    first = await case.act("acknowledge", ENGINEER, update_id=update_id)
    second = await case.act("acknowledge", ENGINEER, update_id=update_id)
    assert second == first
    assert len((await case.state()).steps) == len(first.steps)
    assert (await accepted_update_ids(case)).count(update_id) == 1
    assert timeline_events(sessions, case.case_id, "acknowledge") == 1


async def test_step_retried_after_the_case_moved_on_gets_its_first_answer(open_case, sessions):
    """A client that lost the answer and retries with the same id is not told 409 later on."""
    case = await assigned(open_case)
    update_id = f"ack-{case.case_id}"
    first = await case.step("acknowledge", ENGINEER, update_id=update_id)
    await case.act("arrive", ENGINEER, mode="remote")
    retried = await case.step("acknowledge", ENGINEER, update_id=update_id)
    assert retried == first and retried.status == "acknowledged"
    view = await case.state()
    assert view.status == "on_site"
    assert [s.action for s in view.steps].count("acknowledge") == 1
    assert (await accepted_update_ids(case)).count(update_id) == 1
    assert timeline_events(sessions, case.case_id, "acknowledge") == 1
