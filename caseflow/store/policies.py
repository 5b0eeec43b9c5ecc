"""The SLA policy in force: the newest one a manager put in force (`sla_policies`), else the
policy file. API processes and workers read it through one `PolicySource` each."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from caseflow.domain.policy_loader import PolicyBook, parse_policy
from caseflow.store.models import StoredPolicy


class PolicySource:
    """Answers `current()` from memory, looking in the database at most every
    `refresh_seconds` for a newer policy (so a policy put in force reaches every process within
    that time, and a burst of new cases costs one query)."""

    def __init__(self, sessions: sessionmaker[Session], fallback: PolicyBook,
                 refresh_seconds: float = 2.0) -> None:
        self.sessions = sessions
        self.fallback = fallback
        self.refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._book, self._row_id, self._checked = fallback, 0, float("-inf")

    def current(self) -> PolicyBook:
        with self._lock:
            if time.monotonic() - self._checked < self.refresh_seconds:
                return self._book
            with self.sessions() as session:
                row = newest(session)
            if row is None:
                self._book, self._row_id = self.fallback, 0
            elif row.id != self._row_id:
                self._book, self._row_id = stored_book(row), row.id
            self._checked = time.monotonic()
            return self._book

    def forget(self) -> None:
        """Look in the database on the next `current()` (after this process put one in force)."""
        with self._lock:
            self._checked = float("-inf")


def newest(session: Session) -> StoredPolicy | None:
    return session.scalar(select(StoredPolicy).order_by(StoredPolicy.id.desc()).limit(1))


def stored_book(row: StoredPolicy) -> PolicyBook:
    return parse_policy(yaml.safe_load(row.policy_yaml), f"policy #{row.id} put in force by "
                        f"{row.put_by} at {row.put_at.isoformat(timespec='seconds')}")


def put_in_force(session: Session, book: PolicyBook, text: str, *, by: str, note: str,
                 now: datetime) -> StoredPolicy:
    row = StoredPolicy(version=book.version, policy_yaml=text, note=note, put_by=by, put_at=now)
    session.add(row)
    session.flush()
    return row


def history(session: Session, limit: int = 100) -> list[StoredPolicy]:
    return list(session.scalars(select(StoredPolicy).order_by(StoredPolicy.id.desc())
                                .limit(limit)))
