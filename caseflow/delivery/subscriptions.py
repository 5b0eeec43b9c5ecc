"""Delivering case events to subscribed outside tools: signed JSON POSTs, retried with backoff.

A delivery row is written in the transaction that records its case event
(store/subscriptions.py `fan_out`); the worker's deliverer sends it:

- it claims one due delivery at a time (PostgreSQL: FOR UPDATE SKIP LOCKED; everywhere: its due
  time moves past a hold by compare-and-set), so two deliverers never send it at once;
- it POSTs the event's JSON (UTF-8, Chinese text as is) signed with the subscription's secret:
  `X-Caseflow-Signature: sha256=<HMAC-SHA256 of "<X-Caseflow-Timestamp>.<body>">`;
- any 2xx marks it sent (never sent again unless an admin redelivers it); anything else counts
  an attempt and backs off like the notification outbox (1 s, 2 s, 4 s ... capped at 5 min),
  until `give_up_after` since it was queued: then it is failed, with the last error kept.

A crash between a POST and its record sends it again after the hold (at least once): receivers
drop the copy by X-Caseflow-Delivery, or by the event's id.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import httpx
import structlog
from sqlalchemy.orm import Session, sessionmaker

from caseflow.delivery.outbox import Backlog, backoff, count_backlog, drain_clock
from caseflow.domain.subscriptions import encode, signature
from caseflow.store import subscriptions
from caseflow.store.models import SubscriptionDelivery

log = structlog.get_logger(__name__)

PER_SUBSCRIPTION = 10  # deliveries of one subscription per drain
DRAIN_BUDGET = timedelta(seconds=60)  # no new claim after this long in one drain


@dataclass(frozen=True)
class Parcel:
    """What one POST needs, read while the delivery was claimed."""

    delivery_id: int
    subscription_id: int
    case_id: str
    event: str
    url: str
    secret: str
    body: bytes


@dataclass(frozen=True)
class Answer:
    status: int | None  # the receiver's HTTP status; None when it could not be reached
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deliverer:
    def __init__(self, sessions: sessionmaker[Session], *, timeout: float = 10.0,
                 give_up_after: timedelta = timedelta(hours=24)) -> None:
        self.sessions = sessions
        self.give_up_after = give_up_after
        self.client = httpx.Client(timeout=timeout, follow_redirects=False)
        # Longer than any one POST can take (httpx's timeout is per phase), so a claim never
        # lapses while its POST is still under way.
        self.hold = timedelta(seconds=4 * timeout + 30)

    def backlog(self, now: datetime | None = None) -> Backlog:
        now = now or datetime.now(timezone.utc)
        with self.sessions() as session:
            return count_backlog(session, SubscriptionDelivery,
                                 SubscriptionDelivery.next_attempt_at <= now)

    def drain_once(self, now: datetime | None = None, limit: int = 100) -> int:
        """Send up to `limit` due deliveries; returns how many were received (2xx).

        Fair to every subscriber: at most PER_SUBSCRIPTION deliveries of one subscription per
        drain, and no new claim after DRAIN_BUDGET, so a receiver that is down (each POST
        waiting for its timeout) cannot hold up the others or the worker's shutdown."""
        clock, began = drain_clock(now), time.monotonic()
        taken: Counter[int] = Counter()
        received = 0
        for _ in range(limit):
            if time.monotonic() - began > DRAIN_BUDGET.total_seconds():
                break
            full = [sid for sid, count in taken.items() if count >= PER_SUBSCRIPTION]
            parcel = self._claim(clock(), full)
            if parcel is None:
                break
            taken[parcel.subscription_id] += 1
            answer = self._post(parcel)
            received += self._record(parcel, answer, clock())
        return received

    def _claim(self, now: datetime, skip: list[int]) -> Parcel | None:
        with self.sessions.begin() as session:
            claimed = subscriptions.claim_due(session, now=now, hold=self.hold, skip=skip)
            if claimed is None:
                return None
            owed, subscription, row = claimed
            return Parcel(delivery_id=owed.id, subscription_id=subscription.id,
                          case_id=row.case_id, event=row.event, url=subscription.url,
                          secret=subscription.secret,
                          body=encode(subscriptions.event_message(row)))

    def _post(self, parcel: Parcel) -> Answer:
        timestamp = str(int(time.time()))
        try:
            response = self.client.post(parcel.url, content=parcel.body, headers={
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": "caseflow-subscriptions",
                "X-Caseflow-Event": parcel.event,
                "X-Caseflow-Delivery": str(parcel.delivery_id),
                "X-Caseflow-Timestamp": timestamp,
                "X-Caseflow-Signature": signature(parcel.secret, timestamp, parcel.body)})
        except Exception as error:  # unreachable, timed out, or a URL httpx refuses
            return Answer(None, f"{type(error).__name__}: {error}")
        if 200 <= response.status_code < 300:
            return Answer(response.status_code)
        return Answer(response.status_code, f"HTTP {response.status_code}")

    def _record(self, parcel: Parcel, answer: Answer, now: datetime) -> int:
        bound = log.bind(case_id=parcel.case_id, subscription_id=parcel.subscription_id,
                         delivery_id=parcel.delivery_id, case_event=parcel.event)
        with self.sessions.begin() as session:
            owed = session.get(SubscriptionDelivery, parcel.delivery_id, with_for_update=True)
            if owed is None or owed.status != "pending":  # e.g. its subscription was deactivated
                return 0
            owed.attempts += 1
            owed.response_status = answer.status
            if answer.ok:
                owed.status, owed.sent_at, owed.next_attempt_at = "sent", now, None
                owed.last_error = ""
                bound.info("case event delivered", attempts=owed.attempts, status=answer.status)
                return 1
            owed.last_error = answer.error[:2000]
            if now - owed.queued_at >= self.give_up_after:
                owed.status, owed.next_attempt_at = "failed", None
                bound.error("case event delivery failed", attempts=owed.attempts,
                            error=owed.last_error)
            else:
                owed.next_attempt_at = now + backoff(owed.attempts)
                bound.warning("case event delivery will be retried", attempt=owed.attempts,
                              error=owed.last_error)
        return 0
