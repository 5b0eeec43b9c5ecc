"""A case's timeline merges what its workflow recorded with the database's records of it: every
notification (queued, delivered by which channel, or given up) and the history's seal, in time
order, with who did what."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from caseflow.activities.records import CaseRecords
from caseflow.delivery.channels import DeliveryError
from caseflow.delivery.outbox import Dispatcher
from caseflow.domain.calendar import WorkingCalendar
from caseflow.store import seals
from caseflow.store.models import Case, Notification
from caseflow.store.timeline import case_timeline
from tests.postgres import fresh_database
from tests.test_activities import event
from tests.test_api import act, headers, open_case


@pytest.fixture(scope="module")
def timeline_db(database_url: str) -> Iterator[Any]:
    """A database of its own: the dispatcher below drains every pending message."""
    with fresh_database(database_url, "timeline") as (_, sessions):
        yield sessions


class Robot:
    """A chat robot outside our system: takes messages for everyone but SV-02."""

    name = "log"

    def deliver(self, message: Notification, person) -> None:  # type: ignore[no-untyped-def]
        if person.id == "SV-02":
            raise DeliveryError("robot answered 500")


def test_entries_merge_in_time_order_with_names_and_delivery(timeline_db):
    sessions, case_id = timeline_db, f"RP-{uuid.uuid4().hex[:10]}"
    ActivityEnvironment().run(CaseRecords(sessions).record_case_event, event(case_id, 1))
    always_open = WorkingCalendar(name="7x24", always_open=True)
    sent_at = datetime.now(timezone.utc) + timedelta(minutes=1)
    Dispatcher(sessions, {"log": Robot()}, lambda name, at: always_open,
               give_up_after=timedelta(0)).drain_once(sent_at)
    with sessions.begin() as session:
        closed = session.scalar(select(Case).where(Case.case_id == case_id))
        closed.status, closed.closed_at = "closed", sent_at
        session.flush()
        seals.append(session, case=closed, workflow_id=case_id, run_id="run-1",
                     history_sha256="a" * 64, now=sent_at + timedelta(minutes=1))

    with sessions() as session:
        entries = case_timeline(session, case_id)
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert entries[0]["source"] == "case" and entries[0]["event"] == "assign"
    assert entries[0]["actor"] == {"id": "SV-02", "name": "黄磊", "role": "supervisor"}
    queued = [e for e in entries if e["event"] == "notification-queued"]
    assert sorted(e["data"]["to"]["name"] for e in queued) == ["刘洋", "李强", "黄磊"]
    sent = [e for e in entries if e["event"] == "notification-sent"]
    assert sorted(e["data"]["to"]["id"] for e in sent) == ["EN-03", "SV-01"]
    assert all(e["at"] == sent_at and e["data"]["channels"] == ["log"] for e in sent)
    assert "delivered to 刘洋 by log" in [e["summary"] for e in sent]
    failed = [e for e in entries if e["event"] == "notification-failed"]
    assert [e["data"]["to"]["id"] for e in failed] == ["SV-02"]
    assert failed[0]["summary"] == "not delivered to 黄磊 after 1 attempt"
    assert all("robot answered" not in str(e) for e in entries), "errors may name secrets"
    assert entries[-1]["event"] == "sealed" and entries[-1]["data"]["position"] == 1

    with sessions() as session:
        only = case_timeline(session, case_id, ("case", "seal"))
    assert [e["event"] for e in only] == ["assign", "sealed"]

    # Every entry has an id of its own, the same on every read: a client can refer to a
    # notification's delivery as to a step.
    ids = [e["id"] for e in entries]
    assert len(set(ids)) == len(ids) and "case-1" in ids and "seal-1" in ids
    failed_id = failed[0]["data"]["notification_id"]
    assert {f"notification-{failed_id}-queued", f"notification-{failed_id}-failed"} <= set(ids)
    with sessions() as session:
        assert [e["id"] for e in case_timeline(session, case_id)] == ids


async def test_the_api_timeline_merges_notifications_and_filters_by_source(api, tokens):
    case_id = await open_case(api, tokens, severity="general")
    assigned = await act(api, tokens, case_id, "supervisor", "assign", {"engineer_id": "EN-01"})
    assert assigned.status_code == 200, assigned.text
    response = await api.get(f"/v1/cases/{case_id}/timeline", headers=headers(tokens, "auditor"))
    assert response.status_code == 200, response.text
    entries = response.json()
    times = [datetime.fromisoformat(e["at"]) for e in entries]
    assert times == sorted(times)
    assert [e["event"] for e in entries if e["source"] == "case"] == [
        "opened", "classify", "assign"]
    to_engineer = [e for e in entries if e["source"] == "notification"
                   and e["data"]["to"]["id"] == "EN-01"]
    assert to_engineer and to_engineer[0]["data"]["to"]["name"] == "张伟"
    assert to_engineer[0]["seq"] is None and to_engineer[0]["actor"]["id"] == "system"
    only = await api.get(f"/v1/cases/{case_id}/timeline", params={"sources": "notification"},
                         headers=headers(tokens, "auditor"))
    assert {e["source"] for e in only.json()} == {"notification"}
    refused = await api.get(f"/v1/cases/{case_id}/timeline", params={"sources": "gossip"},
                            headers=headers(tokens, "auditor"))
    assert refused.status_code == 422, refused.text
