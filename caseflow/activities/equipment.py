"""The equipment register for workflows: a unit put in service on acceptance, and its status
following its maintenance plan (out of service, in service, decommissioned)."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from caseflow.domain.errors import DomainError
from caseflow.domain.installation import AcceptedUnit, AcceptUnit
from caseflow.domain.maintenance import EquipmentStatusChange
from caseflow.domain.records import ACCEPT_INSTALLATION, SET_EQUIPMENT_STATUS
from caseflow.store import equipment

log = structlog.get_logger(__name__)


class EquipmentRegister:
    def __init__(self, sessions: sessionmaker[Session], timezone_name: str) -> None:
        self.sessions = sessions
        self.zone = ZoneInfo(timezone_name)

    @activity.defn(name=ACCEPT_INSTALLATION)
    def accept_installation(self, request: AcceptUnit) -> AcceptedUnit:
        """In service from the local day of the acceptance; idempotent (a retry answers the
        same dates)."""
        on = request.accepted_at.astimezone(self.zone).date()
        try:
            with self.sessions.begin() as session:
                accepted = equipment.accept(session, request.serial, on,
                                            datetime.now(timezone.utc))
        except DomainError as error:
            raise ApplicationError(error.message, type=type(error).__name__,
                                   non_retryable=True) from None
        log.info("unit in service", case_id=request.case_id, serial=request.serial,
                 warranty_end=accepted.warranty_end.isoformat())
        return accepted

    @activity.defn(name=SET_EQUIPMENT_STATUS)
    def set_equipment_status(self, change: EquipmentStatusChange) -> None:
        try:
            with self.sessions.begin() as session:
                equipment.set_status(session, change.serial, change.status,
                                     f"{change.reason} ({change.by.name})",
                                     datetime.now(timezone.utc))
        except DomainError as error:
            raise ApplicationError(error.message, type=type(error).__name__,
                                   non_retryable=True) from None
        log.info("unit status", serial=change.serial, status=change.status, reason=change.reason)
