"""Draining the notifications outbox. Delivery channels come later; now a sender that logs.

Each row is claimed (PostgreSQL: FOR UPDATE SKIP LOCKED), sent and marked sent in one
transaction, so two workers never send the same row at the same time. A crash between the send
and the commit sends that row again (at least once); a message that keeps failing is retried
behind the others and marked failed after MAX_ATTEMPTS.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caseflow.store.models import Notification

log = structlog.get_logger(__name__)


class Sender(Protocol):
    def send(self, message: Notification) -> None: ...


class LogSender:
    """Writes each notification to the log (the only channel until real delivery lands)."""

    def send(self, message: Notification) -> None:
        log.info("notification sent", channel="log", case_id=message.case_id,
                 to=message.person_id, subject=message.subject, urgent=message.urgent)


MAX_ATTEMPTS = 5


def drain_once(sessions: sessionmaker[Session], sender: Sender, limit: int = 100) -> int:
    """Try up to `limit` pending notifications, fewest attempts first; returns how many went."""
    sent = 0
    for _ in range(limit):
        with sessions.begin() as session:
            query = (select(Notification).where(Notification.status == "pending")
                     .order_by(Notification.attempts, Notification.urgent.desc(),
                               Notification.id).limit(1))
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            message = session.scalar(query)
            if message is None:
                break
            message.attempts += 1
            try:
                sender.send(message)
            except Exception as error:  # recorded on the row; the others still go
                log.warning("notification failed", case_id=message.case_id, to=message.person_id,
                            attempt=message.attempts, error=str(error))
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = "failed"
                continue
            message.status, message.sent_at = "sent", datetime.now(timezone.utc)
            sent += 1
    return sent


async def run_outbox(sessions: sessionmaker[Session], sender: Sender, poll_seconds: float,
                     stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(drain_once, sessions, sender)
        except Exception:  # the database may be away for a while; try again next round
            log.exception("outbox drain failed")
        try:
            await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
        except TimeoutError:
            pass
