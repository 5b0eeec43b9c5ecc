"""Activities of the uptime guards: a contract's standing read from the database, and a fired
rung recorded and notified once (workflows/uptime.py)."""

from __future__ import annotations

from datetime import datetime, timezone

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from caseflow.domain.guarantee import (
    RECORD_UPTIME_RUNG,
    UPTIME_STANDING,
    ContractStanding,
    StandingRequest,
    UptimeRung,
)
from caseflow.store.guarantees import contract_standing, record_rung
from caseflow.store.policies import PolicySource

log = structlog.get_logger(__name__)


class UptimeGuards:
    def __init__(self, sessions: sessionmaker[Session], policies: PolicySource) -> None:
        self.sessions = sessions
        self.policies = policies

    @activity.defn(name=UPTIME_STANDING)
    def uptime_standing(self, request: StandingRequest) -> ContractStanding:
        """The contract's downtime budgets as of the guard's time (never the clock here: the
        guard decides what is due)."""
        with self.sessions() as session:
            return contract_standing(session, self.policies.current(), request.contract_code,
                                     request.as_of, request.period_start)

    @activity.defn(name=RECORD_UPTIME_RUNG)
    def record_uptime_rung(self, rung: UptimeRung) -> bool:
        """Record the rung and queue its notices once; False if a retry finds it written."""
        try:
            with self.sessions.begin() as session:
                written = record_rung(session, rung, datetime.now(timezone.utc))
        except IntegrityError:  # a concurrent attempt won the unique key: it is written
            return False
        if written:
            log.warning("uptime guarantee rung", serial=rung.serial, period=rung.period,
                        level=rung.level, summary=rung.summary)
        return written
