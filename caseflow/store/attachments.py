"""A case's files (photos, signed forms): their bytes are kept with the case, in the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.store.models import Attachment


def add(session: Session, row: Attachment) -> Attachment:
    """Keep the file; its row with its id."""
    session.add(row)
    session.flush()
    return row


def of_case(session: Session, case_id: str) -> list[Attachment]:
    """The case's files, oldest first."""
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case_id)
                                .order_by(Attachment.id)))


def one(session: Session, case_id: str, attachment_id: int) -> Attachment | None:
    return session.scalar(select(Attachment).where(Attachment.id == attachment_id,
                                                   Attachment.case_id == case_id))
