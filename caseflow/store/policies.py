"""The SLA policy in force: the newest one a manager put in force (`sla_policies`), else the
policy file. API processes and workers read it through one `PolicySource` each."""

from __future__ import annotations

import threading
import time
from datetime import datetime

import structlog
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from caseflow.domain.policy_loader import PolicyBook, PolicyError, parse_policy, read_yaml
from caseflow.store.models import StoredPolicy

log = structlog.get_logger(__name__)


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

    def fresh(self) -> PolicyBook | None:
        """The policy in force if it was looked up within `refresh_seconds`, else None (then
        `current()` looks in the database): what an event loop may ask without blocking."""
        if time.monotonic() - self._checked < self.refresh_seconds:
            return self._book
        return None

    def current(self) -> PolicyBook:
        with self._lock:
            if time.monotonic() - self._checked < self.refresh_seconds:
                return self._book
            with self.sessions() as session:
                newest_id = session.scalar(select(func.max(StoredPolicy.id))) or 0
                if newest_id != self._row_id:
                    self._book = self._readable(history(session, limit=20))
                    self._row_id = newest_id
            self._checked = time.monotonic()
            return self._book

    def _readable(self, rows: list[StoredPolicy]) -> PolicyBook:
        """The newest stored policy this release can read (one stored under an older release's
        rules is logged and passed over, so cases keep opening), else the file."""
        for row in rows:
            try:
                return stored_book(row)
            except PolicyError as error:
                log.error("stored policy cannot be read; using the one before it",
                          policy_id=row.id, error=str(error))
        return self.fallback

    def forget(self) -> None:
        """Look in the database on the next `current()` (after this process put one in force)."""
        with self._lock:
            self._checked = float("-inf")


def stored_book(row: StoredPolicy) -> PolicyBook:
    source = (f"policy #{row.id} put in force by {row.put_by} at "
              f"{row.put_at.isoformat(timespec='seconds')}")
    return parse_policy(read_yaml(row.policy_yaml, source), source, row.policy_yaml)


def put_in_force(session: Session, book: PolicyBook, text: str, *, by: str, note: str,
                 now: datetime) -> StoredPolicy:
    row = StoredPolicy(version=book.version, policy_yaml=text, note=note, put_by=by, put_at=now)
    session.add(row)
    session.flush()
    return row


def history(session: Session, limit: int = 100) -> list[StoredPolicy]:
    return list(session.scalars(select(StoredPolicy).order_by(StoredPolicy.id.desc())
                                .limit(limit)))
