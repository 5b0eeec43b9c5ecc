"""A repair walked through every step reaches closed, with every commitment met."""

from __future__ import annotations

from tests.repair_driver import RepairDriver


async def test_repair_walks_from_intake_to_closed(ts_env, ts_worker, sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    view = await case.walk_to("closed")
    assert view.outcome == "repaired"
    assert not view.breached
    states = {c.key: c.state for c in view.commitments}
    assert states["arrival"] == "met" and states["restore"] == "met"
    result = await case.result()
    assert result.outcome == "repaired" and result.satisfaction == 5
