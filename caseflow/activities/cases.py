"""Opening a case from another case: the complaint a dissatisfied repair callback asks for.

Idempotent: the reservation is keyed by the origin case, so a retried activity returns the
same complaint number.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from caseflow.domain.complaint import ComplaintCreate, ComplaintStart, LinkedComplaintRequest
from caseflow.domain.enums import ComplaintChannel
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.records import OPEN_LINKED_COMPLAINT
from caseflow.store.cases import reserve_case
from caseflow.store.intake import complaint_draft, complaint_start


class CaseOpening:
    def __init__(self, sessions: sessionmaker[Session], book: PolicyBook) -> None:
        self.sessions = sessions
        self.book = book

    @activity.defn(name=OPEN_LINKED_COMPLAINT)
    def open_linked_complaint(self, request: LinkedComplaintRequest) -> ComplaintStart:
        """Reserve the complaint's number and build its input (pinned to today's policy)."""
        origin = request.origin
        score = f"满意度 satisfaction {origin.satisfaction}/5" if origin.satisfaction else ""
        body = ComplaintCreate(
            complainant_name=request.complainant_name,
            complainant_contact=request.complainant_contact, channel=ComplaintChannel.callback,
            hospital_id=request.hospital_id,
            matter=f"维修回访不满意 dissatisfied with {origin.kind} {origin.case_id} ({score}): "
                   f"{origin.comment or '客户要求投诉 the customer asked to complain'}",
            related_case_id=origin.case_id, equipment_serial=request.equipment_serial)
        now = datetime.now(timezone.utc)
        today = now.astimezone(ZoneInfo(self.book.defaults.timezone)).date()
        with self.sessions.begin() as session:
            row, _ = reserve_case(
                session, kind="complaint", created_by=f"case:{origin.case_id}"[:64],
                key="callback-complaint",
                request_hash=hashlib.sha256(body.model_dump_json().encode()).hexdigest(),
                draft=complaint_draft(session, body), now=now, local_day=today)
            assert row.case_id is not None
            return complaint_start(session, case_id=row.case_id, body=body, book=self.book,
                                   now=now, today=today, opened_by=request.opened_by,
                                   origin=origin)
