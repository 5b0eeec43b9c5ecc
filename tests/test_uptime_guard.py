"""A contract's uptime guarantee on the time-skipping test server: the guard warns the service
manager once when the open repair would use the month's downtime budget up, escalates once when
the budget is used up (at the instant worked out by hand), and neither again after pokes or a
worker restart; its recording is idempotent. On a database of its own, with a policy whose
contract guarantees 95% a month."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from sqlalchemy import select
from temporalio.client import WorkflowHandle

from caseflow.domain.guarantee import GuardStart, GuardView, UptimeRung
from caseflow.domain.policy_loader import PolicyBook, parse_policy
from caseflow.store.guarantees import guard_id
from caseflow.store.models import Notification, UptimeAlert
from caseflow.store.policies import PolicySource
from caseflow.worker import build_worker
from caseflow.workflows.uptime import UptimeGuardWorkflow
from tests.conftest import time_skipping
from tests.postgres import fresh_database
from tests.reliability_fixture import new_site, open_repair, resolve
from tests.test_deadlines import advance_to
from tests.test_policy_api import DEFAULT

SH = ZoneInfo("Asia/Shanghai")
APRIL = datetime(2031, 4, 1, tzinfo=SH)  # 30 days: 720 covered hours, a 36 h budget at 95%


def guaranteed_book(contract: str) -> PolicyBook:
    raw = yaml.safe_load(DEFAULT)
    raw["contracts"][contract] = {"reliability": {"guarantee": {"percent": 95,
                                                                "period": "month"}}}
    return parse_policy(raw, "test policy")


@pytest.fixture(scope="module")
async def guarded(database_url) -> AsyncIterator[dict[str, Any]]:  # type: ignore[no-untyped-def]
    contract = f"HT-G{uuid.uuid4().hex[:6]}"
    policies_book = guaranteed_book(contract)
    with fresh_database(database_url, "guard") as (_, sessions):
        async with time_skipping() as env:
            yield {"env": env, "sessions": sessions, "contract": contract,
                   "policies": PolicySource(sessions, policies_book),
                   "queue": f"guard-{uuid.uuid4()}"}


class Worker:
    """caseflow's worker on the module's server, started and stopped at will. It keeps no
    workflow cache, so every workflow task replays the guard's history: what a restarted
    worker does."""

    def __init__(self, world: dict[str, Any]) -> None:
        self.world = world

    async def __aenter__(self) -> Worker:
        self.executor = ThreadPoolExecutor(max_workers=32)
        self.worker = build_worker(self.world["env"].client, self.world["sessions"],
                                   self.world["queue"], self.executor, self.world["policies"],
                                   sandbox="full", max_cached_workflows=0)
        self.task = asyncio.create_task(self.worker.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.worker.shutdown()
        await self.task
        self.executor.shutdown()


async def looked(handle: WorkflowHandle, after: int) -> GuardView:
    """The guard's state once it has looked more than `after` times."""
    for _ in range(400):
        view = await handle.query("state", result_type=GuardView)
        if view.looks > after:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"the guard did not look again (looks {view.looks})")


def alerts(sessions, serial: str) -> list[UptimeAlert]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(UptimeAlert).where(UptimeAlert.serial == serial)
                                    .order_by(UptimeAlert.level)))


def notices(sessions, contract: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return sorted(session.execute(select(Notification.dedupe_key, Notification.person_id)
                                      .where(Notification.case_id == guard_id(contract)))
                      .all())


async def test_the_guard_warns_once_and_escalates_once_across_a_restart(guarded):
    env, sessions, contract = guarded["env"], guarded["sessions"], guarded["contract"]
    hospital_id, (serial,) = new_site(sessions, contract=contract)
    await advance_to(env, APRIL + timedelta(days=1))
    # 20 h of the 36 h budget gone on 1 April (a severe repair, fully down).
    resolve(open_repair(sessions, hospital_id, serial, APRIL, "severe"), APRIL + timedelta(hours=20))

    async with Worker(guarded):
        handle = await env.client.start_workflow(
            UptimeGuardWorkflow.run, GuardStart(contract_code=contract), id=guard_id(contract),
            task_queue=guarded["queue"])
        view = await looked(handle, 0)
        assert view.period == "2031-04" and view.fired == {}, "20 of 36 h: nothing to say yet"

        # 2 April 01:00: a severe repair opens with 24 h to restore: 20 + 24 > 36, so the
        # service manager is warned at once.
        await advance_to(env, APRIL + timedelta(days=1, hours=1))
        repair = open_repair(sessions, hospital_id, serial, APRIL + timedelta(days=1, hours=1),
                             "severe", restore_within=timedelta(hours=24))
        warned_at = await env.get_current_time()
        await handle.signal("poke")
        view = await looked(handle, view.looks)
        assert view.fired == {serial: [0]}
        await handle.signal("poke")  # nothing changed: no second warning
        view = await looked(handle, view.looks)
        assert view.fired == {serial: [0]}

    # The worker stops; the budget runs out at 17:00 on 2 April (20 h + 16 h) while it is down.
    # A new worker picks the guard up and breaches it once, at that instant.
    async with Worker(guarded):
        await advance_to(env, APRIL + timedelta(days=1, hours=18))
        resolve(repair, APRIL + timedelta(days=1, hours=18))  # 37 h used: broken, and no more
        await handle.signal("poke")
        view = await looked(handle, view.looks)
        assert view.fired == {serial: [0, 1]}
        await handle.signal("poke")
        view = await looked(handle, view.looks)

    found = alerts(sessions, serial)
    assert [(a.level, a.notify, a.period) for a in found] == [
        (0, "manager", "2031-04"), (1, "supervisor", "2031-04")]
    warning, breach = found
    assert abs(warning.scheduled_at - warned_at) < timedelta(minutes=1)
    assert breach.scheduled_at == APRIL + timedelta(days=1, hours=17)
    assert breach.budget_seconds == 36 * 3600
    assert "开机率保证未达成" in breach.summary
    # Once each, to every manager and every supervisor of the hospital (the demo directory).
    assert notices(sessions, contract) == sorted(
        [(f"{guard_id(contract)}/{serial}/2031-04/0/MG-01", "MG-01"),
         (f"{guard_id(contract)}/{serial}/2031-04/1/SV-01", "SV-01")])


async def test_recording_a_rung_twice_writes_it_once(guarded):
    from caseflow.activities.reliability import UptimeGuards

    sessions, contract = guarded["sessions"], guarded["contract"]
    hospital_id, (serial,) = new_site(sessions, contract=contract)
    rung = UptimeRung(guard_id=guard_id(contract), contract_code=contract,
                      hospital_id=hospital_id, serial=serial, period="2031-05", level=1,
                      notify="manager", scheduled_at=APRIL, fired_at=APRIL, budget_hours=36,
                      used_hours=36, summary="开机率保证未达成 test")
    guards = UptimeGuards(sessions, guarded["policies"])
    assert guards.record_uptime_rung(rung) is True
    assert guards.record_uptime_rung(rung) is False
    assert len(alerts(sessions, serial)) == 1
    with sessions() as session:
        assert len(session.scalars(select(Notification).where(
            Notification.dedupe_key.like(f"%/{serial}/2031-05/1/%"))).all()) == 1


async def test_the_watch_starts_or_pokes_the_guard_of_a_contract_whose_cases_changed(guarded):
    from caseflow.reliability_watch import ReliabilityWatch

    env, sessions, contract = guarded["env"], guarded["sessions"], guarded["contract"]
    hospital_id, (serial,) = new_site(sessions, contract=contract)
    watch = ReliabilityWatch(env.client, sessions, guarded["policies"], guarded["queue"],
                             spacing=0)
    first = await watch.once()
    # Every guaranteed contract (the demo's HT-2024-JB-007 too, with its units in the register).
    assert contract in first.poked, "the first round pokes every guaranteed contract"
    handle = env.client.get_workflow_handle(guard_id(contract))
    assert (await handle.describe()).status.name == "RUNNING"
    assert (await watch.once()).poked == [], "nothing changed"
    open_repair(sessions, hospital_id, serial, await env.get_current_time(), "general")
    assert (await watch.once()).poked == [contract]
    other_site, (other,) = new_site(sessions)  # no contract: no guard to poke
    open_repair(sessions, other_site, other, await env.get_current_time(), "general")
    assert (await watch.once()).poked == []
    # Spaced: a contract changed twice within a minute is poked once, then once more later.
    spaced = ReliabilityWatch(env.client, sessions, guarded["policies"], guarded["queue"])
    start = await env.get_current_time()
    assert contract in (await spaced.once(start)).poked
    open_repair(sessions, hospital_id, serial, start, "minor")
    assert (await spaced.once(start + timedelta(seconds=10))).poked == []
    assert (await spaced.once(start + timedelta(seconds=70))).poked == [contract]
