"""Activities write once however often Temporal retries them; look-ups answer from the directory."""

from __future__ import annotations

import io
import json
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta, timezone

import pytest
import structlog
from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from caseflow.activities.directory import Directory, EquipmentLookup, PeopleLookup
from caseflow.activities.records import CaseRecords
from caseflow.delivery.outbox import Dispatcher
from caseflow.domain.calendar import WorkingCalendar
from caseflow.domain.enums import Role
from caseflow.domain.records import (
    Actor,
    CaseEvent,
    CaseEvents,
    CaseProjection,
    EscalationRecord,
    NoticeRequest,
)
from caseflow.logs import configure_logging
from caseflow.store.models import Case, CaseEventRow, Escalation, Notification

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def projection(case_id: str, status: str = "assigned", breached: bool = False) -> CaseProjection:
    return CaseProjection(case_id=case_id, kind="repair", status=status, severity="severe",
                          hospital_id="H-JB", equipment_serial="CT-JB-0003", assignee_id="EN-03",
                          breached=breached, title="球管报警", opened_at=NOW,
                          policy_version="test")


def event(case_id: str, seq: int, status: str = "assigned") -> CaseEvent:
    return CaseEvent(case_id=case_id, workflow_id=case_id, run_id="run-1", seq=seq,
                     event="assign", at=NOW, actor=Actor(id="SV-02", name="黄磊",
                                                         role=Role.supervisor),
                     summary="派工 assigned to 刘洋", data={"note": "尽快到场"},
                     projection=projection(case_id, status),
                     notices=[NoticeRequest(to_person_id="EN-03", subject="派工", body="球管报警"),
                              NoticeRequest(to_role=Role.supervisor, subject="抄送", body="x")])


def count(sessions, model, **where) -> int:  # type: ignore[no-untyped-def]
    with sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def test_a_retried_case_event_is_written_once_with_its_notices(sessions):
    records, case_id = CaseRecords(sessions), f"A-{uuid.uuid4().hex[:10]}"
    env = ActivityEnvironment()
    assert env.run(records.record_case_event, event(case_id, 1)) is True
    assert env.run(records.record_case_event, event(case_id, 1)) is False
    assert count(sessions, CaseEventRow, case_id=case_id) == 1
    # EN-03 directly, and the supervisors serving H-JB: SV-01 (all hospitals) and SV-02
    with sessions() as session:
        people = sorted(session.scalars(select(Notification.person_id)
                                        .where(Notification.case_id == case_id)))
    assert people == ["EN-03", "SV-01", "SV-02"]
    with sessions() as session:
        row = session.scalar(select(CaseEventRow).where(CaseEventRow.case_id == case_id))
        assert row.summary == "派工 assigned to 刘洋" and row.data == {"note": "尽快到场"}


def batch(case_id: str) -> CaseEvents:
    """A step's two events (seq 1 and 2) with their notices and the projection after them."""
    first, second = event(case_id, 1), event(case_id, 2, status="acknowledged")
    return CaseEvents(events=[first.model_copy(update={"projection": None}),
                              second.model_copy(update={"projection": None, "notices": []})],
                      projection=projection(case_id, "acknowledged"))


def test_a_retried_step_batch_is_written_once_with_its_notices_and_projection(sessions):
    records, case_id = CaseRecords(sessions), f"A-{uuid.uuid4().hex[:10]}"
    env = ActivityEnvironment()
    assert env.run(records.record_case_events, batch(case_id)) == 2
    assert env.run(records.record_case_events, batch(case_id)) == 0
    with sessions() as session:
        seqs = sorted(session.scalars(select(CaseEventRow.seq)
                                      .where(CaseEventRow.case_id == case_id)))
        row = session.scalar(select(Case).where(Case.case_id == case_id))
    assert seqs == [1, 2]
    assert count(sessions, Notification, case_id=case_id) == 3  # EN-03, SV-01, SV-02 once
    assert (row.status, row.projection_seq) == ("acknowledged", 2)


def test_two_attempts_of_one_step_at_once_write_it_once(sessions):
    """A local activity retried while its first attempt still runs: whichever inserts second
    waits for the first's (case id, seq) and then writes nothing."""
    records, case_id = CaseRecords(sessions), f"A-{uuid.uuid4().hex[:10]}"
    together = threading.Barrier(2)

    def attempt(_: int) -> int:
        together.wait()
        return ActivityEnvironment().run(records.record_case_events, batch(case_id))

    with ThreadPoolExecutor(2) as pool:
        answers = sorted(pool.map(attempt, range(2)))
    assert answers == [0, 2]
    assert count(sessions, CaseEventRow, case_id=case_id) == 2
    assert count(sessions, Notification, case_id=case_id) == 3


def test_a_batch_clashing_with_another_write_after_its_first_event_writes_nothing(sessions):
    """Seq 2 already on the timeline (written by something else) but not seq 1: the batch is
    refused whole, for Temporal to retry, rather than half written or taken for done."""
    records, case_id = CaseRecords(sessions), f"A-{uuid.uuid4().hex[:10]}"
    env = ActivityEnvironment()
    env.run(records.record_case_event, event(case_id, 2, status="acknowledged"))
    with pytest.raises(RuntimeError, match="clashed with another write"):
        env.run(records.record_case_events, batch(case_id))
    with sessions() as session:
        seqs = list(session.scalars(select(CaseEventRow.seq)
                                    .where(CaseEventRow.case_id == case_id)))
    assert seqs == [2]
    assert count(sessions, Notification, case_id=case_id) == 3  # seq 2's own, none of seq 1's


def test_the_projection_never_goes_back_to_an_older_event(sessions):
    records, case_id = CaseRecords(sessions), f"A-{uuid.uuid4().hex[:10]}"
    env = ActivityEnvironment()
    env.run(records.record_case_event, event(case_id, 2, status="acknowledged"))
    env.run(records.record_case_event, event(case_id, 1, status="assigned"))
    with sessions() as session:
        row = session.scalar(select(Case).where(Case.case_id == case_id))
    assert row.status == "acknowledged" and row.projection_seq == 2


def escalation(case_id: str, seq: int, level: int, notify: str) -> EscalationRecord:
    return EscalationRecord(
        case_id=case_id, workflow_id=case_id, run_id="run-1", seq=seq, commitment="arrival",
        label="到场 arrival", round=1, level=level, notify=notify, owner="assignee",
        assignee_id="EN-03", hospital_id="H-JB", scheduled_at=NOW, fired_at=NOW,
        due_at=NOW, urgent=level >= 1, summary=f"level {level}",
        projection=projection(case_id, breached=level >= 1))


@pytest.mark.parametrize(("level", "notify", "expected"), [
    (0, "assignee", ["EN-03"]),
    (1, "supervisor", ["SV-01", "SV-02"]),
    (2, "manager", ["MG-01"]),
    (3, "director", ["DR-01"]),
])
def test_an_escalation_is_recorded_and_notified_once_to_its_level(sessions, level, notify,
                                                                   expected):
    records, case_id = CaseRecords(sessions), f"A-{uuid.uuid4().hex[:10]}"
    env = ActivityEnvironment()
    for _ in range(3):  # Temporal may run an activity again after a timeout
        env.run(records.record_escalation, escalation(case_id, 5, level, notify))
    assert count(sessions, Escalation, case_id=case_id) == 1
    assert count(sessions, CaseEventRow, case_id=case_id) == 1
    with sessions() as session:
        people = sorted(session.scalars(select(Notification.person_id)
                                        .where(Notification.case_id == case_id)))
        breached = session.scalar(select(Case.breached).where(Case.case_id == case_id))
    assert people == expected
    assert breached is (level >= 1)


def test_equipment_lookup_reports_warranty_on_the_date_asked(sessions):
    env, people = ActivityEnvironment(), Directory(sessions)
    inside = env.run(people.lookup_equipment, EquipmentLookup(serial="MR-JB-0004",
                                                              on=date(2026, 1, 1)))
    after = env.run(people.lookup_equipment, EquipmentLookup(serial="MR-JB-0004",
                                                             on=date(2026, 9, 1)))
    assert inside.in_warranty and not after.in_warranty
    assert inside.equipment.hospital_name.startswith("江北市第一医院")


def test_unknown_equipment_is_a_non_retryable_error(sessions):
    with pytest.raises(ApplicationError) as raised:
        ActivityEnvironment().run(Directory(sessions).lookup_equipment,
                                  EquipmentLookup(serial="NO-SUCH", on=date(2026, 1, 1)))
    assert raised.value.non_retryable and raised.value.type == "UnknownReference"


def test_people_lookup_includes_those_serving_every_hospital(sessions):
    found = ActivityEnvironment().run(Directory(sessions).find_people,
                                      PeopleLookup(role="engineer", hospital_id="H-DH"))
    assert [p.id for p in found] == ["EN-01", "EN-02"]


def test_the_outbox_sends_each_notification_once(sessions):
    records, case_id = CaseRecords(sessions), f"A-{uuid.uuid4().hex[:10]}"
    ActivityEnvironment().run(records.record_case_event, event(case_id, 1))
    sent: list[str] = []

    class Recorder:
        name = "log"

        def deliver(self, message: Notification, person) -> None:  # type: ignore[no-untyped-def]
            sent.append(message.dedupe_key)

    always_open = WorkingCalendar(name="7x24", always_open=True)
    dispatcher = Dispatcher(sessions, {"log": Recorder()}, lambda name, at: always_open)
    while dispatcher.drain_once():
        pass
    dispatcher.drain_once()
    mine = [key for key in sent if key.startswith(case_id)]
    assert len(mine) == 3 and len(set(mine)) == 3
    assert count(sessions, Notification, case_id=case_id, status="pending") == 0


def test_json_logs_keep_chinese_text_readable(monkeypatch):
    buffer = io.StringIO()
    monkeypatch.setattr(sys, "stderr", buffer)
    configure_logging("json", "INFO")
    try:
        structlog.get_logger("test").info("case event recorded", summary="球管报警,无法出图",
                                          case_id="RP-1")
    finally:
        structlog.reset_defaults()
    line = json.loads(buffer.getvalue().strip().splitlines()[-1])
    assert line["summary"] == "球管报警,无法出图"
    assert "球管报警" in buffer.getvalue()  # written as is, not as \u escapes
    assert line["case_id"] == "RP-1" and line["level"] == "info"


def test_tokens_past_expiry_or_revoked_do_not_authenticate(sessions):
    from caseflow.store import directory
    from caseflow.store.models import ApiToken
    from caseflow.store.people import issue_token

    with sessions.begin() as session:
        expired, _ = issue_token(session, "HL-01", "t", expires_at=NOW - timedelta(seconds=1))
        revoked, _ = issue_token(session, "HL-01", "t")
        good, _ = issue_token(session, "HL-01", "t")
    with sessions.begin() as session:
        row = session.scalar(select(ApiToken).where(
            ApiToken.token_hash == directory.hash_token(revoked)))
        row.revoked_at = NOW
    with sessions() as session:
        assert directory.principal_for_token(session, expired, NOW) is None
        assert directory.principal_for_token(session, revoked, NOW) is None
        assert directory.principal_for_token(session, good, NOW)[0].id == "HL-01"
        assert session.scalar(select(func.count()).select_from(ApiToken).where(
            ApiToken.token_hash == good)) == 0  # only the hash is stored


def test_a_linked_complaint_that_cannot_be_opened_fails_at_once_not_forever(sessions):
    from caseflow.activities.cases import CaseOpening
    from caseflow.domain.complaint import ComplaintOrigin, LinkedComplaintRequest
    from caseflow.domain.policy_loader import load_policy
    from caseflow.store.policies import PolicySource

    request = LinkedComplaintRequest(
        origin=ComplaintOrigin(case_id=f"RP-X-{uuid.uuid4().hex[:8]}", kind="repair",
                               satisfaction=1, comment="很差"),
        hospital_id="H-NOWHERE", equipment_serial=None, complainant_name="李医生",
        complainant_contact="0571-88886666", opened_by=Actor(id="HL-01", name="王丽"))
    with pytest.raises(ApplicationError) as raised:
        opening = CaseOpening(sessions, PolicySource(sessions, load_policy()))
        ActivityEnvironment().run(opening.open_linked_complaint, request)
    assert raised.value.non_retryable and raised.value.type == "UnknownReference"


def test_a_linked_complaint_keeps_a_long_comment_within_its_matter(sessions):
    from caseflow.activities.cases import CaseOpening
    from caseflow.domain.complaint import ComplaintOrigin, LinkedComplaintRequest
    from caseflow.domain.policy_loader import load_policy
    from caseflow.store.policies import PolicySource

    origin = ComplaintOrigin(case_id=f"RP-Y-{uuid.uuid4().hex[:8]}", kind="repair",
                             satisfaction=2, comment="不满意" * 1300)  # 3900 characters
    request = LinkedComplaintRequest(origin=origin, hospital_id="H-DH",
                                     equipment_serial="CT-DH-0001", complainant_name="李医生",
                                     complainant_contact="0571-88886666",
                                     opened_by=Actor(id="HL-01", name="王丽"))
    opening = CaseOpening(sessions, PolicySource(sessions, load_policy()))
    first = ActivityEnvironment().run(opening.open_linked_complaint, request)
    again = ActivityEnvironment().run(opening.open_linked_complaint, request)  # a retry
    assert first.case_id == again.case_id and first.case_id.startswith("CP-")
    assert len(first.intake.matter) <= 4000 and first.intake.matter.endswith("不满意")
