"""Opening a case from another case: the complaint a dissatisfied repair callback asks for.

Idempotent: the reservation is keyed by the origin case, so a retried activity returns the
same complaint number.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity
from temporalio.exceptions import ApplicationError

from caseflow.domain.complaint import ComplaintCreate, ComplaintStart, LinkedComplaintRequest
from caseflow.domain.enums import ComplaintChannel
from caseflow.domain.errors import DomainError
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import OPEN_LINKED_COMPLAINT
from caseflow.store.cases import Draft, reserve_case
from caseflow.store.intake import complaint_start

MATTER_ROOM = 3000  # of the 4000 characters of a complaint's matter, for the customer's words


class CaseOpening:
    def __init__(self, sessions: sessionmaker[Session], book: PolicyBook) -> None:
        self.sessions = sessions
        self.book = book

    @activity.defn(name=OPEN_LINKED_COMPLAINT)
    def open_linked_complaint(self, request: LinkedComplaintRequest) -> ComplaintStart:
        """Reserve the complaint's number and build its input (pinned to today's policy).

        What cannot succeed on a retry (bad data) is raised as non-retryable, so the repair
        records it at once instead of retrying forever.
        """
        try:
            return self._open(request)
        except (DomainError, ValidationError) as error:
            raise ApplicationError(str(error), type=type(error).__name__,
                                   non_retryable=True) from None

    def _open(self, request: LinkedComplaintRequest) -> ComplaintStart:
        origin = request.origin
        score = f"满意度 satisfaction {origin.satisfaction}/5" if origin.satisfaction else ""
        said = origin.comment or "客户要求投诉 the customer asked to complain"
        body = ComplaintCreate(
            complainant_name=request.complainant_name[:200],
            complainant_contact=request.complainant_contact[:200],
            channel=ComplaintChannel.callback, hospital_id=request.hospital_id,
            matter=f"维修回访不满意 dissatisfied with {origin.kind} {origin.case_id} ({score}): "
                   f"{said[:MATTER_ROOM]}",
            related_case_id=origin.case_id, equipment_serial=request.equipment_serial)
        now = datetime.now(timezone.utc)
        today = now.astimezone(ZoneInfo(self.book.defaults.timezone)).date()
        # The repair checked its hospital and unit at intake; the reservation is keyed by the
        # repair alone, so a retry finds it even if the wording of the matter changed since.
        draft = Draft(hospital_id=request.hospital_id, equipment_serial=request.equipment_serial,
                      title=body.matter)
        with self.sessions.begin() as session:
            row, _ = reserve_case(
                session, kind="complaint", created_by=f"case:{origin.case_id}"[:64],
                key="callback-complaint",
                request_hash=hashlib.sha256(origin.case_id.encode()).hexdigest(),
                draft=draft, now=now, local_day=today)
            assert row.case_id is not None
            return complaint_start(session, case_id=row.case_id, body=body, book=self.book,
                                   now=now, today=today, opened_by=request.opened_by,
                                   origin=origin)
