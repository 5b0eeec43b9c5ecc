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
                      "action-A1": "met", "callback": "met", "close": "met"}
    result = await case.result()
    assert result.outcome == "resolved" and result.level == 1


async def test_an_answer_counts_as_first_feedback_and_closing_settles_what_is_open(
        ts_env, ts_worker, policy_book):
    case = await ComplaintDriver.open(ts_env, ts_worker.task_queue, policy_book)
    await case.act("form-team", SUPERVISOR, members=[{"name": "李强", "role": "technician"}])
    await case.act("record-findings", SUPERVISOR, facts="电话中已当场说明")
    await case.act("root-cause", SUPERVISOR, root_cause="沟通不及时")
    await case.act("plan", SUPERVISOR, summary="加强沟通", actions=[
        {"description": "回访话术培训", "owner_id": "HL-01", "owner_name": "王丽",
         "due_at": await case.due_in(days=2)}])
    await case.act("brief", SUPERVISOR, summary="通报")
    view = await case.act("answer", HOTLINE, answer="已说明原因并道歉")  # no first feedback before
    feedback = next(x for x in view.commitments if x.key == "first_feedback")
    assert feedback.state == "met" and feedback.met_at == view.steps[-1].at
    await case.act("complete-action", HOTLINE, action_id="A1", result="已培训")
    await case.act("callback", HOTLINE, satisfied=True, satisfaction=5)
    view = await case.act("close", SUPERVISOR, lessons_learned="先反馈再调查")
    assert all(x.state in ("met", "met_late", "waived") for x in view.commitments)
