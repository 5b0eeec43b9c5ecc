"""Draining the notifications outbox. Delivery channels come later; now a sender that logs.

Each row is claimed and marked in its own transaction, so a message is sent at most once by
this loop even with several workers (PostgreSQL: FOR UPDATE SKIP LOCKED).
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


def drain_once(sessions: sessionmaker[Session], sender: Sender, limit: int = 100) -> int:
    """Send up to `limit` pending notifications; returns how many were sent."""
    sent = 0
    for _ in range(limit):
        with sessions.begin() as session:
            query = (select(Notification).where(Notification.status == "pending")
                     .order_by(Notification.urgent.desc(), Notification.id).limit(1))
            if session.bind is not None and session.bind.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            message = session.scalar(query)
            if message is None:
                break
            message.attempts += 1
            sender.send(message)
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
