"""Reportability reviews on the time-skipping test server (docs/regulatory.md).

Every complaint, every patient-safety emergency and every closed repair opens its review; the
policy's rules flag it; regulatory affairs decides within the policy's deadline (a late review
climbs the ladder once per level); "possibly reportable" opens the adverse event counted from
the intake of the case under review; a closed repair no rule flags is recorded as screened by
the rules. Each scenario is checked in the views and in what the activities wrote.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from caseflow.domain.adverse_event import AdverseEventView
from caseflow.domain.records import SYSTEM
from caseflow.domain.review import NO_RULE_MATCHED, ReviewView
from caseflow.store.models import Case, CaseEventRow, Notification
from tests.adverse_event_driver import REGULATORY
from tests.case_driver import CaseDriver
from tests.complaint_driver import ComplaintDriver
from tests.emergency_driver import EmergencyDriver
from tests.repair_driver import ENGINEER, SUPERVISOR, RepairDriver
from tests.test_adverse_events import at_friday_evening, escalations, report
from tests.test_deadlines import LADDER, PROMPT
from tests.waiting import until

DAY = timedelta(days=1)


class ReviewDriver(CaseDriver):
    view = ReviewView


class EventDriver(CaseDriver):
    view = AdverseEventView


async def linked(case: CaseDriver, kind: str, driver: type[CaseDriver]) -> CaseDriver:
    """The case of `kind` that `case` opened, once its link is recorded."""
    async def find() -> str | None:
        view = await case.state()
        return next((link.case_id for link in view.linked_cases if link.kind == kind), None)

    case_id = await until(find, f"{case.case_id} opens its {kind}")
    return driver(case.env, case.env.client.get_workflow_handle(case_id))


async def test_a_flagged_complaint_gets_its_review_due_within_the_flagged_deadline(
        private_env, sessions, policy_book):
    env, queue = private_env
    complaint = await ComplaintDriver.open(env, queue, policy_book, category="equipment_failure",
                                           patient_harmed="yes", equipment_serial="CT-DH-0001",
                                           matter="CT检查床下降时夹伤患者")
    review = await linked(complaint, "review", ReviewDriver)
    view, recorded = await review.state(), await complaint.state()
    assert view.status == "pending" and view.origin.case_id == complaint.case_id
    assert view.origin.opened_at == recorded.opened_at
    assert view.flags == ["complaint_categories:equipment_failure", "patient_harmed:yes"]
    decision = next(c for c in view.commitments if c.key == "decision")
    assert decision.label == "可报告性评审(已标记)" and decision.state == "open"
    assert decision.due_at == view.opened_at + DAY  # policy review.flagged: 1d on 7x24
    assert view.opened_at - recorded.opened_at < PROMPT
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.case_id == review.case_id))
        assert (row.kind, row.status, row.created_by) == (
            "review", "pending", f"case:{complaint.case_id}")
        opened = session.scalar(select(CaseEventRow.data).where(
            CaseEventRow.case_id == complaint.case_id, CaseEventRow.event == "review-opened"))
        assert opened == {"review_id": review.case_id}


async def test_an_unflagged_complaint_is_reviewed_within_the_longer_deadline(
        private_env, sessions, policy_book):
    env, queue = private_env
    complaint = await ComplaintDriver.open(env, queue, policy_book)  # service attitude
    view = await (await linked(complaint, "review", ReviewDriver)).state()
    assert view.flags == [] and view.status == "pending" and not view.screened
    decision = next(c for c in view.commitments if c.key == "decision")
    assert decision.due_at == view.opened_at + 5 * DAY  # policy review.unflagged


async def test_a_late_review_escalates_once_per_level(private_env, sessions, policy_book):
    env, queue = private_env
    complaint = await ComplaintDriver.open(env, queue, policy_book, patient_harmed="yes",
                                           equipment_serial="CT-DH-0001")
    review = await linked(complaint, "review", ReviewDriver)
    await review.sleep(days=3)  # past level 3 (2.5 x 1 day)
    view = await review.state()
    decision = next(c for c in view.commitments if c.key == "decision")
    assert decision.state == "breached" and view.breached
    fired = {e.level: e.fired_at for e in decision.fired}
    assert sorted(fired) == [0, 1, 2, 3]
    assert [e.notify for e in decision.fired] == ["regulatory", "supervisor", "manager",
                                                  "director"]
    for level, fraction in LADDER.items():
        assert abs(fired[level] - (view.opened_at + fraction * DAY)) < PROMPT
    assert escalations(sessions, review.case_id) == [("decision", n) for n in (0, 1, 2, 3)]
    with sessions() as session:  # the warning went to regulatory affairs
        warned = set(session.scalars(select(Notification.person_id).where(
            Notification.case_id == review.case_id, Notification.template == "warning")))
    assert warned == {"RA-01"}
    await review.sleep(days=2)  # nothing fires twice
    assert escalations(sessions, review.case_id) == [("decision", n) for n in (0, 1, 2, 3)]
    decided = await review.act("decide", REGULATORY, decision="not_adverse_event",
                               reason="夹伤为操作者站位不当,设备无故障")
    assert decided.status == "decided" and decided.decided_by == REGULATORY
    assert next(c for c in decided.commitments if c.key == "decision").state == "met_late"


async def test_possibly_reportable_opens_the_adverse_event_counted_from_the_complaints_intake(
        private_env, sessions, policy_book):
    env, queue = private_env
    await at_friday_evening(env)
    complaint = await ComplaintDriver.open(env, queue, policy_book, category="equipment_failure",
                                           equipment_serial="CT-DH-0001", patient_harmed="yes",
                                           matter="CT检查床下降时夹伤患者")
    recorded = await complaint.state()
    review = await linked(complaint, "review", ReviewDriver)
    await review.sleep(days=2, hours=3)  # the review takes a weekend (late: it escalated)
    decided = await review.act("decide", REGULATORY, decision="possibly_reportable",
                               event_type="serious_injury", reason="患者受伤,可能与检查床故障有关")
    assert (decided.decision, decided.reason, decided.decided_by) == (
        "possibly_reportable", "患者受伤,可能与检查床故障有关", REGULATORY)
    event = await linked(review, "adverse_event", EventDriver)
    view = await event.state()
    assert view.aware_at == recorded.opened_at  # the complaint's intake, not the review's
    assert view.origin.case_id == complaint.case_id and view.review_id == review.case_id
    assert [link.case_id for link in view.linked_cases] == [review.case_id]
    assert view.event_type == "serious_injury" and view.opened_by == REGULATORY
    nmpa = report(view, "report:CN")
    assert nmpa.started_at == recorded.opened_at
    assert nmpa.due_at == recorded.opened_at + 20 * DAY
    assert (await review.state()).linked_cases[0].case_id == event.case_id
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.case_id == event.case_id))
        assert (row.kind, row.created_by) == ("adverse_event", f"case:{review.case_id}")


async def refused(review: ReviewDriver, actor, kind: str, field: str | None,  # type: ignore[no-untyped-def]
                  **payload) -> None:
    before = await review.state()
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await review.act("decide", actor, **payload)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == kind, cause
    if field is not None:
        assert cause.details and cause.details[0] == {"field": field}, cause.details
    after = await review.state()
    assert after.steps == before.steps and after.status == "pending"


async def test_only_regulatory_decides_and_not_reportable_needs_a_reason(
        private_env, sessions, policy_book):
    env, queue = private_env
    complaint = await ComplaintDriver.open(env, queue, policy_book)
    review = await linked(complaint, "review", ReviewDriver)
    await refused(review, SUPERVISOR, "NotPermitted", None, decision="not_adverse_event",
                  reason="服务态度问题")
    await refused(review, ENGINEER, "NotPermitted", None, decision="not_adverse_event",
                  reason="服务态度问题")
    await refused(review, REGULATORY, "InvalidPayload", "reason", decision="not_adverse_event")
    await refused(review, REGULATORY, "InvalidPayload", "event_type",
                  decision="possibly_reportable")
    await refused(review, REGULATORY, "InvalidPayload", "event_type",
                  decision="possibly_reportable", event_type="bruise")
    decided = await review.act("decide", REGULATORY, decision="not_adverse_event",
                               reason="服务态度问题,与器械无关")
    assert decided.status == "decided" and decided.linked_cases == []


async def test_an_unflagged_closed_repair_is_recorded_as_screened_by_the_rules(
        private_env, sessions, policy_book):
    env, queue = private_env
    repair = await RepairDriver.open(env, queue, sessions, policy_book)
    assert (await repair.state()).linked_cases == []  # screened at its close, not before
    closed = await repair.walk_to("closed")
    review = await linked(repair, "review", ReviewDriver)
    view = await review.state()
    assert view.screened and view.flags == [] and view.status == "decided"
    assert (view.decision, view.reason_code, view.decided_by) == (
        "not_adverse_event", NO_RULE_MATCHED, SYSTEM)
    assert view.decided_on_policy == closed.policy_version
    assert view.commitments == [] and view.origin.opened_at == closed.opened_at
    assert await review.result() == "decided"
    assert (await repair.result()).outcome == "repaired"


async def test_a_critical_repair_and_its_emergency_are_each_flagged_for_a_person(
        private_env, sessions, policy_book):
    env, queue = private_env
    repair = await RepairDriver.open(env, queue, sessions, policy_book, severity="critical",
                                     patient_harmed="yes")
    emergency = await linked(repair, "emergency", EmergencyDriver)
    first = await (await linked(emergency, "review", ReviewDriver)).state()
    assert first.flags == ["triggers:patient_safety"] and first.status == "pending"
    assert first.origin.case_id == emergency.case_id
    await repair.walk_to("closed")
    second = await (await linked(repair, "review", ReviewDriver)).state()
    assert second.flags == ["severities:critical", "patient_harmed:yes"]
    assert second.status == "pending" and not second.screened
    assert next(c for c in second.commitments if c.key == "decision").due_at == \
        second.opened_at + DAY


async def test_a_reportable_repair_gives_its_event_the_diagnosed_fault_for_group_detection(
        private_env, sessions, policy_book):
    env, queue = private_env
    repair = await RepairDriver.open(env, queue, sessions, policy_book, severity="critical",
                                     patient_harmed="yes")
    closed = await repair.walk_to("closed")
    review = await linked(repair, "review", ReviewDriver)
    await review.act("decide", REGULATORY, decision="possibly_reportable",
                     event_type="malfunction", reason="球管故障可能导致严重伤害")
    event = await (await linked(review, "adverse_event", EventDriver)).state()
    assert closed.fault_category == "xray_tube"
    assert event.fault_category == closed.fault_category

    # it went through the group detection of every adverse event (no other event like it)
    async def placed() -> str | None:
        return (await EventDriver(env, env.client.get_workflow_handle(event.case_id))
                .state()).group_placement

    assert await until(placed, "the event's group placement") == "ungrouped"
