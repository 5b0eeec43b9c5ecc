"""Opening a case from another case: the complaint a dissatisfied repair callback asks for,
the emergency a critical repair needs.

Idempotent: the reservation is keyed by the origin case, so a retried activity returns the
same case number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, datetime, timezone
from typing import TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from caseflow.domain.complaint import ComplaintCreate, ComplaintStart, LinkedComplaintRequest
from caseflow.domain.emergency import EmergencyCreate, EmergencyStart, LinkedEmergencyRequest
from caseflow.domain.enums import ComplaintChannel, EmergencyTrigger
from caseflow.domain.errors import DomainError
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import OPEN_LINKED_COMPLAINT, OPEN_LINKED_EMERGENCY
from caseflow.store.cases import Draft, reserve_case
from caseflow.store.intake import complaint_start, emergency_start

Started = TypeVar("Started", ComplaintStart, EmergencyStart)
MATTER_ROOM = 3000  # of the 4000 characters of a complaint's matter, for the customer's words


class CaseOpening:
    def __init__(self, sessions: sessionmaker[Session], book: PolicyBook) -> None:
        self.sessions = sessions
        self.book = book

    @activity.defn(name=OPEN_LINKED_COMPLAINT)
    def open_linked_complaint(self, request: LinkedComplaintRequest) -> ComplaintStart:
        """Reserve the complaint's number and build its input (pinned to today's policy)."""
        origin = request.origin
        score = f"满意度 satisfaction {origin.satisfaction}/5" if origin.satisfaction else ""
        said = origin.comment or "客户要求投诉 the customer asked to complain"

        def body() -> ComplaintCreate:
            return ComplaintCreate(
                complainant_name=request.complainant_name[:200],
                complainant_contact=request.complainant_contact[:200],
                channel=ComplaintChannel.callback, hospital_id=request.hospital_id,
                matter=f"维修回访不满意 dissatisfied with {origin.kind} {origin.case_id} "
                       f"({score}): {said[:MATTER_ROOM]}",
                related_case_id=origin.case_id, equipment_serial=request.equipment_serial)

        def start(session: Session, case_id: str, now: datetime, today: date) -> ComplaintStart:
            return complaint_start(session, case_id=case_id, body=body(), book=self.book,
                                   now=now, today=today, opened_by=request.opened_by,
                                   origin=origin)

        return self._reserve("complaint", "callback-complaint", origin.case_id,
                             lambda: Draft(hospital_id=request.hospital_id,
                                           equipment_serial=request.equipment_serial,
                                           title=body().matter), start)

    @activity.defn(name=OPEN_LINKED_EMERGENCY)
    def open_linked_emergency(self, request: LinkedEmergencyRequest) -> EmergencyStart:
        """Reserve the emergency's number, keyed by the repair (so one repair opens one
        emergency however often this is retried) and build its input."""

        def body() -> EmergencyCreate:
            return EmergencyCreate(
                hospital_id=request.hospital_id, equipment_serial=request.equipment_serial,
                trigger=EmergencyTrigger.patient_safety,
                impact=f"维修分级为危急 repair {request.repair_case_id} classified critical: "
                       f"{request.impact[:MATTER_ROOM]}",
                department=request.department[:200], location=request.location[:4000],
                reporter_name=request.reporter_name[:200],
                reporter_phone=request.reporter_phone, related_case_id=request.repair_case_id)

        def start(session: Session, case_id: str, now: datetime, today: date) -> EmergencyStart:
            return emergency_start(session, case_id=case_id, body=body(), book=self.book,
                                   now=now, opened_by=request.opened_by)

        return self._reserve("emergency", "critical-emergency", request.repair_case_id,
                             lambda: Draft(hospital_id=request.hospital_id,
                                           equipment_serial=request.equipment_serial,
                                           title=body().impact), start)

    def _reserve(self, kind: str, key: str, origin_id: str, draft: Callable[[], Draft],
                 start: Callable[[Session, str, datetime, date], Started]) -> Started:
        """The case `kind` opened from case `origin_id`: its number reserved once, keyed by the
        origin alone (the origin checked its hospital and unit at intake, and a retry finds the
        same number even if the wording changed since), and its workflow input.

        What cannot succeed on a retry (bad data) is raised as non-retryable, so the origin
        records it at once instead of retrying forever.
        """
        try:
            now = datetime.now(timezone.utc)
            today = now.astimezone(ZoneInfo(self.book.defaults.timezone)).date()
            with self.sessions.begin() as session:
                row, _ = reserve_case(
                    session, kind=kind, created_by=f"case:{origin_id}"[:64], key=key,
                    request_hash=hashlib.sha256(origin_id.encode()).hexdigest(),
                    draft=draft(), now=now, local_day=today)
                assert row.case_id is not None
                return start(session, row.case_id, now, today)
        except (DomainError, ValidationError) as error:
            raise ApplicationError(str(error), type=type(error).__name__,
                                   non_retryable=True) from None
