"""Case numbers (PostgreSQL): consecutive per kind and local day, whatever else is written to
the cases table meanwhile (every event's projection upsert consumes a value of the row
sequence), also when reservations race; a number given back by a rolled-back reservation is
given again."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from caseflow.activities.records import CaseRecords
from caseflow.store.cases import Draft, reserve_case
from tests.postgres import fresh_database
from tests.test_activities import event

DAY = date(2026, 12, 5)
NOW = datetime(2026, 12, 5, 2, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def numbers_db(database_url: str) -> Iterator[Any]:
    with fresh_database(database_url, "numbers") as (_, sessions):
        yield sessions


def reserve(sessions, kind: str, key: str, day: date = DAY) -> str:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        row, created = reserve_case(session, kind=kind, created_by="HL-01", key=key,
                                    request_hash="h", draft=Draft("H-DH", "CT-DH-0001", "球管报警"),
                                    now=NOW, local_day=day)
        assert created
        assert row.case_id is not None
        return row.case_id


def test_numbers_are_consecutive_per_kind_and_day_while_events_are_recorded(numbers_db):
    sessions, records, activities = numbers_db, CaseRecords(numbers_db), ActivityEnvironment()
    repairs, complaints = [], []
    for n in range(1, 41):
        repairs.append(reserve(sessions, "repair", f"r{n}"))
        complaints.append(reserve(sessions, "complaint", f"c{n}"))
        for seq in (1, 2):  # each recorded event upserts the case's row
            activities.run(records.record_case_event, event(repairs[-1], seq))
    assert repairs == [f"RP-20261205-{n:06d}" for n in range(1, 41)]
    assert complaints == [f"CP-20261205-{n:06d}" for n in range(1, 41)]
    assert reserve(sessions, "repair", "next-day", date(2026, 12, 6)) == "RP-20261206-000001"
    assert reserve(sessions, "repair", "r41") == "RP-20261205-000041"


def test_racing_reservations_get_one_number_each_and_a_rollback_gives_its_number_back(
        numbers_db):
    sessions = numbers_db
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda n: reserve(sessions, "emergency", f"e{n}"), range(12)))
    assert sorted(found) == [f"EM-20261205-{n:06d}" for n in range(1, 13)]
    with sessions.begin() as session:
        reserve_case(session, kind="emergency", created_by="HL-01", key="rolled-back",
                     request_hash="h", draft=Draft("H-DH", None, "x"), now=NOW, local_day=DAY)
        session.rollback()
    assert reserve(sessions, "emergency", "e13") == "EM-20261205-000013"
