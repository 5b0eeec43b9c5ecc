"""Notifications leave the system: a real local SMTP server and a real local HTTP receiver.

These tests use a database of their own, so holding or draining messages cannot disturb the
outbox rows other tests look at.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email import policy as email_policy
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from temporalio.testing import ActivityEnvironment

from caseflow.activities.records import CaseRecords
from caseflow.config import Settings
from caseflow.delivery.channels import EmailChannel, LogChannel, WebhookChannel
from caseflow.delivery.outbox import Dispatcher, backoff
from caseflow.domain.policy_loader import load_policy
from caseflow.domain.records import CaseProjection, EscalationRecord
from caseflow.store.models import Hospital, Notification, Person
from caseflow.store.policies import PolicySource
from caseflow.worker import dispatcher as configured_dispatcher
from tests.postgres import free_port, fresh_database

SHANGHAI = ZoneInfo("Asia/Shanghai")
SATURDAY_3AM = datetime(2026, 11, 28, 3, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)
MONDAY_8AM = datetime(2026, 11, 30, 8, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)
TUESDAY_10AM = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI).astimezone(timezone.utc)


@pytest.fixture(scope="module")
def delivery_sessions(database_url: str):  # type: ignore[no-untyped-def]
    with fresh_database(database_url, "delivery") as (_, sessions):
        yield sessions


class Mailbox:
    """aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(message_from_bytes(envelope.content, policy=email_policy.default))
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox, port = Mailbox(), free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


class Receiver:
    """A chat-robot webhook: answers 500 to the first `fail` posts, then keeps each body."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.attempts = 0
        self.fail = 0
        self.refuse = 0  # answer 200 with a chat robot's error code

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                receiver.attempts += 1
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.fail > 0:
                    receiver.fail -= 1
                    self.send_response(500)
                    self.end_headers()
                    return
                if receiver.refuse > 0:
                    receiver.refuse -= 1
                    answer = json.dumps({"errcode": 93000, "errmsg": "invalid webhook key"})
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.end_headers()
                    self.wfile.write(answer.encode())
                    return
                receiver.received.append({"body": json.loads(body),
                                          "delivery": self.headers["X-Caseflow-Delivery"]})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), receiver.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver, f"http://127.0.0.1:{server.server_address[1]}/robot/send?key=test"
    server.shutdown()


@pytest.fixture
def dispatcher(delivery_sessions, smtp) -> Dispatcher:  # type: ignore[no-untyped-def]
    settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp[1], smtp_sender="caseflow@test",
                        delivery_give_up_hours=1)
    return configured_dispatcher(delivery_sessions, settings,
                                 PolicySource(delivery_sessions, load_policy()))


def person(sessions, *, channels: list[str], webhook_url: str = "") -> str:  # type: ignore[no-untyped-def]
    person_id = f"P-{uuid.uuid4().hex[:8]}"
    with sessions.begin() as session:
        session.add(Person(id=person_id, name="张伟", role="engineer", channels=channels,
                           email=f"{person_id.lower()}@hospital.test", webhook_url=webhook_url))
    return person_id


def message(sessions, person_id: str, *, urgent: bool, at: datetime) -> str:  # type: ignore[no-untyped-def]
    key = f"RP-T-{uuid.uuid4().hex[:8]}/esc/arrival/1/1/{person_id}"
    with sessions.begin() as session:
        session.add(Notification(dedupe_key=key, case_id=key.split("/")[0], person_id=person_id,
                                 subject="超时 breach (level 1): 到场 on site", urgent=urgent,
                                 body="CT-DH-0001 扫描时球管报警", created_at=at))
    return key


def row(sessions, key: str) -> Notification:  # type: ignore[no-untyped-def]
    with sessions() as session:
        found = session.query(Notification).filter_by(dedupe_key=key).one()
        session.expunge(found)
        return found


def mails_for(mailbox: Mailbox, key: str) -> list:
    return [m for m in mailbox.messages if key.replace("/", ".") in m["Message-ID"]]


def test_a_message_reaches_the_smtp_server_and_the_webhook_once_each(
        delivery_sessions, dispatcher, smtp, webhook):
    mailbox, _ = smtp
    receiver, url = webhook
    to = person(delivery_sessions, channels=["email", "webhook"], webhook_url=url)
    key = message(delivery_sessions, to, urgent=True, at=TUESDAY_10AM)
    dispatcher.drain_once(TUESDAY_10AM)
    dispatcher.drain_once(TUESDAY_10AM + timedelta(hours=1))  # nothing is sent again

    mails = mails_for(mailbox, key)
    assert len(mails) == 1
    assert mails[0]["Message-ID"] == f"<{key.replace('/', '.')}@caseflow>"  # same for a copy
    assert str(make_header(decode_header(mails[0]["Subject"]))) == "超时 breach (level 1): 到场 on site"
    assert mails[0]["To"] == f"{to.lower()}@hospital.test" and mails[0]["X-Priority"] == "1"
    assert "扫描时球管报警" in mails[0].get_content()
    copies = [r for r in receiver.received if r["delivery"] == key]
    assert len(copies) == 1
    assert copies[0]["body"]["msgtype"] == "text"
    assert copies[0]["body"]["text"]["content"].startswith("超时 breach")
    sent = row(delivery_sessions, key)
    assert sent.status == "sent" and sorted(sent.delivered) == ["email", "webhook"]


def test_a_webhook_that_fails_twice_then_succeeds_gets_exactly_one_copy(
        delivery_sessions, dispatcher, smtp, webhook):
    mailbox, _ = smtp
    receiver, url = webhook
    to = person(delivery_sessions, channels=["email", "webhook"], webhook_url=url)
    key = message(delivery_sessions, to, urgent=True, at=TUESDAY_10AM)
    receiver.fail, before = 2, receiver.attempts
    now = TUESDAY_10AM
    dispatcher.drain_once(now)
    first = row(delivery_sessions, key)
    assert first.status == "pending" and first.attempts == 1 and first.delivered == ["email"]
    assert first.not_before == now + backoff(1) and "HTTP 500" in first.last_error
    dispatcher.drain_once(now)  # not due again yet: nothing happens
    assert receiver.attempts == before + 1
    now = first.not_before
    dispatcher.drain_once(now)
    now = row(delivery_sessions, key).not_before
    assert now == first.not_before + backoff(2)
    dispatcher.drain_once(now)
    done = row(delivery_sessions, key)
    assert done.status == "sent" and done.attempts == 2
    assert receiver.attempts == before + 3
    assert len([r for r in receiver.received if r["delivery"] == key]) == 1
    assert len(mails_for(mailbox, key)) == 1  # e-mail went on the first try and never again


def test_an_outage_is_retried_every_five_minutes_at_most_until_the_give_up_time(
        delivery_sessions, dispatcher, webhook):
    to = person(delivery_sessions, channels=["webhook"],
                webhook_url=f"http://127.0.0.1:{free_port()}/nobody")
    key = message(delivery_sessions, to, urgent=True, at=TUESDAY_10AM)
    now, gaps = TUESDAY_10AM, []
    while row(delivery_sessions, key).status == "pending":
        dispatcher.drain_once(now)
        after = row(delivery_sessions, key)
        if after.status == "pending":
            gaps.append(after.not_before - now)
            now = after.not_before
        assert len(gaps) < 100
    failed = row(delivery_sessions, key)
    assert failed.status == "failed" and failed.delivered == [] and "webhook" in failed.last_error
    assert now - TUESDAY_10AM >= timedelta(hours=1)  # delivery_give_up_hours: kept trying
    assert gaps[:4] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert max(gaps) == timedelta(minutes=5)


def test_one_bad_row_does_not_block_the_others(delivery_sessions, dispatcher, smtp):
    mailbox, _ = smtp
    broken = person(delivery_sessions, channels=["webhook"], webhook_url="http://[not-a-url")
    fine = person(delivery_sessions, channels=["email"])
    bad = message(delivery_sessions, broken, urgent=True, at=TUESDAY_10AM)
    good = message(delivery_sessions, fine, urgent=True, at=TUESDAY_10AM)
    assert dispatcher.drain_once(TUESDAY_10AM) >= 1
    assert len(mails_for(mailbox, good)) == 1
    failing = row(delivery_sessions, bad)
    assert failing.status == "pending" and failing.attempts == 1 and failing.last_error


def test_a_chat_robot_refusing_with_an_error_code_is_not_delivered(
        delivery_sessions, dispatcher, webhook):
    receiver, url = webhook
    to = person(delivery_sessions, channels=["webhook"], webhook_url=url)
    key = message(delivery_sessions, to, urgent=True, at=TUESDAY_10AM)
    receiver.refuse = 1
    dispatcher.drain_once(TUESDAY_10AM)
    refused = row(delivery_sessions, key)
    assert refused.status == "pending" and "refused" in refused.last_error
    dispatcher.drain_once(refused.not_before)
    assert row(delivery_sessions, key).status == "sent"


def test_quiet_hours_hold_a_non_urgent_message_but_not_an_urgent_one(
        delivery_sessions, dispatcher, smtp):
    mailbox, _ = smtp
    to = person(delivery_sessions, channels=["email"])
    quiet = message(delivery_sessions, to, urgent=False, at=SATURDAY_3AM)
    loud = message(delivery_sessions, to, urgent=True, at=SATURDAY_3AM)
    dispatcher.drain_once(SATURDAY_3AM)
    assert len(mails_for(mailbox, loud)) == 1
    assert mails_for(mailbox, quiet) == []
    held = row(delivery_sessions, quiet)
    assert held.status == "pending" and held.not_before == MONDAY_8AM and held.attempts == 0
    dispatcher.drain_once(MONDAY_8AM - timedelta(seconds=1))
    assert mails_for(mailbox, quiet) == []
    dispatcher.drain_once(MONDAY_8AM)
    assert len(mails_for(mailbox, quiet)) == 1
    assert row(delivery_sessions, quiet).status == "sent"


def test_without_a_channel_available_the_message_goes_to_the_log(delivery_sessions, smtp):
    """A profile asking for e-mail on a system with no SMTP server is not left undelivered."""
    no_smtp = Dispatcher(delivery_sessions, {"log": LogChannel(), "webhook": WebhookChannel()},
                         lambda name, at: load_policy().pin(None, at).local_calendar)
    to = person(delivery_sessions, channels=["email"])
    key = message(delivery_sessions, to, urgent=True, at=TUESDAY_10AM)
    no_smtp.drain_once(TUESDAY_10AM)
    sent = row(delivery_sessions, key)
    assert sent.status == "sent" and sent.delivered == ["log"]


def test_email_channel_reports_an_unreachable_server_as_a_delivery_error(delivery_sessions):
    from caseflow.delivery.channels import DeliveryError

    channel = EmailChannel("127.0.0.1", free_port(), "caseflow@test", timeout=2)
    with delivery_sessions() as session:
        someone = session.get(Person, "EN-01")
        someone.email = "en01@hospital.test"
        with pytest.raises(DeliveryError):
            channel.deliver(Notification(dedupe_key="k/1", case_id="k", person_id="EN-01",
                                         subject="s", body="b"), someone)


def test_one_escalation_reaches_a_chinese_and_an_english_reader_each_in_their_own_words_and_time(
        delivery_sessions, dispatcher, smtp):
    """The recording activity writes the rung once, as a template and parameters; the
    dispatcher words each copy for its reader: 李强 reads Chinese in Shanghai, Anna English in
    Berlin. Neither copy carries the other language or a UTC ISO time."""
    mailbox, _ = smtp
    hospital, case_id = f"H-{uuid.uuid4().hex[:6]}", f"RP-L-{uuid.uuid4().hex[:8]}"
    zh, en = f"SV-{uuid.uuid4().hex[:6]}", f"SV-{uuid.uuid4().hex[:6]}"
    with delivery_sessions.begin() as session:
        session.add(Hospital(id=hospital, name="测试医院"))
        session.flush()
        for person_id, name, language, zone in ((zh, "李强", "zh-CN", "Asia/Shanghai"),
                                                (en, "Anna Berg", "en", "Europe/Berlin")):
            session.add(Person(id=person_id, name=name, role="supervisor", hospital_id=hospital,
                               channels=["email"], email=f"{person_id.lower()}@vendor.test",
                               language=language, time_zone=zone))
    due = datetime(2026, 12, 1, 1, 30, tzinfo=timezone.utc)  # 09:30 in Shanghai, 02:30 in Berlin
    projection = CaseProjection(case_id=case_id, kind="repair", status="assigned",
                                severity="severe", hospital_id=hospital, equipment_serial=None,
                                assignee_id=None, breached=True, title="球管报警",
                                opened_at=due - timedelta(minutes=30), policy_version="test")
    ActivityEnvironment().run(CaseRecords(delivery_sessions).record_escalation, EscalationRecord(
        case_id=case_id, workflow_id=case_id, run_id="run-1", seq=7, commitment="arrival",
        label="到场/远程", round=1, level=1, notify="supervisor", owner="assignee",
        assignee_id=None, hospital_id=hospital, scheduled_at=due, fired_at=due, due_at=due,
        urgent=True, summary="超时(第 1 级):到场/远程", projection=projection))
    dispatcher.drain_once(TUESDAY_10AM)

    def mail(person_id: str) -> tuple[str, str]:
        [found] = mails_for(mailbox, f"{case_id}/esc/arrival/1/1/{person_id}")
        return str(make_header(decode_header(found["Subject"]))), found.get_content().strip()

    assert mail(zh) == (f"超时第 1 级:{case_id} 到场/远程接入",
                        "到场/远程接入应于 2026-12-01 09:30 完成,已超时;已通知技术主管。")
    assert mail(en) == (f"Breach, level 1: {case_id} on site or connected",
                        "on site or connected: due 2026-12-01 02:30 CET, now late; the "
                        "supervisors told.")
    stored = row(delivery_sessions, f"{case_id}/esc/arrival/1/1/{en}")
    assert (stored.template, stored.params["due_at"]) == ("escalation", due.isoformat())
    assert stored.subject == f"超时第 1 级:{case_id} 到场/远程接入", "the row keeps the zh-CN words"
