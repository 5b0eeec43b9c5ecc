"""The database as the migrations make it (PostgreSQL): exactly the models' schema, and the
unique keys that make every write happen once hold when two writers meet."""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select, text
from temporalio.testing import ActivityEnvironment

from caseflow.activities.records import CaseRecords
from caseflow.store.models import Base, CaseEventRow
from tests.test_activities import event


def test_the_migrated_schema_is_the_models_schema(sessions):
    """Every table, column, type, nullability, index and unique constraint of the models is in
    the migrated database, and nothing else (a migration that forgot or dropped one fails)."""
    with sessions() as session:
        context = MigrationContext.configure(session.connection(), opts={
            "compare_type": True, "compare_server_default": False})
        differences = compare_metadata(context, Base.metadata)
    ignored = {"alembic_version"}
    found = [d for d in differences
             if not (d[0] == "remove_table" and d[1].name in ignored)]
    assert found == [], found


def test_the_same_event_written_twice_at_once_is_one_row(sessions):
    """A retried recording activity racing its first attempt: the second insert of (case, seq)
    waits for the first transaction and then clashes with it, so the event is one row and the
    second attempt says it was written already. Without the unique key both would commit."""
    case_id = f"RACE-{uuid.uuid4().hex[:10]}"
    first = sessions()
    first.begin()
    first.add(CaseEventRow(case_id=case_id, seq=1, event="assign", at=event(case_id, 1).at,
                           actor_id="SV-02", actor_name="黄磊", actor_role="supervisor",
                           summary="first attempt", data={}, workflow_id=case_id,
                           run_id="run-1"))
    first.flush()  # the row is written, not committed: the first attempt is mid-transaction

    def blocked_on_the_first() -> bool:
        with sessions() as session:
            return bool(session.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE 'INSERT INTO case_events%'")))

    with ThreadPoolExecutor(max_workers=1) as pool:
        second = pool.submit(ActivityEnvironment().run, CaseRecords(sessions).record_case_event,
                             event(case_id, 1))
        # Wait for the event that proves the race: the second attempt waiting on the first's
        # uncommitted key (or, without the key, the second attempt done).
        deadline = time.monotonic() + 30
        while not (second.done() or blocked_on_the_first()):
            assert time.monotonic() < deadline, "the second attempt neither wrote nor waited"
            time.sleep(0.02)
        first.commit()
        first.close()
        wrote = second.result(timeout=30)
    with sessions() as session:
        rows = session.scalar(select(func.count()).select_from(CaseEventRow).where(
            CaseEventRow.case_id == case_id))
    assert (rows, wrote) == (1, False), "one row; the second attempt found it written"
