"""Moving an open case to another policy, on the time-skipping server: deadlines recomputed
from each commitment's original start, paused time kept, fired rungs stay fired, a rung now
past due fires exactly once, each migration moves a case once, and the preview changes nothing.
"""

from __future__ import annotations

import asyncio
import copy
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from caseflow.domain.enums import Role
from caseflow.domain.migration import (
    CasePreview,
    MigrationOutcome,
    MigrationRun,
    PolicyMigration,
    Selection,
)
from caseflow.domain.policy import CasePolicy
from caseflow.domain.policy_loader import PolicyBook, load_policy, parse_policy
from caseflow.domain.records import Actor
from caseflow.store import policy_migrations as store
from caseflow.store.models import Case, CaseEventRow, Escalation
from caseflow.store.policies import PolicySource
from caseflow.worker import build_worker
from tests.invariants import OpenCommitmentWatch
from tests.repair_driver import ENGINEER, HOTLINE, SUPERVISOR, RepairDriver
from tests.test_policy import default_raw

MANAGER = Actor(id="MG-01", name="赵敏", role=Role.manager)
CONTRACT = "HT-2025-RJ-001"  # CT-DH-0001's contract


def candidate(change: Any) -> PolicyBook:
    raw = copy.deepcopy(default_raw())
    raw["version"] = "2027.1"
    change(raw)
    return parse_policy(raw, "candidate")


def pinned(book: PolicyBook, at: datetime) -> CasePolicy:
    return book.pin(CONTRACT, at, "repair")


async def migrate(case: RepairDriver, policy: CasePolicy, migration_id: str = "PM-1",
                  expected: str | None = None) -> MigrationOutcome:
    view = await case.state()
    return await case.handle.execute_update(
        "migrate_policy",
        PolicyMigration(migration_id=migration_id, policy=policy,
                        expected_version=expected or view.policy_version,
                        reason="2027年合同续签 contract renewed", actor=MANAGER),
        result_type=MigrationOutcome)


def rows(sessions, case_id: str, key: str) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return [(r.round, r.level) for r in session.scalars(
            select(Escalation).where(Escalation.case_id == case_id, Escalation.commitment == key)
            .order_by(Escalation.round, Escalation.level))]


def commitment(view: Any, key: str) -> Any:
    return [c for c in view.commitments if c.key == key][-1]


@pytest.fixture
async def case(ts_env, ts_worker, sessions, policy_book) -> RepairDriver:  # type: ignore[no-untyped-def]
    driver = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await driver.act("classify", SUPERVISOR, severity="severe")
    await driver.act("assign", SUPERVISOR, engineer_id=ENGINEER.id, engineer_name=ENGINEER.name)
    await driver.act("confirm-handover", HOTLINE)
    return driver


async def test_a_repair_moved_mid_pause_keeps_its_paused_time(case, sessions):
    view = await case.act("acknowledge", ENGINEER)
    await case.act("arrive", ENGINEER, mode="on_site")
    opened_at = view.opened_at
    await case.sleep(hours=2)
    view = await case.act("pause", HOTLINE, reason="customer_postponed", note="科室停机检查")
    paused_at = view.steps[-1].at
    await case.sleep(hours=3)
    book = candidate(lambda raw: raw["contracts"][CONTRACT]["repair"].update(
        {"restore": {"severe": {"within": "48h", "label": "修复 restore"}}}))
    outcome = await migrate(case, pinned(book, opened_at))
    assert outcome.status == "migrated" and outcome.to_version == book.version
    view = await case.act("resume", HOTLINE)
    paused = view.steps[-1].at - paused_at
    restore = commitment(view, "restore")
    assert restore.started_at == opened_at  # from its original start
    assert restore.due_at == opened_at + timedelta(hours=48) + paused
    assert restore.paused_seconds == paused.total_seconds()
    assert view.policy_version == book.version
    with sessions() as session:
        event = session.scalars(select(CaseEventRow).where(
            CaseEventRow.case_id == case.case_id, CaseEventRow.event == "policy_migrated")).one()
    assert event.actor_id == MANAGER.id
    assert event.data["from_version"] != book.version and event.data["to_version"] == book.version
    assert event.data["reason"] == "2027年合同续签 contract renewed"
    assert [m["key"] for m in event.data["moves"]] == ["restore"]


async def test_fired_rungs_stay_fired_and_a_rung_now_past_due_fires_once(case, ts_env, sessions):
    opened_at = (await case.state()).opened_at
    await case.sleep(minutes=40)  # arrival (30 min): warning and breach fired
    assert rows(sessions, case.case_id, "arrival") == [(1, 0), (1, 1)]
    book = candidate(lambda raw: raw["defaults"]["repair"]["arrival"].update(
        {"severe": {"within": "20m", "label": "到场/远程 on site or remote"}}))
    policy = pinned(book, opened_at)
    preview = await case.handle.query("preview_policy", policy, result_type=CasePreview)
    arrival = [m for m in preview.moves if m.key == "arrival"][0]
    assert arrival.to_due == opened_at + timedelta(minutes=20)
    assert arrival.fired == [0, 1] and arrival.due_at_once == [2]  # level 2 at 30 min
    assert rows(sessions, case.case_id, "arrival") == [(1, 0), (1, 1)]  # a preview changes nothing

    await migrate(case, policy)
    await case.sleep(seconds=5)
    arrival = commitment(await case.state(), "arrival")
    assert [f.level for f in arrival.fired] == [0, 1, 2]
    assert rows(sessions, case.case_id, "arrival") == [(1, 0), (1, 1), (1, 2)]
    await case.sleep(minutes=20)  # level 3 at 2.5 x 20 = 50 min: once, on its new time
    arrival = commitment(await case.state(), "arrival")
    assert [f.level for f in arrival.fired] == [0, 1, 2, 3]
    assert arrival.fired[3].scheduled_at == opened_at + timedelta(minutes=50)
    assert rows(sessions, case.case_id, "arrival") == [(1, 0), (1, 1), (1, 2), (1, 3)]


async def test_a_case_moves_once_per_migration_and_not_past_a_newer_policy(case):
    opened_at = (await case.state()).opened_at
    before = (await case.state()).policy_version
    book = candidate(lambda raw: raw["defaults"]["repair"]["progress"].update({"within": "12h"}))
    await migrate(case, pinned(book, opened_at), "PM-7")
    with pytest.raises(WorkflowUpdateFailedError) as again:
        await migrate(case, pinned(book, opened_at), "PM-7", expected=before)
    assert isinstance(again.value.cause, ApplicationError)
    assert again.value.cause.details[0]["code"] == "migrated_before"
    other = candidate(lambda raw: raw["defaults"]["repair"]["progress"].update({"within": "6h"}))
    with pytest.raises(WorkflowUpdateFailedError) as stale:
        await migrate(case, pinned(other, opened_at), "PM-8", expected=before)
    assert stale.value.cause.details[0]["code"] == "policy_changed"
    view = await case.state()
    assert view.policy_version == book.version
    assert [s.action for s in view.steps].count("migrate_policy") == 0  # not a step


async def test_a_closed_case_is_left_alone(ts_env, ts_worker, sessions, policy_book):
    case = await RepairDriver.open(ts_env, ts_worker.task_queue, sessions, policy_book)
    await case.walk_to("closed")
    book = candidate(lambda raw: raw["defaults"]["repair"]["progress"].update({"within": "12h"}))
    preview = await case.handle.query("preview_policy", pinned(book, datetime.now().astimezone()),
                                      result_type=CasePreview)
    assert preview.left_alone == "closed" and preview.moves == []


# ----- the migration workflow: killed halfway, it resumes and moves each case once ------------

@asynccontextmanager
async def worker_on(dev_env, sessions, queue: str) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(max_workers=32) as executor:
        async with build_worker(dev_env.client, sessions, queue, executor,
                                PolicySource(sessions, load_policy()), sandbox="full",
                                interceptors=[OpenCommitmentWatch()]):
            yield


def migrated_events(sessions, case_id: str) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return len(list(session.scalars(select(CaseEventRow).where(
            CaseEventRow.case_id == case_id, CaseEventRow.event == "policy_migrated"))))


async def test_a_migration_killed_halfway_resumes_and_moves_each_case_once(dev_env, sessions,
                                                                            policy_book):
    """The worker is stopped between two batches and a new one started. On the dev server
    (real time: a worker stopped with work in flight would hold the time-skipping server's
    clock); kill -9 of worker processes is tested end to end in test_faults.py."""
    queue = f"pm-{uuid.uuid4().hex[:8]}"
    book = candidate(lambda raw: raw["defaults"]["repair"]["progress"].update({"within": "12h"}))
    async with worker_on(dev_env, sessions, queue):
        cases = []
        for _ in range(3):
            case = await RepairDriver.open(dev_env, queue, sessions, policy_book)
            await case.act("classify", SUPERVISOR, severity="severe")
            cases.append(case)
        previews = [await c.handle.query("preview_policy", pinned(book, datetime.now(UTC)),
                                         result_type=CasePreview) for c in cases]
        with sessions.begin() as session:
            rows = {r.case_id: r for r in session.scalars(select(Case).where(
                Case.case_id.in_([c.case_id for c in cases])))}
            migration = store.new(
                session, policy_text=book.text, policy_version=book.version,
                in_force_version="-", selection=Selection(), by="MG-01",
                now=datetime.now(UTC),
                previews=[(rows[p.case_id], p) for p in previews])
            migration.status, migration.applied_by = "running", "MG-01"
            migration.reason = "合同续签"
            migration_id = migration.id
        # A case every 3 s, a case per batch: the first moves, then the run waits.
        await dev_env.client.start_workflow(
            "PolicyMigrationWorkflow",
            MigrationRun(migration_id=migration_id, batch=1, per_minute=20),
            id=migration_id, task_queue=queue)
        for _ in range(100):
            with sessions() as session:
                if store.counts(session, migration_id)["migrated"] >= 1:
                    break
            await asyncio.sleep(0.05)
    # The worker is gone (killed halfway); a new one takes the migration where it was.
    with sessions() as session:
        assert store.counts(session, migration_id)["pending"] == 2
    async with worker_on(dev_env, sessions, queue):
        handle = dev_env.client.get_workflow_handle(migration_id)
        assert await handle.result() == "done"
        if os.environ.get("CASEFLOW_SAVE_HISTORY"):  # tests/histories/policy_migration_resumed
            Path(os.environ["CASEFLOW_SAVE_HISTORY"]).write_text(
                (await handle.fetch_history()).to_json(), "utf-8")
    with sessions() as session:
        assert store.counts(session, migration_id) == {
            "pending": 0, "migrated": 3, "left_alone": 0, "refused": 0}
        assert store.get(session, migration_id).status == "done"  # type: ignore[union-attr]
    assert [migrated_events(sessions, c.case_id) for c in cases] == [1, 1, 1]
