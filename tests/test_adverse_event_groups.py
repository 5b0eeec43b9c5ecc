"""Group events (群体不良事件) on the time-skipping test server and PostgreSQL (docs/regulatory.md
"Group events"): events of one model and fault close together, across hospitals, make one
group event, decided in the database under the lock of their key; the group owes NMPA a report
within 12 hours of becoming known and climbs the ladder once per level when late; each of its
events then owes its own report within 24 hours; an event of another model, or outside the
window, stays out.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from sqlalchemy import select

from caseflow.domain.adverse_event import AdverseEventView
from caseflow.domain.sla import CommitmentView
from caseflow.store.models import AdverseEventGroupMember, CaseEventRow
from tests.adverse_event_driver import (
    REGULATORY,
    AdverseEventDriver,
    groups_of,
    model_of,
    units_of_one_model,
)
from tests.test_adverse_events import escalations, refused
from tests.test_deadlines import LADDER, PROMPT, advance_to
from tests.waiting import until

HOUR, DAY = timedelta(hours=1), timedelta(days=1)
TUBE = {"fault_category": "xray_tube"}


def commitment(view: AdverseEventView, key: str) -> CommitmentView:
    return next(c for c in view.commitments if c.key == key)


async def open_at(env, queue, sessions, book, serial: str, aware_at: datetime | None = None,  # type: ignore[no-untyped-def]
                  **fields) -> AdverseEventDriver:
    return await AdverseEventDriver.open(env, queue, sessions, book, jurisdictions=["CN", "EU"],
                                         serial=serial, aware_at=aware_at,
                                         **({**TUBE, **fields}))


async def placed(case: AdverseEventDriver) -> AdverseEventView:
    """The event once the group detection has answered (or its group has told it)."""
    async def ask() -> AdverseEventView | None:
        view = await case.state()
        return view if view.group_placement is not None else None
    return await until(ask, f"{case.case_id} placed")


async def the_group(env, sessions, model: str, members: int) -> AdverseEventDriver:  # type: ignore[no-untyped-def]
    """The one group event of `model`, once it has `members` events."""
    found = await until(lambda: groups_of(sessions, model), f"a group of {model}")
    assert len(found) == 1, found
    group = AdverseEventDriver(env, env.client.get_workflow_handle(found[0]))

    async def ask() -> AdverseEventView | None:
        view = await group.state()
        return view if view.group and len(view.group.members) == members else None
    await until(ask, f"{found[0]} with {members} events")
    return group


async def in_group(case: AdverseEventDriver, group_id: str) -> AdverseEventView:
    async def ask() -> AdverseEventView | None:
        view = await case.state()
        return view if view.group_case_id == group_id else None
    return await until(ask, f"{case.case_id} told it is in {group_id}")


async def test_three_events_of_one_model_and_fault_at_three_hospitals_make_one_group_event(
        private_env, sessions, policy_book):
    env, queue = private_env
    a, b, c = units_of_one_model(sessions)
    model = model_of(sessions, a)
    (other_model,) = units_of_one_model(sessions, hospitals=1)
    first = await open_at(env, queue, sessions, policy_book, a)
    await env.sleep(DAY)
    second = await open_at(env, queue, sessions, policy_book, b)
    elsewhere = await open_at(env, queue, sessions, policy_book, other_model)
    other_fault = await open_at(env, queue, sessions, policy_book, c,
                                fault_category="detector_large_area")
    for case in (first, second, elsewhere, other_fault):
        assert (await placed(case)).group_placement == "ungrouped"
    assert groups_of(sessions, model) == []
    await env.sleep(DAY)
    third = await open_at(env, queue, sessions, policy_book, c)
    group = await the_group(env, sessions, model, members=3)
    view = await group.state()
    third_aware = (await third.state()).aware_at
    assert view.event_type == "group" and view.aware_at == third_aware  # known with the third
    members = [first.case_id, second.case_id, third.case_id]
    assert [m.case_id for m in view.group.members] == members
    assert [(link.case_id, link.relation) for link in view.linked_cases] == [
        (m, "member") for m in members]
    assert view.group.same == {"brand": "Canon", "model": model, "fault_category": "xray_tube"}
    # Only NMPA has a group clock: 12 hours from when the group became known.
    assert [(r.jurisdiction, r.within) for r in view.reports] == [("CN", "12h")]
    assert commitment(view, "report:CN").due_at == third_aware + 12 * HOUR
    assert view.equipment.model == model and "classify" not in view.allowed_actions

    for case in (first, second, third):
        member = await in_group(case, group.case_id)
        assert ("adverse_event", "group") in [(x.kind, x.relation) for x in member.linked_cases]
        own = commitment(member, "group_case:CN")  # each case within 24 h of the group
        assert own.started_at == third_aware and own.due_at == third_aware + 24 * HOUR
        cn = next(r for r in member.reports if r.jurisdiction == "CN")
        assert cn.group_due_at == own.due_at and cn.due_at == member.aware_at + 20 * DAY
        assert "group_case:EU" not in [x.key for x in member.commitments]

    # A fourth within the window joins the group (not a new one); its 24 h count from its own
    # awareness. Another model, another fault, or an event past the window stay out.
    await env.sleep(2 * DAY)
    fourth = await open_at(env, queue, sessions, policy_book, a)
    await the_group(env, sessions, model, members=4)
    joined = await in_group(fourth, group.case_id)
    assert commitment(joined, "group_case:CN").due_at == joined.aware_at + 24 * HOUR
    assert (await placed(fourth)).group_placement == "joined"
    with sessions() as session:
        added = session.scalars(select(CaseEventRow.event).where(
            CaseEventRow.case_id == group.case_id)).all()
    assert "group-member-added" in added
    await env.sleep(8 * DAY)  # past the window of the group's last event
    late = await open_at(env, queue, sessions, policy_book, b)
    assert (await placed(late)).group_placement == "ungrouped"
    for case in (elsewhere, other_fault, late):
        assert (await case.state()).group_case_id is None
    assert groups_of(sessions, model) == [group.case_id]
    assert len((await group.state()).group.members) == 4

    # Submitting the NMPA report of an event meets its 24 h rule too.
    sent = await first.submit("CN", "国械监-G-1")
    assert commitment(sent, "group_case:CN").state == "met_late"  # 8 days after: late
    assert commitment(sent, "report:CN").state == "met"


async def test_events_arriving_at_once_make_exactly_one_group(private_env, sessions, policy_book):
    env, queue = private_env
    serials = units_of_one_model(sessions, hospitals=3)
    model = model_of(sessions, serials[0])
    now = await env.get_current_time()
    cases = await asyncio.gather(*(
        open_at(env, queue, sessions, policy_book, serial, aware_at=now - n * HOUR)
        for n, serial in enumerate([*serials, serials[0], serials[1]])))
    group = await the_group(env, sessions, model, members=5)
    for case in cases:
        await in_group(case, group.case_id)
    outcomes = [(await placed(case)).group_placement for case in cases]
    assert outcomes.count("formed") == 1 and set(outcomes) <= {"formed", "joined"}, outcomes
    with sessions() as session:
        rows = session.scalars(select(AdverseEventGroupMember).where(
            AdverseEventGroupMember.case_id.in_([c.case_id for c in cases]))).all()
    assert len({row.group_id for row in rows}) == 1 and len(rows) == 5
    assert groups_of(sessions, model) == [group.case_id]


async def test_a_late_group_report_climbs_the_ladder_once_per_level(
        private_env, sessions, policy_book):
    env, queue = private_env
    serials = units_of_one_model(sessions, jurisdictions=("CN",))
    model = model_of(sessions, serials[0])
    for serial in serials:
        await open_at(env, queue, sessions, policy_book, serial)
    group = await the_group(env, sessions, model, members=3)
    aware = (await group.state()).aware_at
    await advance_to(env, aware + 12 * HOUR * 2.5 + HOUR)  # past level 3
    late = await group.submit("CN", "NMPA-群体-2026-001")
    report = commitment(late, "report:CN")
    assert report.state == "met_late" and late.status == "reported"
    assert [f.level for f in report.fired] == [0, 1, 2, 3]
    for fired in report.fired:
        assert fired.scheduled_at == aware + 12 * HOUR * LADDER[fired.level], fired
        assert fired.fired_at - fired.scheduled_at < PROMPT
    await group.sleep(days=2)
    # A later step proves the workflow went on past the submission before counting rungs.
    await group.act("investigate", REGULATORY, findings="同批次球管高压接头缺陷")
    assert [e for e in escalations(sessions, group.case_id) if e[0] == "report:CN"] == [
        ("report:CN", level) for level in range(4)]
    closed = await group.act("close", REGULATORY, evaluation="批次缺陷,已召回")
    assert closed.status == "closed"
    # A closed group takes no more events: the next one within its window waits in no group.
    after = await open_at(env, queue, sessions, policy_book, serials[0])
    assert (await placed(after)).group_placement == "ungrouped"
    assert groups_of(sessions, model) == [group.case_id]


async def test_an_event_classified_with_its_fault_is_placed_then_keeps_it(
        private_env, sessions, policy_book):
    env, queue = private_env
    serials = units_of_one_model(sessions)
    model = model_of(sessions, serials[0])
    unknown = await AdverseEventDriver.open(env, queue, sessions, policy_book,
                                            jurisdictions=["CN", "EU"], serial=serials[0])
    others = [await open_at(env, queue, sessions, policy_book, serial) for serial in serials[1:]]
    for case in others:
        assert (await placed(case)).group_placement == "ungrouped"
    # The later step proves the first event's workflow went past its opening unplaced.
    view = await unknown.act("investigate", REGULATORY, findings="球管打火")
    assert view.group_placement is None and view.fault_category is None
    view = await unknown.act("classify", REGULATORY, event_type="serious_injury",
                             reason="诊断为球管故障", fault_category="xray_tube")
    assert view.fault_category == "xray_tube"
    group = await the_group(env, sessions, model, members=3)
    assert (await in_group(unknown, group.case_id)).group_placement == "formed"
    again = await refused(unknown, "classify", "InvalidTransition", event_type="serious_injury",
                          reason="复核", fault_category="other")
    assert group.case_id in again.message
