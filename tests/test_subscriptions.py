"""Event subscriptions: recorded case events fan out to the subscriptions that want them, and
a real local HTTP receiver gets each one signed, retried until it answers 2xx, and once.

The module uses a database of its own: the deliverer drains every due delivery, so it must
not meet the rows other tests write (nor write into theirs).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from temporalio.testing import ActivityEnvironment

from caseflow.activities.records import CaseRecords
from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.delivery.outbox import backoff
from caseflow.delivery.subscriptions import Deliverer
from caseflow.domain.enums import Role
from caseflow.domain.records import Actor, CaseEvent, CaseProjection, EscalationRecord
from caseflow.domain.subscriptions import SubscriptionCreate
from caseflow.store import subscriptions
from caseflow.store.db import make_engine, make_sessions, migrate
from caseflow.store.models import CaseEventRow, Subscription, SubscriptionDelivery
from caseflow.store.people import issue_token
from caseflow.store.seed import load_reference_data
from tests.postgres import free_port, fresh_database

SECRET = "s3cr3t-for-the-hotline-tool-0123456789"
SUMMARY = "派工 assigned to 刘洋: CT-JB-0003 球管报警,无法出图"


# ----- a database, an API and a receiver of our own ------------------------------------------------

@pytest.fixture(scope="module")
def own_database(database_url: str) -> Iterator[tuple[str, Any]]:
    with fresh_database(database_url, "subscriptions") as found:
        yield found


@pytest.fixture(scope="module")
def db(own_database):  # type: ignore[no-untyped-def]
    return own_database[1]


@pytest.fixture(autouse=True)
def no_active_subscriptions(db) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """Each test starts without anyone subscribed, so its deliveries are only its own."""
    yield
    with db.begin() as session:
        for found in subscriptions.subscriptions(session):
            subscriptions.deactivate(session, found, now=datetime.now(timezone.utc))


@pytest.fixture(scope="module")
def tokens(db) -> dict[str, str]:  # type: ignore[no-untyped-def]
    holders = {"hotline": "HL-01", "supervisor": "SV-01", "engineer": "EN-01",
               "manager": "MG-01", "director": "DR-01", "auditor": "AU-01", "admin": "AD-01"}
    with db.begin() as session:
        return {role: issue_token(session, person, f"test {role}")[0]
                for role, person in holders.items()}


@pytest.fixture(scope="module")
async def api(own_database) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    """The API app in process on this module's database. These routes never call Temporal, and
    the ASGI transport does not run the app's lifespan, so no Temporal server is needed."""
    app = create_app(Settings(database_url=own_database[0], environment="test"), temporal=None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://caseflow.test", timeout=30) as client:
        yield client


def auth(tokens: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[role]}"}


@dataclass
class Post:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """An outside tool's endpoint: answers 500 to the first `fail` posts, then 200."""

    url: str = ""
    posts: list[Post] = field(default_factory=list)
    fail: int = 0
    delay: float = 0.0
    arrived: int = 0  # posts begun (each is in `posts` once answered)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.arrived += 1
                time.sleep(receiver.delay)
                with receiver.lock:
                    receiver.posts.append(Post(self.path, dict(self.headers.items()), body))
                    failing = receiver.fail > 0
                    receiver.fail -= 1 if failing else 0
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), found.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/caseflow"
    yield found
    server.shutdown()
    server.server_close()


# ----- helpers --------------------------------------------------------------------------------------

def subscribe(sessions, url: str, events: list[str], *, secret: str = SECRET) -> int:  # type: ignore[no-untyped-def]
    with sessions.begin() as session:
        return subscriptions.register(session, body=SubscriptionCreate(
            name="呼叫中心 call centre", url=url, secret=secret, events=events),
            by="AD-01", now=datetime.now(timezone.utc)).id


def projection(case_id: str) -> CaseProjection:
    return CaseProjection(case_id=case_id, kind="repair", status="assigned", severity="severe",
                          hospital_id="H-JB", equipment_serial="CT-JB-0003", assignee_id="EN-03",
                          breached=False, title="球管报警", opened_at=datetime.now(timezone.utc),
                          policy_version="test")


def record(sessions, case_id: str, seq: int = 1, event: str = "assign") -> bool:  # type: ignore[no-untyped-def]
    """Record a timeline event the way a workflow does (the recording activity)."""
    return ActivityEnvironment().run(CaseRecords(sessions).record_case_event, CaseEvent(
        case_id=case_id, workflow_id=case_id, run_id="run-1", seq=seq, event=event,
        at=datetime.now(timezone.utc), actor=Actor(id="SV-02", name="黄磊", role=Role.supervisor),
        summary=SUMMARY, data={"engineer_id": "EN-03", "note": "尽快到场"},
        projection=projection(case_id)))


def escalate(sessions, case_id: str, seq: int, level: int) -> bool:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc)
    return ActivityEnvironment().run(CaseRecords(sessions).record_escalation, EscalationRecord(
        case_id=case_id, workflow_id=case_id, run_id="run-1", seq=seq, commitment="arrival",
        label="到场 arrival", round=1, level=level, notify="supervisor", owner="assignee",
        assignee_id="EN-03", hospital_id="H-JB", scheduled_at=now, fired_at=now, due_at=now,
        urgent=True, summary=f"超时 level {level}", projection=projection(case_id)))


def new_case() -> str:
    return f"RP-SUB-{uuid.uuid4().hex[:10]}"


def owed(sessions, case_id: str) -> list[SubscriptionDelivery]:  # type: ignore[no-untyped-def]
    with sessions() as session:
        return list(session.scalars(select(SubscriptionDelivery)
                                    .where(SubscriptionDelivery.case_id == case_id)
                                    .order_by(SubscriptionDelivery.id)))


def one(sessions, delivery_id: int) -> SubscriptionDelivery:  # type: ignore[no-untyped-def]
    with sessions() as session:
        found = session.get(SubscriptionDelivery, delivery_id)
        assert found is not None
        return found


def verified(post: Post, secret: str) -> bool:
    """What a receiver does: HMAC-SHA256 of the secret over "<timestamp>.<body>"."""
    timestamp = post.headers["X-Caseflow-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + post.body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(post.headers["X-Caseflow-Signature"], f"sha256={expected}")


# ----- fan-out ---------------------------------------------------------------------------------------

def test_a_recorded_event_is_owed_only_to_active_subscriptions_that_want_it(db, receiver):
    wants_assign = subscribe(db, receiver.url, ["assign"])
    wants_all = subscribe(db, receiver.url, ["*"])
    wants_other = subscribe(db, receiver.url, ["acknowledge", "warning"])
    wants_escalations = subscribe(db, receiver.url, ["escalation"])
    stopped = subscribe(db, receiver.url, ["assign"])
    with db.begin() as session:
        subscriptions.deactivate(session, session.get(Subscription, stopped),
                                 now=datetime.now(timezone.utc))
    case_id = new_case()

    assert record(db, case_id, 1, "assign") is True
    assert record(db, case_id, 1, "assign") is False  # Temporal retried the activity
    assert sorted(d.subscription_id for d in owed(db, case_id)) == [wants_assign, wants_all]

    assert escalate(db, case_id, 2, level=1) is True  # a breach: event "escalation"
    assert escalate(db, case_id, 2, level=1) is False
    with db() as session:
        event_ids = dict(session.execute(select(CaseEventRow.seq, CaseEventRow.id)
                                          .where(CaseEventRow.case_id == case_id)).all())
    by_event = sorted((d.case_event_id, d.subscription_id, d.event, d.status)
                      for d in owed(db, case_id))
    assert by_event == sorted([
        (event_ids[1], wants_assign, "assign", "pending"),
        (event_ids[1], wants_all, "assign", "pending"),
        (event_ids[2], wants_all, "escalation", "pending"),
        (event_ids[2], wants_escalations, "escalation", "pending")])
    assert wants_other not in {d.subscription_id for d in owed(db, case_id)}


# ----- delivery --------------------------------------------------------------------------------------

async def test_a_delivery_is_signed_and_carries_the_event_as_the_re_fetch_returns_it(
        db, receiver, api, tokens):
    subscribe(db, receiver.url, ["assign"])
    case_id = new_case()
    record(db, case_id)
    [delivery] = owed(db, case_id)

    assert Deliverer(db, timeout=5).drain_once() >= 1

    [post] = receiver.posts
    assert post.path == "/hooks/caseflow"
    assert verified(post, SECRET)
    assert not verified(post, "another secret of enough length")
    assert post.headers["X-Caseflow-Event"] == "assign"
    assert post.headers["X-Caseflow-Delivery"] == str(delivery.id)
    assert abs(int(post.headers["X-Caseflow-Timestamp"]) - time.time()) < 60
    assert post.headers["Content-Type"].startswith("application/json")
    # Chinese text is sent as UTF-8, not as \u escapes, and reads back the same.
    assert "球管报警".encode() in post.body and b"\\u" not in post.body
    message = json.loads(post.body.decode("utf-8"))
    assert message == {
        "id": delivery.case_event_id, "case_id": case_id, "seq": 1, "event": "assign",
        "at": message["at"], "summary": SUMMARY,
        "actor": {"id": "SV-02", "name": "黄磊", "role": "supervisor"},
        "data": {"engineer_id": "EN-03", "note": "尽快到场"}}

    sent = one(db, delivery.id)
    assert (sent.status, sent.attempts, sent.response_status, sent.last_error) == (
        "sent", 1, 200, "")
    assert sent.sent_at is not None and sent.next_attempt_at is None

    # A receiver that missed it re-fetches the event by id: the very same bytes.
    for role in ("admin", "hotline", "auditor", "manager"):
        again = await api.get(f"/v1/events/{delivery.case_event_id}", headers=auth(tokens, role))
        assert again.status_code == 200, again.text
        assert again.content == post.body
    assert (await api.get(f"/v1/events/{delivery.case_event_id}",
                          headers=auth(tokens, "engineer"))).status_code == 403
    unknown = await api.get("/v1/events/999999999", headers=auth(tokens, "admin"))
    assert unknown.status_code == 404 and unknown.json()["code"] == "UnknownRecord"


def test_a_receiver_failing_twice_gets_the_event_on_the_third_try_and_never_again(db, receiver):
    subscription_id = subscribe(db, receiver.url, ["*"])
    case_id = new_case()
    record(db, case_id)
    [delivery] = owed(db, case_id)
    deliverer = Deliverer(db, timeout=5)
    receiver.fail = 2

    now = datetime.now(timezone.utc)
    deliverer.drain_once(now)
    first = one(db, delivery.id)
    assert (first.status, first.attempts, first.response_status) == ("pending", 1, 500)
    assert first.last_error == "HTTP 500" and first.next_attempt_at == now + backoff(1)
    deliverer.drain_once(now)  # not due again yet
    assert len(receiver.posts) == 1

    now = first.next_attempt_at
    deliverer.drain_once(now)
    second = one(db, delivery.id)
    assert second.attempts == 2 and second.next_attempt_at == now + backoff(2)

    deliverer.drain_once(second.next_attempt_at)
    deliverer.drain_once(second.next_attempt_at + timedelta(hours=1))  # sent: never again

    assert len(receiver.posts) == 3
    assert {p.headers["X-Caseflow-Delivery"] for p in receiver.posts} == {str(delivery.id)}
    assert len({p.body for p in receiver.posts}) == 1  # each try carries the same event
    with db() as session:
        recorded = list(session.scalars(select(SubscriptionDelivery).where(
            SubscriptionDelivery.subscription_id == subscription_id)))
    assert len(recorded) == 1
    done = recorded[0]
    assert (done.status, done.attempts, done.response_status, done.last_error) == (
        "sent", 3, 200, "")


def test_an_unreachable_receiver_is_retried_with_backoff_until_the_give_up_time(db):
    subscribe(db, f"http://127.0.0.1:{free_port()}/nobody", ["assign"])
    case_id = new_case()
    record(db, case_id)
    [delivery] = owed(db, case_id)
    deliverer = Deliverer(db, timeout=2, give_up_after=timedelta(hours=1))
    start = now = datetime.now(timezone.utc)
    gaps = []
    while one(db, delivery.id).status == "pending":
        deliverer.drain_once(now)
        after = one(db, delivery.id)
        if after.status == "pending":
            assert after.next_attempt_at is not None
            gaps.append(after.next_attempt_at - now)
            now = after.next_attempt_at
        assert len(gaps) < 100
    failed = one(db, delivery.id)
    assert failed.status == "failed" and failed.next_attempt_at is None
    assert failed.response_status is None and "ConnectError" in failed.last_error
    assert now - start >= timedelta(hours=1)
    assert gaps[:4] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert max(gaps) == timedelta(minutes=5)
    attempts = failed.attempts
    deliverer.drain_once(now + timedelta(days=1))
    assert one(db, delivery.id).attempts == attempts  # failed: left alone


def test_two_deliverers_draining_at_once_send_each_delivery_once(db, receiver):
    subscribe(db, receiver.url, ["*"])
    case_id = new_case()
    for seq in range(1, 7):
        record(db, case_id, seq, "progress")
    receiver.delay = 0.05
    now = datetime.now(timezone.utc)
    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(lambda d: d.drain_once(now), [Deliverer(db, timeout=5),
                                                    Deliverer(db, timeout=5)]))
    ids = [p.headers["X-Caseflow-Delivery"] for p in receiver.posts]
    assert sorted(ids) == sorted(str(d.id) for d in owed(db, case_id))  # each exactly once
    assert {(d.status, d.attempts) for d in owed(db, case_id)} == {("sent", 1)}


def test_a_drain_longer_than_the_hold_never_lets_another_deliverer_send_the_same_one(
        db, receiver):
    """Each claim holds its delivery from the moment it is claimed, not from when the drain
    began. Three POSTs of 0.3 s with a hold of 0.5 s: the third is claimed 0.6 s into the
    drain; another deliverer draining once it is under way (past the drain's first 0.5 s) must
    not take it."""
    subscribe(db, receiver.url, ["*"])
    case_id = new_case()
    for seq in range(1, 4):
        record(db, case_id, seq, "progress")
    receiver.delay = 0.3
    slow, eager = Deliverer(db, timeout=5), Deliverer(db, timeout=5)
    slow.hold = eager.hold = timedelta(seconds=0.5)
    with ThreadPoolExecutor(max_workers=1) as pool:
        draining = pool.submit(slow.drain_once)
        while receiver.arrived < 3 and not draining.done():  # the third POST under way
            time.sleep(0.01)
        while not draining.done():  # another worker draining again and again meanwhile
            eager.drain_once()
            time.sleep(0.02)
        draining.result()
    ids = [p.headers["X-Caseflow-Delivery"] for p in receiver.posts]
    assert sorted(ids) == sorted(str(d.id) for d in owed(db, case_id))  # each exactly once
    assert {(d.status, d.attempts) for d in owed(db, case_id)} == {("sent", 1)}


def test_one_subscription_cannot_take_a_whole_drain(db, receiver):
    """A receiver with a backlog gets at most PER_SUBSCRIPTION deliveries per drain; another
    subscriber's events go out in the same drain."""
    from caseflow.delivery.subscriptions import PER_SUBSCRIPTION

    busy = subscribe(db, receiver.url + "?busy", ["*"])
    other = subscribe(db, receiver.url + "?other", ["*"])
    case_id = new_case()
    for seq in range(1, PER_SUBSCRIPTION + 4):
        record(db, case_id, seq, "progress")
    Deliverer(db, timeout=5).drain_once(limit=2 * PER_SUBSCRIPTION)
    sent = [d.subscription_id for d in owed(db, case_id) if d.status == "sent"]
    assert sent.count(busy) == PER_SUBSCRIPTION and sent.count(other) == PER_SUBSCRIPTION


def test_fan_out_and_delivery_work_on_sqlite_too(receiver, tmp_path: Path):
    """`make run` keeps the business database in a SQLite file."""
    url = f"sqlite:///{tmp_path / 'caseflow.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        lite = make_sessions(engine)
        load_reference_data(lite)
        subscribe(lite, receiver.url, ["assign"])
        case_id = new_case()
        record(lite, case_id)
        [delivery] = owed(lite, case_id)
        receiver.fail = 1
        deliverer = Deliverer(lite, timeout=5)
        now = datetime.now(timezone.utc)
        deliverer.drain_once(now)
        deliverer.drain_once(now + backoff(1))
        assert (one(lite, delivery.id).status, one(lite, delivery.id).attempts) == ("sent", 2)
        assert len(receiver.posts) == 2 and verified(receiver.posts[-1], SECRET)
        assert "球管报警" in json.loads(receiver.posts[-1].body)["summary"]
    finally:
        engine.dispose()


# ----- API -------------------------------------------------------------------------------------------

async def test_an_admin_registers_reads_lists_and_deactivates_a_subscription(db, api, tokens,
                                                                             receiver):
    admin = auth(tokens, "admin")
    created = await api.post("/v1/subscriptions", headers=admin, json={
        "name": "医院设备系统 equipment system", "url": receiver.url, "secret": SECRET,
        "events": ["assign", "escalation", "assign"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert SECRET not in created.text and "secret" not in body
    assert body["events"] == ["assign", "escalation"] and body["active"] is True
    assert body["created_by"] == "AD-01" and body["name"] == "医院设备系统 equipment system"
    subscription_id = body["id"]

    read = await api.get(f"/v1/subscriptions/{subscription_id}", headers=admin)
    assert read.status_code == 200 and read.json() == body
    listed = await api.get("/v1/subscriptions", headers=admin)
    assert listed.status_code == 200 and SECRET not in listed.text
    assert body in listed.json()

    case_id = new_case()
    record(db, case_id)
    assert [d.subscription_id for d in owed(db, case_id)] == [subscription_id]

    gone = await api.delete(f"/v1/subscriptions/{subscription_id}", headers=admin)
    assert gone.status_code == 200 and gone.json()["active"] is False
    assert gone.json()["deactivated_at"] is not None and SECRET not in gone.text
    # Kept for the record: still readable, its delivery too (the pending one ends failed).
    assert (await api.get(f"/v1/subscriptions/{subscription_id}",
                          headers=admin)).json()["active"] is False
    [kept] = owed(db, case_id)
    assert kept.status == "failed" and kept.last_error == "subscription deactivated"
    record(db, case_id, 2)
    assert len(owed(db, case_id)) == 1  # nothing more is owed to it
    assert (await api.delete(f"/v1/subscriptions/{subscription_id}",
                             headers=admin)).status_code == 200  # again: still deactivated

    for method, path in (("GET", "/v1/subscriptions/999999"),
                         ("DELETE", "/v1/subscriptions/999999"),
                         ("GET", "/v1/subscriptions/999999/deliveries"),
                         ("POST", "/v1/subscriptions/999999/deliveries/1/redeliver")):
        missing = await api.request(method, path, headers=admin)
        assert missing.status_code == 404, (method, path, missing.text)
        assert missing.json()["code"] == "UnknownRecord"


@pytest.mark.parametrize(("change", "where"), [
    ({"url": "ftp://files.hospital.test/in"}, ["body", "url"]),
    ({"url": "not a url"}, ["body", "url"]),
    ({"url": "https://tools.test/" + "长" * 200}, ["body", "url"]),
    ({"secret": "too-short"}, ["body", "secret"]),
    ({"secret": "长" * 300}, ["body", "secret"]),
    ({"url": "https://robot:hunter2-password@tools.test/in"}, ["body", "url"]),
    ({"events": []}, ["body", "events"]),
    ({"events": ["Assign"]}, ["body", "events", 0]),
    ({"events": ["assign", "no spaces"]}, ["body", "events", 1]),
    ({"events": "assign"}, ["body", "events"]),
    ({"name": ""}, ["body", "name"]),
    ({"active": False}, ["body", "active"]),
])
async def test_a_bad_subscription_is_refused_naming_the_field(api, tokens, change, where):
    body = {"name": "hotline tool", "url": "https://tools.hotline.test/caseflow",
            "secret": SECRET, "events": ["*"], **change}
    refused = await api.post("/v1/subscriptions", headers=auth(tokens, "admin"), json=body)
    assert refused.status_code == 422, refused.text
    assert where in [e["loc"] for e in refused.json()["detail"]]
    # Nothing sent is echoed back: not the secret, nor a password in a URL.
    for sent in (body["secret"], "hunter2-password", "too-short"):
        assert sent not in refused.text


async def test_only_an_admin_manages_subscriptions(api, tokens):
    body = {"name": "x", "url": "https://tools.test/", "secret": SECRET, "events": ["*"]}
    for role in ("manager", "director", "supervisor", "hotline", "engineer", "auditor"):
        assert (await api.post("/v1/subscriptions", headers=auth(tokens, role),
                               json=body)).status_code == 403
        assert (await api.get("/v1/subscriptions", headers=auth(tokens, role))).status_code == 403
    assert (await api.get("/v1/subscriptions")).status_code == 401
    assert (await api.get("/v1/events/1")).status_code == 401


async def test_deliveries_are_listed_by_status_page_by_page_and_can_be_redelivered(
        db, api, tokens, receiver):
    admin = auth(tokens, "admin")
    subscription_id = subscribe(db, receiver.url, ["*"])
    case_id = new_case()
    for seq in (1, 2, 3):
        record(db, case_id, seq, "progress")
    receiver.fail = 1  # the first try of the first delivery; with no patience, it fails
    Deliverer(db, timeout=5, give_up_after=timedelta(0)).drain_once()
    record(db, case_id, 4, "progress")  # still pending
    first, second, third, fourth = owed(db, case_id)
    path = f"/v1/subscriptions/{subscription_id}/deliveries"

    failed = (await api.get(path, params={"status": "failed"}, headers=admin)).json()
    assert [d["id"] for d in failed["items"]] == [first.id] and failed["next_before"] is None
    item = failed["items"][0]
    assert (item["status"], item["attempts"], item["last_error"], item["response_status"]) == (
        "failed", 1, "HTTP 500", 500)
    assert item["event_id"] == first.case_event_id and item["case_id"] == case_id
    assert item["event"] == "progress" and item["next_attempt_at"] is None
    sent = (await api.get(path, params={"status": "sent"}, headers=admin)).json()
    assert [d["id"] for d in sent["items"]] == [third.id, second.id]
    assert all(d["sent_at"] and d["response_status"] == 200 for d in sent["items"])
    pending = (await api.get(path, params={"status": "pending"}, headers=admin)).json()
    assert [d["id"] for d in pending["items"]] == [fourth.id]
    assert pending["items"][0]["next_attempt_at"] is not None

    page = (await api.get(path, params={"limit": 3}, headers=admin)).json()
    assert [d["id"] for d in page["items"]] == [fourth.id, third.id, second.id]
    rest = (await api.get(path, params={"limit": 3, "before": page["next_before"]},
                          headers=admin)).json()
    assert [d["id"] for d in rest["items"]] == [first.id] and rest["next_before"] is None
    assert (await api.get(path, params={"status": "lost"}, headers=admin)).status_code == 422
    assert (await api.get(path, headers=auth(tokens, "manager"))).status_code == 403

    redeliver = f"{path}/{{}}/redeliver"
    busy = await api.post(redeliver.format(fourth.id), headers=admin)
    assert busy.status_code == 409 and busy.json()["code"] == "InvalidTransition"
    queued = await api.post(redeliver.format(first.id), headers=admin)
    assert queued.status_code == 200, queued.text
    assert (queued.json()["status"], queued.json()["attempts"]) == ("pending", 0)
    again = await api.post(redeliver.format(second.id), headers=admin)  # a sent one, on request
    assert again.status_code == 200 and again.json()["status"] == "pending"
    before = len(receiver.posts)
    Deliverer(db, timeout=5).drain_once()
    resent = [p.headers["X-Caseflow-Delivery"] for p in receiver.posts[before:]]
    assert sorted(resent) == sorted([str(first.id), str(second.id), str(fourth.id)])
    assert {d.status for d in owed(db, case_id)} == {"sent"}

    other = subscribe(db, receiver.url, ["*"])
    elsewhere = await api.post(f"/v1/subscriptions/{other}/deliveries/{first.id}/redeliver",
                               headers=admin)
    assert elsewhere.status_code == 404
    await api.delete(f"/v1/subscriptions/{subscription_id}", headers=admin)
    stopped = await api.post(redeliver.format(first.id), headers=admin)
    assert stopped.status_code == 409
