"""A complaint walked through every step closes with lessons learned."""

from __future__ import annotations

from tests.complaint_driver import ENGINEER, HOTLINE, SUPERVISOR, ComplaintDriver


async def test_complaint_walks_from_record_to_closed(ts_env, ts_worker, policy_book):
    case = await ComplaintDriver.open(ts_env, ts_worker.task_queue, policy_book)
    view = await case.walk_to_answered()
    assert view.status == "answered"
    view = await case.act("complete-action", ENGINEER, action_id="A1", result="已上线负荷上限")
    assert view.status == "awaiting_callback"
    view = await case.act("callback", HOTLINE, satisfied=True, satisfaction=4, comment="满意")
    assert view.status == "resolved"
    view = await case.act("close", SUPERVISOR, lessons_learned="派工需考虑负荷")
    assert view.status == "closed" and view.outcome == "resolved" and not view.breached
    states = {x.key: x.state for x in view.commitments}
    assert states == {"first_feedback": "met", "team": "met", "plan": "met", "answer": "met",
                      "action-A1": "met", "callback": "met"}
    result = await case.handle.result()
    assert result.outcome == "resolved" and result.level == 1
