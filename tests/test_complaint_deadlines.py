"""Deadlines of a complaint on the time-skipping test server (DOMAIN.md section 2).

First feedback (24 h, the hotline's), the investigation team (2 days), the corrective plan
(7 days), the answer (10 days) and the satisfaction callback (3 days after the last corrective
action) each climb the escalation ladder on their own when missed and stay silent when met; each
corrective action carries its own due date and warns its own owner; a withdrawal waives every
open commitment; a dissatisfied callback reopens the complaint one level higher; the `act`
validator refuses the wrong person, the wrong moment and a bad payload.

Every scenario is checked in the workflow's own view (query) and in what the recording
activities wrote to PostgreSQL (escalations, timeline, notifications outbox, case row).

The tests run on a private time-skipping server (one per module): they jump weeks ahead, which
must not move the shared server's clock (repair tests there assume units still in warranty).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from caseflow.domain.complaint import ComplaintResult, ComplaintView
from caseflow.domain.records import Actor
from caseflow.domain.sla import CommitmentView
from caseflow.store.models import Escalation, Notification
from tests.complaint_driver import MANAGER, ComplaintDriver
from tests.repair_driver import AUDITOR, ENGINEER, HOTLINE, OTHER_ENGINEER, SUPERVISOR
from tests.test_deadlines import (
    LADDER,
    PROMPT,
    advance_to,
    assert_fired_on_ladder,
    case_row,
    commitment,
    escalation_rows,
    notified,
    timeline,
)

DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)
DURATIONS = {"first_feedback": timedelta(hours=24), "team": 2 * DAY, "plan": 7 * DAY,
             "answer": 10 * DAY, "callback": 3 * DAY}
STAGES = ("team", "plan", "answer")  # restarted as a new round when a complaint reopens
LEVEL_ROLES = {1: "supervisor", 2: "manager", 3: "director"}
SUPERVISORS = {"H-DH": {"SV-01"}, "H-JB": {"SV-01", "SV-02"}}  # SV-02 serves H-JB only

Opener = Callable[..., Awaitable[ComplaintDriver]]
STUCK = 60  # seconds: an update still unanswered by then hit a failing workflow task


class Driver(ComplaintDriver):
    """A step that crashes the workflow task leaves its update hanging: fail it instead."""

    async def act(self, action: str, actor: Actor, update_id: str | None = None,
                  **payload: Any) -> ComplaintView:
        return await asyncio.wait_for(super().act(action, actor, update_id, **payload), STUCK)


# ----- fixtures and helpers ----------------------------------------------------------------------

@pytest.fixture
def open_complaint(private_env, policy_book) -> Opener:  # type: ignore[no-untyped-def]
    """Open complaints (left running: terminating one mid-activity jams the test server)."""
    env, queue = private_env

    async def _open(**intake_fields: Any) -> ComplaintDriver:
        return await Driver.open(env, queue, policy_book, **intake_fields)

    return _open


def at_of(view: ComplaintView) -> datetime:
    """When the step that produced `view` was taken."""
    return view.steps[-1].at


def current(view: ComplaintView) -> dict[str, CommitmentView]:
    """The current round of every commitment (later rounds replace earlier ones)."""
    return {c.key: c for c in view.commitments}


def rung(c: CommitmentView, fraction: float) -> datetime:
    """A rung's instant as the ladder defines it: a fraction of the span up to the due time, then
    that fraction - 1 of the span past it."""
    assert c.due_at is not None
    span = c.due_at - c.started_at
    return c.started_at + span * fraction if fraction <= 1 else c.due_at + span * (fraction - 1)


def assert_rungs(c: CommitmentView, levels: list[int], notify: dict[int, str]) -> None:
    """Each level fired once at its rung, promptly (for commitments of any span)."""
    assert [f.level for f in c.fired] == levels, c.fired
    for fired in c.fired:
        assert fired.scheduled_at == rung(c, LADDER[fired.level]), fired
        assert timedelta(0) <= fired.fired_at - fired.scheduled_at < PROMPT, fired
        assert fired.notify == notify[fired.level]


def all_escalations(sessions, case_id: str) -> list[Escalation]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(Escalation).where(Escalation.case_id == case_id)
                                    .order_by(Escalation.id)))


def escalation_notices(sessions, case_id: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(Notification).where(
            Notification.case_id == case_id, Notification.dedupe_key.like(f"{case_id}/esc/%"))))


def step_notices(sessions, case_id: str, person_id: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    """The outbox messages a person got from the steps of a case (not from escalations)."""
    with sessions() as session:
        return list(session.scalars(select(Notification).where(
            Notification.case_id == case_id, Notification.person_id == person_id,
            Notification.dedupe_key.not_like(f"{case_id}/esc/%")).order_by(Notification.id)))


async def give_feedback(case: ComplaintDriver) -> ComplaintView:
    return await case.act("first-feedback", HOTLINE, note="已受理,10日内答复")


async def form_team(case: ComplaintDriver) -> ComplaintView:
    return await case.act("form-team", SUPERVISOR, members=[
        {"name": "李强", "role": "technician"}, {"name": "周芳", "role": "quality_control"}])


async def plan(case: ComplaintDriver, *actions: tuple[Actor, timedelta]) -> ComplaintView:
    """Findings, root cause and a plan with one corrective action per (owner, time to due)."""
    await case.act("record-findings", SUPERVISOR, facts="工程师当日任务过多,未及时到场")
    await case.act("root-cause", SUPERVISOR, root_cause="派工未考虑工程师负荷")
    items = [{"description": f"整改措施 {n}", "owner_id": owner.id, "owner_name": owner.name,
              "due_at": await case.due_in(seconds=due.total_seconds())}
             for n, (owner, due) in enumerate(actions, start=1)]
    return await case.act("plan", SUPERVISOR, summary="调整派工规则并培训", actions=items)


async def brief_and_answer(case: ComplaintDriver) -> ComplaintView:
    await case.act("brief", SUPERVISOR, summary="服务部内部通报", attendees=["李强", "张伟"])
    return await case.act("answer", HOTLINE, answer="已查明原因并整改,向您致歉")


async def complete(case: ComplaintDriver, action_id: str, actor: Actor = ENGINEER) -> ComplaintView:
    return await case.act("complete-action", actor, action_id=action_id, result="已完成整改")


async def result_of(env: WorkflowEnvironment, case: ComplaintDriver) -> ComplaintResult:
    """The result of a case that has just ended, without letting the server skip time: awaiting a
    result unlocks time skipping, and with nothing else pending the test server jumps to its next
    timer (a workflow's 10-year run timeout)."""
    with env.auto_time_skipping_disabled():
        return await asyncio.wait_for(case.handle.result(), timeout=STUCK)


async def refused(case: ComplaintDriver, action: str, actor: Actor, kind: str,
                  field: str | None = None, **payload: Any) -> ApplicationError:
    """The update is refused with `kind` (and `field`) and the case is left as it was."""
    before = await case.state()
    with pytest.raises(WorkflowUpdateFailedError) as caught:
        await case.act(action, actor, **payload)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.type == kind, (cause.type, cause.message)
    if field is not None:
        assert cause.details and cause.details[0] == {"field": field}, cause.details
    after = await case.state()
    assert after.steps == before.steps and after.status == before.status
    assert after.actions == before.actions
    return cause


# ----- every step in time: nothing escalates -----------------------------------------------------

async def test_a_complaint_handled_in_time_meets_every_commitment_and_escalates_nothing(
        open_complaint, env, sessions):
    case = await open_complaint()
    opened_at = (await case.state()).opened_at
    await case.sleep(hours=2)  # first feedback: warning at 18 h
    await give_feedback(case)
    await case.sleep(hours=22)  # team: warning at 36 h
    await form_team(case)
    await case.sleep(days=3)  # plan: warning at 5 days 6 h
    await plan(case, (ENGINEER, 2 * DAY))
    await case.act("brief", SUPERVISOR, summary="服务部内部通报")
    await case.sleep(days=1)  # the action: warning 36 h after the plan
    await complete(case, "A1")
    await case.sleep(days=1)  # answer: warning at 7 days 12 h
    view = await case.act("answer", HOTLINE, answer="已查明原因并整改,向您致歉")
    assert view.status == "awaiting_callback"  # every action already done
    await case.sleep(days=2)  # callback: warning 54 h after the answer
    view = await case.act("callback", HOTLINE, satisfied=True, satisfaction=5, comment="满意")
    assert view.status == "resolved"
    await case.sleep(days=1)  # close: warning at 36 h after the callback
    await case.act("close", SUPERVISOR, lessons_learned="派工须考虑工程师负荷")

    await case.sleep(days=30)  # past the last rung of every commitment
    view = await case.state()
    commitments = current(view)
    assert set(commitments) == {*DURATIONS, "action-A1", "close"}
    assert commitments["close"].state == "met"
    for key, duration in DURATIONS.items():
        c = commitments[key]
        assert c.round == 1 and c.state == "met", c
        assert c.due_at == c.started_at + duration
        assert c.met_at is not None and c.met_at < rung(c, LADDER[0])
    for c in view.commitments:
        assert c.state == "met" and c.fired == [] and not c.warned and not c.breached, c
    assert commitments["first_feedback"].started_at == opened_at
    assert not view.breached and view.escalation_level == 0 and view.escalations == []
    assert all_escalations(sessions, case.case_id) == []
    assert escalation_notices(sessions, case.case_id) == []
    assert not any(e.event in ("warning", "escalation") for e in timeline(sessions, case.case_id))
    result = await result_of(env, case)
    assert result.outcome == "resolved" and result.level == 1 and result.satisfaction == 5
    row = case_row(sessions, case.case_id)
    assert row.status == "closed" and not row.breached


# ----- first feedback, team, plan, answer missed --------------------------------------------------

async def _meet_steps_before(case: ComplaintDriver, key: str) -> ComplaintView:
    """Meet at once every intake commitment that comes before `key`; leave `key` open."""
    view = await case.state()
    order = ["first_feedback", "team", "plan", "answer"]
    done = order[:order.index(key)]
    if "first_feedback" in done:
        view = await give_feedback(case)
    if "team" in done:
        view = await form_team(case)
    if "plan" in done:
        await plan(case, (ENGINEER, 60 * DAY))  # the action's ladder starts long after
        view = await case.act("brief", SUPERVISOR, summary="服务部内部通报")
    return view


@pytest.mark.parametrize(("key", "hospital", "warned"), [
    ("first_feedback", "H-DH", "hotline"),  # the hotline's: its warning goes to the hotline
    ("team", "H-DH", "assignee"),  # nobody handles it yet: the warning goes to the supervisors
    ("team", "H-JB", "assignee"),
    ("plan", "H-DH", "assignee"),
    ("answer", "H-DH", "hotline"),
])
async def test_a_missed_complaint_step_climbs_the_ladder_once_per_level(
        open_complaint, env, sessions, key, hospital, warned):
    case = await open_complaint(hospital_id=hospital)
    view = await _meet_steps_before(case, key)
    opened_at, duration = view.opened_at, DURATIONS[key]
    c = commitment(view, key)
    assert c.started_at == opened_at and c.due_at == opened_at + duration and c.state == "open"

    await advance_to(env, opened_at + duration * LADDER[3] + MINUTE)
    view = await case.state()
    c = commitment(view, key)
    assert c.round == 1 and c.state == "breached" and c.warned and c.escalation_level == 3
    assert c.breached_at == opened_at + duration
    assert_fired_on_ladder(c, [0, 1, 2, 3], duration, {0: warned, **LEVEL_ROLES})
    assert [f.scheduled_at - opened_at for f in c.fired] == [
        duration * 0.75, duration, duration * 1.5, duration * 2.5]
    assert view.breached and view.escalation_level == 3
    assert [e["level"] for e in view.escalations if e["commitment"] == key] == [0, 1, 2, 3]

    rows = escalation_rows(sessions, case.case_id, key)
    assert [(r.round, r.level, r.notify, r.scheduled_at) for r in rows] == [
        (1, f.level, f.notify, f.scheduled_at) for f in c.fired]
    assert all(r.due_at == opened_at + duration for r in rows)
    supervisors = SUPERVISORS[hospital]
    warned_people = {"HL-01"} if warned == "hotline" else supervisors
    assert notified(sessions, case.case_id, key, 1, 0) == dict.fromkeys(warned_people, False)
    assert notified(sessions, case.case_id, key, 1, 1) == dict.fromkeys(supervisors, False)
    assert notified(sessions, case.case_id, key, 1, 2) == {"MG-01": False}
    assert notified(sessions, case.case_id, key, 1, 3) == {"DR-01": False}
    events = [(e.event, e.data["level"]) for e in timeline(sessions, case.case_id)
              if e.event in ("warning", "escalation") and e.data["commitment"] == key]
    assert events == [("warning", 0), ("escalation", 1), ("escalation", 2), ("escalation", 3)]
    assert case_row(sessions, case.case_id).breached

    # the steps met before it stayed silent; nothing more fires for this one
    for earlier in ("first_feedback", "team", "plan"):
        if earlier == key:
            break
        assert commitment(view, earlier).state == "met"
        assert escalation_rows(sessions, case.case_id, earlier) == []
    await case.sleep(days=20)
    assert commitment(await case.state(), key).fired == c.fired
    assert len(escalation_rows(sessions, case.case_id, key)) == 4


async def test_a_named_handler_gets_the_warnings_of_the_investigation_steps(open_complaint, env,
                                                                            sessions):
    case = await open_complaint(hospital_id="H-JB")
    view = await case.act("assign", SUPERVISOR, handler_id="SV-02", handler_name="黄磊")
    assert view.assignee is not None and view.assignee.id == "SV-02"
    await give_feedback(case)
    opened_at = view.opened_at
    await advance_to(env, opened_at + DURATIONS["team"] + MINUTE)
    assert_fired_on_ladder(commitment(await case.state(), "team"), [0, 1], DURATIONS["team"],
                           {0: "assignee", 1: "supervisor"})
    assert notified(sessions, case.case_id, "team", 1, 0) == {"SV-02": False}  # the handler only
    assert notified(sessions, case.case_id, "team", 1, 1) == {"SV-01": False, "SV-02": False}
    await form_team(case)
    await advance_to(env, opened_at + DURATIONS["plan"] + MINUTE)
    view = await case.state()
    assert commitment(view, "team").state == "met_late"
    assert_fired_on_ladder(commitment(view, "plan"), [0, 1], DURATIONS["plan"],
                           {0: "assignee", 1: "supervisor"})
    assert notified(sessions, case.case_id, "plan", 1, 0) == {"SV-02": False}
    assert [r.level for r in escalation_rows(sessions, case.case_id, "team")] == [0, 1]


async def test_first_feedback_counts_from_when_the_complaint_was_received(open_complaint, env,
                                                                         sessions):
    received = await env.get_current_time() - timedelta(hours=20)  # recorded 20 h late
    case = await open_complaint(received_at=received.isoformat())
    await case.sleep(minutes=1)
    view = await case.state()
    feedback = commitment(view, "first_feedback")
    assert feedback.started_at == received and feedback.due_at == received + DAY
    assert [f.level for f in feedback.fired] == [0]  # 18 h had passed: the hotline is warned
    assert notified(sessions, case.case_id, "first_feedback", 1, 0) == {"HL-01": False}
    for key in STAGES:
        assert commitment(view, key).due_at == received + DURATIONS[key]
    view = await give_feedback(case)
    assert commitment(view, "first_feedback").state == "met"  # late-warned, but met in time


# ----- corrective actions: each its own owner, due date and ladder -------------------------------

async def test_each_corrective_action_warns_its_own_owner_and_escalates_at_its_own_due_time(
        open_complaint, env, sessions):
    case = await open_complaint()
    await give_feedback(case)
    await form_team(case)
    view = await plan(case, (ENGINEER, 2 * DAY), (SUPERVISOR, 4 * DAY))
    planned_at = at_of(view)
    a1, a2 = view.actions
    assert (a1.id, a1.owner_id, a2.id, a2.owner_id) == ("A1", "EN-01", "A2", "SV-01")
    c1, c2 = commitment(view, "action-A1"), commitment(view, "action-A2")
    assert c1.started_at == c2.started_at == planned_at
    assert (c1.due_at, c2.due_at) == (a1.due_at, a2.due_at)
    assert a1.due_at - planned_at <= 2 * DAY and a2.due_at - planned_at <= 4 * DAY
    # each owner is told of their action
    assert [n.subject for n in step_notices(sessions, case.case_id, "EN-01")] == [
        f"整改措施 A1({case.case_id})"]
    assert f"整改措施 A2({case.case_id})" in " ".join(
        n.subject for n in step_notices(sessions, case.case_id, "SV-01"))
    view = await brief_and_answer(case)
    assert view.status == "answered"  # actions open: no callback yet

    await advance_to(env, planned_at + 2 * DAY + MINUTE)  # A1 due; A2 not yet warned (3 days)
    view = await case.state()
    assert_rungs(commitment(view, "action-A1"), [0, 1], {0: "assignee", 1: "supervisor"})
    assert commitment(view, "action-A2").fired == []
    assert notified(sessions, case.case_id, "action-A1", 1, 0) == {"EN-01": False}
    assert notified(sessions, case.case_id, "action-A1", 1, 1) == {"SV-01": False}

    await advance_to(env, planned_at + 4 * DAY + MINUTE)  # A2 due; A1 at level 2 (3 days)
    view = await case.state()
    c1, c2 = commitment(view, "action-A1"), commitment(view, "action-A2")
    assert_rungs(c1, [0, 1, 2], {0: "assignee", 1: "supervisor", 2: "manager"})
    assert_rungs(c2, [0, 1], {0: "assignee", 1: "supervisor"})
    assert c2.breached_at == a2.due_at and c2.state == "breached"
    assert notified(sessions, case.case_id, "action-A2", 1, 0) == {"SV-01": False}  # its owner
    assert notified(sessions, case.case_id, "action-A2", 1, 1) == {"SV-01": False}
    assert notified(sessions, case.case_id, "action-A1", 1, 2) == {"MG-01": False}

    view = await complete(case, "A1")  # late: A1 stops where it is, A2 goes on
    assert commitment(view, "action-A1").state == "met_late"
    assert view.status == "answered"
    await advance_to(env, planned_at + 10 * DAY + MINUTE)
    view = await case.state()
    assert [f.level for f in commitment(view, "action-A1").fired] == [0, 1, 2]
    assert_rungs(commitment(view, "action-A2"), [0, 1, 2, 3],
                 {0: "assignee", **LEVEL_ROLES})
    assert notified(sessions, case.case_id, "action-A2", 1, 2) == {"MG-01": False}
    assert notified(sessions, case.case_id, "action-A2", 1, 3) == {"DR-01": False}
    assert [(r.level, r.notify) for r in escalation_rows(sessions, case.case_id, "action-A1")] \
        == [(0, "assignee"), (1, "supervisor"), (2, "manager")]
    assert [r.due_at for r in escalation_rows(sessions, case.case_id, "action-A2")] == \
        [a2.due_at] * 4


async def test_an_action_added_midway_gets_its_own_deadline_and_warns_its_owner(
        open_complaint, env, sessions):
    case = await open_complaint()
    view = await case.walk_to_answered(action_days=3)
    a1 = commitment(view, "action-A1")
    await case.sleep(hours=5)
    due = await case.due_in(days=1)
    view = await case.act("add-action", SUPERVISOR, description="向投诉人书面致歉",
                          owner_id=OTHER_ENGINEER.id, owner_name=OTHER_ENGINEER.name, due_at=due)
    added_at = at_of(view)
    assert view.status == "answered"
    added = view.actions[-1]
    assert (added.id, added.owner_id, added.added_at) == ("A2", "EN-02", added_at)
    a2 = commitment(view, "action-A2")
    assert a2.round == 1 and a2.state == "open"
    assert a2.started_at == added_at and a2.due_at == added.due_at == datetime.fromisoformat(due)
    assert a2.started_at > a1.started_at
    assert [n.subject for n in step_notices(sessions, case.case_id, "EN-02")] == [
        f"整改措施 A2({case.case_id})"]

    await advance_to(env, a2.due_at + MINUTE)
    view = await case.state()
    assert_rungs(commitment(view, "action-A2"), [0, 1], {0: "assignee", 1: "supervisor"})
    assert notified(sessions, case.case_id, "action-A2", 1, 0) == {"EN-02": False}
    assert notified(sessions, case.case_id, "action-A2", 1, 1) == {"SV-01": False}
    assert commitment(view, "action-A1").fired == []  # its own warning comes at 2 days 6 h
    view = await complete(case, "A2", OTHER_ENGINEER)  # the owner completes it
    assert commitment(view, "action-A2").state == "met_late"
    assert view.status == "answered"  # A1 still open


async def test_the_callback_starts_when_the_last_action_is_done_and_is_met_in_time(
        open_complaint, env, sessions):
    case = await open_complaint()
    await give_feedback(case)
    await form_team(case)
    await plan(case, (ENGINEER, 3 * DAY), (OTHER_ENGINEER, 5 * DAY))
    view = await brief_and_answer(case)
    assert view.status == "answered" and "callback" not in current(view)
    await case.sleep(days=1)
    view = await complete(case, "A1")
    assert view.status == "answered" and "callback" not in current(view)
    assert "callback" not in view.allowed_actions
    await case.sleep(days=1)
    view = await complete(case, "A2", OTHER_ENGINEER)
    done_at = at_of(view)
    assert view.actions[-1].done_at == done_at
    assert view.status == "awaiting_callback"
    callback = commitment(view, "callback")
    assert callback.round == 1 and callback.state == "open"
    assert callback.started_at == done_at and callback.due_at == done_at + 3 * DAY

    await case.sleep(days=2)  # the warning would come at 2 days 6 h
    view = await case.act("callback", HOTLINE, satisfied=True, satisfaction=4, comment="满意")
    assert view.status == "resolved" and commitment(view, "callback").state == "met"
    await case.sleep(days=10)
    assert commitment(await case.state(), "callback").fired == []
    assert escalation_rows(sessions, case.case_id, "callback") == []


async def test_a_missed_callback_warns_the_hotline_and_climbs_the_ladder(open_complaint, env,
                                                                         sessions):
    case = await open_complaint()
    await case.walk_to_answered(action_days=3)
    view = await complete(case, "A1")
    done_at = at_of(view)
    callback = commitment(view, "callback")
    assert callback.started_at == done_at and callback.due_at == done_at + 3 * DAY

    await advance_to(env, done_at + 3 * DAY * LADDER[3] + MINUTE)
    view = await case.state()
    callback = commitment(view, "callback")
    assert callback.state == "breached" and view.status == "awaiting_callback"
    assert_fired_on_ladder(callback, [0, 1, 2, 3], 3 * DAY, {0: "hotline", **LEVEL_ROLES})
    rows = escalation_rows(sessions, case.case_id, "callback")
    assert [(r.round, r.level, r.scheduled_at - done_at) for r in rows] == [
        (1, 0, timedelta(hours=54)), (1, 1, 3 * DAY), (1, 2, timedelta(hours=108)),
        (1, 3, timedelta(hours=180))]
    assert notified(sessions, case.case_id, "callback", 1, 0) == {"HL-01": False}
    assert notified(sessions, case.case_id, "callback", 1, 1) == {"SV-01": False}
    assert notified(sessions, case.case_id, "callback", 1, 2) == {"MG-01": False}
    assert notified(sessions, case.case_id, "callback", 1, 3) == {"DR-01": False}

    view = await case.act("callback", HOTLINE, satisfied=True, satisfaction=3, comment="回访晚了")
    assert view.status == "resolved" and commitment(view, "callback").state == "met_late"
    assert view.breached


async def test_an_action_added_while_awaiting_the_callback_waives_it_until_that_action_is_done(
        open_complaint, env, sessions):
    case = await open_complaint()
    await case.walk_to_answered(action_days=3)
    view = await complete(case, "A1")
    first_done = at_of(view)
    assert view.status == "awaiting_callback"
    await case.sleep(days=1)
    view = await case.act("add-action", SUPERVISOR, description="复查派工规则执行情况",
                          owner_id=OTHER_ENGINEER.id, owner_name=OTHER_ENGINEER.name,
                          due_at=await case.due_in(days=10))
    added_at = at_of(view)
    assert view.status == "answered"
    assert "callback" not in view.allowed_actions
    callback = commitment(view, "callback")
    assert callback.round == 1 and callback.state == "waived"
    assert callback.waived_at == added_at
    assert callback.waived_reason == "a corrective action was added"

    await advance_to(env, first_done + 3 * DAY * LADDER[3] + MINUTE)  # the old callback ladder
    view = await case.state()
    assert commitment(view, "callback").fired == []
    assert escalation_rows(sessions, case.case_id, "callback") == []
    await refused(case, "callback", HOTLINE, "InvalidTransition", satisfied=True, satisfaction=5)

    view = await complete(case, "A2", OTHER_ENGINEER)
    done_at = at_of(view)
    assert view.status == "awaiting_callback"
    callback = commitment(view, "callback")
    assert callback.round == 2 and callback.state == "open"
    assert callback.started_at == done_at and callback.due_at == done_at + 3 * DAY
    assert [(c.round, c.state) for c in view.commitments if c.key == "callback"] == [
        (1, "waived"), (2, "open")]


# ----- withdrawal --------------------------------------------------------------------------------

async def _withdraw_at(case: ComplaintDriver, stage: str) -> ComplaintView:
    if stage == "intake":
        return await case.state()
    if stage == "after_a_warning":
        await case.sleep(hours=20)  # first feedback warned at 18 h
        return await case.state()
    if stage == "planned":
        await give_feedback(case)
        await form_team(case)
        await plan(case, (ENGINEER, 3 * DAY), (SUPERVISOR, 5 * DAY))
        return await complete(case, "A1")  # A2 still open
    assert stage == "awaiting_callback"
    await case.walk_to_answered(action_days=3)
    return await complete(case, "A1")


@pytest.mark.parametrize(("stage", "status"), [
    ("intake", "recorded"), ("after_a_warning", "recorded"), ("planned", "planned"),
    ("awaiting_callback", "awaiting_callback")])
async def test_withdrawal_waives_every_open_commitment_and_nothing_escalates_afterwards(
        open_complaint, env, sessions, stage, status):
    case = await open_complaint()
    before = await _withdraw_at(case, stage)
    assert before.status == status
    was_open = {c.key for c in before.commitments if c.state in ("open", "breached")}
    assert was_open
    rows_before = [(r.commitment, r.level) for r in all_escalations(sessions, case.case_id)]

    view = await case.act("withdraw", HOTLINE, reason="投诉人表示问题已解决,撤回投诉")
    withdrawn_at = at_of(view)
    assert view.status == "withdrawn" and view.outcome == "withdrawn"
    assert view.withdrawn_reason == "投诉人表示问题已解决,撤回投诉"
    assert view.closed_at == withdrawn_at and view.allowed_actions == []
    for c in current(view).values():
        if c.key in was_open:
            assert c.state == "waived", c
            assert c.waived_at == withdrawn_at and c.waived_reason == "withdrawn"
        else:
            assert c.state == "met", c
    assert not any(c.state in ("open", "breached", "paused") for c in view.commitments)

    result = await result_of(env, case)
    assert isinstance(result, ComplaintResult)
    assert result.outcome == "withdrawn" and result.closed_at == withdrawn_at
    assert result.level == 1

    await case.sleep(days=40)  # weeks past every deadline the case had
    view = await case.state()
    assert view.status == "withdrawn"
    assert [(r.commitment, r.level) for r in all_escalations(sessions, case.case_id)] == \
        rows_before
    assert not [e for e in timeline(sessions, case.case_id)
                if e.event in ("warning", "escalation") and e.at > withdrawn_at]
    if stage == "after_a_warning":
        assert rows_before == [("first_feedback", 0)]
        assert commitment(view, "first_feedback").warned
    else:
        assert rows_before == []
    row = case_row(sessions, case.case_id)
    assert row.status == "withdrawn" and row.closed_at == withdrawn_at
    assert timeline(sessions, case.case_id)[-1].event == "withdraw"


# ----- reopening after a dissatisfied callback ---------------------------------------------------

async def _round_to_callback(case: ComplaintDriver, action_id: str) -> ComplaintView:
    """After a reopening: team, findings, root cause, a one-action plan, answer, action done."""
    await form_team(case)
    await plan(case, (ENGINEER, 3 * DAY))
    await brief_and_answer(case)
    view = await complete(case, action_id)
    assert view.status == "awaiting_callback"
    return view


def reopen_notices(sessions, case_id: str, person_id: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    return [n for n in step_notices(sessions, case_id, person_id) if n.template == "complaint-reopened"]


async def test_a_dissatisfied_callback_reopens_one_level_higher_up_to_the_director(
        open_complaint, env, sessions):
    case = await open_complaint()
    await case.walk_to_answered(action_days=3)
    await complete(case, "A1")
    view = await case.act("callback", HOTLINE, satisfied=False, satisfaction=2,
                          comment="整改不到位,要求上级处理")
    reopened_at = at_of(view)
    assert view.status == "reopened" and view.level == 2 and view.satisfied is False
    assert "form-team" in view.allowed_actions
    for key in STAGES:
        rounds = [c for c in view.commitments if c.key == key]
        assert [(c.round, c.state) for c in rounds] == [(1, "met"), (2, "open")]
        assert rounds[-1].started_at == reopened_at
        assert rounds[-1].due_at == reopened_at + DURATIONS[key]
    assert commitment(view, "first_feedback").round == 1
    assert commitment(view, "callback").state == "met"
    # level 2 of the ladder: the service manager, at once
    notices = reopen_notices(sessions, case.case_id, "MG-01")
    assert [(n.urgent, n.subject) for n in notices] == [(True, f"投诉重开 {case.case_id}(第 2 级)")]
    assert reopen_notices(sessions, case.case_id, "DR-01") == []
    event = [e for e in timeline(sessions, case.case_id) if e.event == "callback"][-1]
    assert (event.data["level_before"], event.data["level"]) == (1, 2)

    # the restarted team commitment escalates as round 2, one level higher: the breach of a
    # complaint handled at level 2 goes to the manager, not the supervisor
    await advance_to(env, reopened_at + 2 * DAY + MINUTE)
    team = commitment(await case.state(), "team")
    assert team.round == 2 and team.state == "breached"
    assert_fired_on_ladder(team, [0, 1], 2 * DAY, {0: "assignee", 1: "manager"})
    assert [(r.round, r.level) for r in escalation_rows(sessions, case.case_id, "team")] == [
        (2, 0), (2, 1)]
    assert notified(sessions, case.case_id, "team", 2, 1) == {"MG-01": False}

    await _round_to_callback(case, "A2")
    view = await case.act("callback", HOTLINE, satisfied=False, satisfaction=1, comment="仍不满意")
    assert view.status == "reopened" and view.level == 3
    assert [c.round for c in view.commitments if c.key == "team"] == [1, 2, 3]
    assert commitment(view, "plan").started_at == at_of(view)
    notices = reopen_notices(sessions, case.case_id, "DR-01")
    assert [(n.urgent, n.params["level"]) for n in notices] == [(True, 3)]
    assert len(reopen_notices(sessions, case.case_id, "MG-01")) == 1

    await _round_to_callback(case, "A3")
    view = await case.act("callback", HOTLINE, satisfied=False, satisfaction=1, comment="还是不满意")
    assert view.status == "reopened" and view.level == 3  # no level above the director
    assert [c.round for c in view.commitments if c.key == "answer"] == [1, 2, 3, 4]
    assert [n.urgent for n in reopen_notices(sessions, case.case_id, "DR-01")] == [True, True]

    await case.act("withdraw", MANAGER, reason="投诉人改走法律途径")
    result = await result_of(env, case)
    assert result.level == 3 and result.outcome == "withdrawn"


# ----- the validator refuses before anything happens ---------------------------------------------

async def test_an_engineer_may_complete_only_the_actions_they_own(open_complaint, env):
    case = await open_complaint()
    await give_feedback(case)
    await form_team(case)
    await plan(case, (ENGINEER, 3 * DAY), (OTHER_ENGINEER, 3 * DAY), (ENGINEER, 3 * DAY))
    cause = await refused(case, "complete-action", OTHER_ENGINEER, "NotAssignee", action_id="A1",
                          result="不是我的")
    assert "A1" in cause.message
    view = await complete(case, "A2", OTHER_ENGINEER)
    assert view.actions[1].done_at is not None
    view = await complete(case, "A1", ENGINEER)
    assert view.actions[0].done_at is not None
    view = await complete(case, "A3", SUPERVISOR)  # staff may complete any action
    assert all(a.done_at is not None for a in view.actions)


async def test_a_plan_or_an_action_due_in_the_past_is_refused(open_complaint, env):
    case = await open_complaint()
    await give_feedback(case)
    await form_team(case)
    await case.act("record-findings", SUPERVISOR, facts="派工记录显示排队过多")
    await case.act("root-cause", SUPERVISOR, root_cause="派工未考虑负荷")
    past, future = await case.due_in(hours=-1), await case.due_in(days=3)
    action = {"description": "整改", "owner_id": "EN-01", "owner_name": "张伟"}
    await refused(case, "plan", SUPERVISOR, "InvalidPayload", field="actions.0.due_at",
                  summary="方案", actions=[action | {"due_at": past}])
    await refused(case, "plan", SUPERVISOR, "InvalidPayload", field="actions.1.due_at",
                  summary="方案", actions=[action | {"due_at": future}, action | {"due_at": past}])
    view = await case.act("plan", SUPERVISOR, summary="方案", actions=[action | {"due_at": future}])
    assert view.status == "planned" and [a.id for a in view.actions] == ["A1"]
    await refused(case, "add-action", SUPERVISOR, "InvalidPayload", field="due_at",
                  **action, due_at=past)


async def test_completing_an_unknown_or_a_done_action_is_refused(open_complaint, env):
    case = await open_complaint()
    await give_feedback(case)
    await form_team(case)
    await plan(case, (ENGINEER, 3 * DAY), (ENGINEER, 4 * DAY))
    cause = await refused(case, "complete-action", ENGINEER, "InvalidPayload", field="action_id",
                          action_id="A9", result="完成")
    assert "A9" in cause.message
    await complete(case, "A1")
    await refused(case, "complete-action", ENGINEER, "InvalidTransition", action_id="A1",
                  result="再来一次")  # A2 still open
    await complete(case, "A2")
    await refused(case, "complete-action", SUPERVISOR, "InvalidTransition", action_id="A2",
                  result="再来一次")  # every action done


async def test_first_feedback_twice_and_an_auditor_acting_are_refused(open_complaint, env):
    case = await open_complaint()
    await give_feedback(case)
    cause = await refused(case, "first-feedback", HOTLINE, "InvalidTransition", note="再次反馈")
    assert "already" in cause.message
    await refused(case, "first-feedback", AUDITOR, "NotPermitted", note="审计")
    await refused(case, "withdraw", AUDITOR, "NotPermitted", reason="审计")
    await refused(case, "form-team", AUDITOR, "NotPermitted",
                  members=[{"name": "周芳", "role": "quality_control"}])
    view = await case.state()
    assert view.status == "recorded" and [s.action for s in view.steps] == ["first-feedback"]
