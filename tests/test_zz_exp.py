from tests.repair_driver import RepairDriver, SUPERVISOR, ENGINEER, HOTLINE
from caseflow.store.models import Case
from sqlalchemy import select

async def test_exp(ts_env, ts_worker, sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.act("pause", HOTLINE, reason="customer_postponed")
    await case.sleep(hours=2)
    v = await case.act("classify", SUPERVISOR, severity="severe")
    for c in v.commitments:
        print(c.key, c.state, c.due_at, c.paused_seconds, c.breached, c.fired)
    print(v.breached)
    # progress
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.act("classify", SUPERVISOR, severity="general")
    await case.act("assign", SUPERVISOR, engineer_id="EN-01", engineer_name="x")
    await case.act("confirm-handover", HOTLINE)
    await case.act("acknowledge", ENGINEER)
    await case.act("arrive", ENGINEER, mode="remote")
    await case.sleep(hours=25)
    v = await case.state()
    print(v.breached, [(c.key, c.state, c.round) for c in v.commitments])
    v = await case.act("progress", ENGINEER, note="still working")
    print(v.breached, [(c.key, c.state, c.round) for c in v.commitments], v.escalations)
    with sessions() as s:
        print(s.scalar(select(Case.breached).where(Case.case_id == case.case_id)))
    assert 0
