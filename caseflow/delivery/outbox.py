"""Delivering the notifications outbox through each recipient's channels.

Each pending row is claimed (PostgreSQL: FOR UPDATE SKIP LOCKED, so two workers never take the
same row), sent on every channel of the recipient's profile that has not delivered it yet, and
updated in the same transaction:

- a channel that delivered is recorded on the row and never used for that row again, so a
  retry after a partial failure sends only what is missing;
- a failed channel leaves the row pending with `not_before` pushed out by exponential backoff
  (capped at 5 minutes); a row still undelivered `give_up_after` its creation is marked failed
  (with the last error kept), so an outage of hours loses no alert;
- one bad row (an unexpected error in a channel) fails that row's attempt, never the loop;
- a non-urgent message waits for the recipient's working hours (their policy calendar);
  urgent ones go at once, day or night (DOMAIN.md).

A crash between a send and its commit sends that channel again (at least once); every message
carries its dedupe key (Message-ID / X-Caseflow-Delivery) so the receiver can drop the copy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

import structlog
from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from caseflow.delivery.channels import Channel, DeliveryError
from caseflow.domain.calendar import WorkingCalendar
from caseflow.metrics import CaseMetrics
from caseflow.store.models import Notification, Person

log = structlog.get_logger(__name__)

MAX_BACKOFF = timedelta(minutes=5)
BACKLOG_EVERY = 1.0  # at most this often (seconds) a sender counts its backlog for the metrics


@dataclass(frozen=True)
class Backlog:
    """A sender's queue: messages not yet sent nor given up, and those of them due now."""

    pending: int
    due: int


def count_backlog(session: Session, model: type, due: ColumnElement[bool]) -> Backlog:
    """Pending rows of an outbox table, and how many of them meet `due`."""
    pending, ready = session.execute(
        select(func.count(), func.count().filter(due)).select_from(model)
        .where(model.status == "pending")).one()  # type: ignore[attr-defined]
    return Backlog(pending=pending, due=ready)


def backoff(attempt: int) -> timedelta:
    """1 s, 2 s, 4 s... capped at five minutes."""
    return min(timedelta(seconds=2 ** (attempt - 1)), MAX_BACKOFF)


def drain_clock(fixed: datetime | None) -> Callable[[], datetime]:
    """The time during one drain: read afresh for every message, so a long drain never claims
    or backs off from a stale time; a test may fix it to an instant instead."""
    if fixed is not None:
        return lambda: fixed
    return lambda: datetime.now(timezone.utc)


class Dispatcher:
    def __init__(self, sessions: sessionmaker[Session], channels: dict[str, Channel],
                 working_hours: Callable[[str, datetime], WorkingCalendar],
                 give_up_after: timedelta = timedelta(hours=24)) -> None:
        self.sessions = sessions
        self.channels = channels
        self.working_hours = working_hours
        self.give_up_after = give_up_after

    def backlog(self, now: datetime | None = None) -> Backlog:
        now = now or datetime.now(timezone.utc)
        with self.sessions() as session:
            return count_backlog(session, Notification, or_(Notification.not_before.is_(None),
                                                            Notification.not_before <= now))

    def drain_once(self, now: datetime | None = None, limit: int = 100) -> int:
        """Work through up to `limit` due messages; returns how many were fully delivered."""
        clock = drain_clock(now)
        delivered = 0
        for _ in range(limit):
            now = clock()
            with self.sessions.begin() as session:
                # The message with its recipient, in one query; only the message is locked.
                query = (select(Notification, Person)
                         .outerjoin(Person, Person.id == Notification.person_id)
                         .where(Notification.status == "pending",
                                or_(Notification.not_before.is_(None),
                                    Notification.not_before <= now))
                         .order_by(Notification.urgent.desc(), Notification.id).limit(1))
                if session.get_bind().dialect.name == "postgresql":
                    query = query.with_for_update(skip_locked=True, of=Notification)
                found = session.execute(query).first()
                if found is None:
                    break
                message, person = found
                delivered += self._deliver(session, message, person, now)
        return delivered

    def _deliver(self, session: Session, message: Notification, person: Person | None,
                 now: datetime) -> int:
        if person is None or not person.active:
            message.status, message.last_error = "failed", "no active person to deliver to"
            return 0
        if not message.urgent:
            opens = self.working_hours(person.work_calendar, now).next_open(now)
            if opens > now:  # held to the recipient's working hours
                message.not_before = opens
                return 0
        wanted = [name for name in person.channels or [] if name in self.channels] or ["log"]
        errors = []
        for name in wanted:
            if name in message.delivered:
                continue
            try:
                self.channels[name].deliver(message, person)
            except DeliveryError as error:
                errors.append(f"{name}: {error}")
                continue
            except Exception as error:  # a bad address or text: this row's problem only
                errors.append(f"{name}: {type(error).__name__}: {error}")
                continue
            message.delivered = [*message.delivered, name]
        if not errors:
            message.status, message.sent_at = "sent", now
            return 1
        message.attempts += 1
        message.last_error = "; ".join(errors)
        if now - message.created_at >= self.give_up_after:
            message.status = "failed"
            log.error("notification failed", case_id=message.case_id, to=person.id,
                      attempts=message.attempts, error=message.last_error)
        else:
            message.not_before = now + backoff(message.attempts)
            log.warning("notification will be retried", case_id=message.case_id, to=person.id,
                        attempt=message.attempts, error=message.last_error)
        return 0


class Drains(Protocol):
    """A sender the worker runs in a loop: the outbox dispatcher, the subscription deliverer."""

    def drain_once(self) -> int: ...

    def backlog(self) -> Backlog: ...


async def run_outbox(dispatcher: Drains, poll_seconds: float, stop: asyncio.Event,
                     name: str = "notifications", metrics: CaseMetrics | None = None) -> None:
    """Drain `dispatcher` every `poll_seconds` until `stop`; after a drain, at most every
    BACKLOG_EVERY seconds, its backlog goes to `metrics` (queue label `name`)."""
    counted = float("-inf")
    while not stop.is_set():
        try:
            await asyncio.to_thread(dispatcher.drain_once)
            if metrics is not None and time.monotonic() - counted >= BACKLOG_EVERY:
                counted = time.monotonic()
                backlog = await asyncio.to_thread(dispatcher.backlog)
                metrics.backlog(name, backlog.pending, backlog.due)
        except Exception:  # the database may be away for a while; try again next round
            log.exception(f"{name} drain failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
