"""A case's timeline: the events its workflow recorded merged, in time order, with the database
records that follow from them (each notification and its delivery, the history's seal)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.timeline import TimelineEntry
from caseflow.store.models import Attachment, CaseEventRow, CaseSeal, Notification, Person

SOURCES = ("case", "notification", "attachment", "seal")
SYSTEM = {"id": "system", "name": "caseflow", "role": None}


def case_timeline(session: Session, case_id: str,
                  sources: tuple[str, ...] = SOURCES) -> list[dict[str, Any]]:
    """Entries (source, seq, at, event, actor, summary, data) in time order; at the same
    instant a case event comes before what it caused."""
    entries: list[dict[str, Any]] = []
    if "case" in sources:
        entries += [_case_entry(row) for row in session.scalars(
            select(CaseEventRow).where(CaseEventRow.case_id == case_id)
            .order_by(CaseEventRow.seq))]
    if "notification" in sources:
        for message, person in session.execute(
                select(Notification, Person).outerjoin(Person, Person.id == Notification.person_id)
                .where(Notification.case_id == case_id).order_by(Notification.id)):
            entries += _notification_entries(message, person)
    if "attachment" in sources:
        entries += [_attachment_entry(row) for row in session.scalars(
            select(Attachment).where(Attachment.case_id == case_id).order_by(Attachment.id))]
    if "seal" in sources:
        seal = session.scalar(select(CaseSeal).where(CaseSeal.case_id == case_id))
        if seal is not None:
            entries.append(_seal_entry(seal))
    order = {name: index for index, name in enumerate(SOURCES)}
    return sorted(entries, key=lambda e: (e["at"], order[e["source"]], e["seq"] or 0))


def entries(session: Session, case_id: str,
            sources: tuple[str, ...] = SOURCES) -> list[TimelineEntry]:
    """The timeline as the API, the export and the seal give it."""
    return [TimelineEntry.model_validate(entry)
            for entry in case_timeline(session, case_id, sources)]


def _case_entry(row: CaseEventRow) -> dict[str, Any]:
    return {"id": f"case-{row.seq}", "source": "case", "seq": row.seq, "at": row.at,
            "event": row.event,
            "actor": {"id": row.actor_id, "name": row.actor_name, "role": row.actor_role},
            "summary": row.summary, "data": row.data}


def _notification_entries(message: Notification, person: Person | None) -> list[dict[str, Any]]:
    """The message as queued, and, once delivered, its delivery (or that it was given up)."""
    name = person.name if person else message.person_id
    data = {"notification_id": message.id, "to": {"id": message.person_id, "name": name},
            "subject": message.subject, "urgent": message.urgent, "status": message.status,
            "channels": list(message.delivered or []), "attempts": message.attempts}
    queued = {"id": f"notification-{message.id}-queued", "source": "notification", "seq": None,
              "at": message.created_at, "event": "notification-queued", "actor": SYSTEM,
              "summary": f"{'urgent ' if message.urgent else ''}message to {name}: "
                         f"{message.subject}", "data": data}
    if message.status == "sent" and message.sent_at is not None:
        channels = ", ".join(message.delivered or []) or "-"
        return [queued, {**queued, "id": f"notification-{message.id}-sent",
                         "at": message.sent_at, "event": "notification-sent",
                         "summary": f"delivered to {name} by {channels}"}]
    if message.status == "failed":  # the error itself (it may name a robot's key) is not shown
        return [queued, {**queued, "id": f"notification-{message.id}-failed",
                         "at": _last(message), "event": "notification-failed",
                         "summary": f"not delivered to {name} after {message.attempts} "
                                    f"attempt{'' if message.attempts == 1 else 's'}"}]
    return [queued]


def _last(message: Notification) -> datetime:
    return message.not_before or message.sent_at or message.created_at


def _attachment_entry(row: Attachment) -> dict[str, Any]:
    return {"id": f"attachment-{row.id}", "source": "attachment", "seq": None,
            "at": row.uploaded_at, "event": "attachment",
            "actor": {"id": row.uploaded_by_id, "name": row.uploaded_by_name,
                      "role": row.uploaded_by_role},
            "summary": f"attached {row.name} ({row.size} bytes, SHA-256 {row.sha256})",
            "data": {"attachment_id": row.id, "name": row.name, "content_type": row.content_type,
                     "size": row.size, "sha256": row.sha256}}


def _seal_entry(seal: CaseSeal) -> dict[str, Any]:
    whole = seal.scheme >= 2 and seal.record_sha256
    sealed = seal.record_sha256 if whole else seal.history_sha256
    return {"id": f"seal-{seal.position}", "source": "seal", "seq": None, "at": seal.sealed_at,
            "event": "sealed", "actor": SYSTEM,
            "summary": f"{'record' if whole else 'history'} sealed as link {seal.position} of "
                       f"the chain (SHA-256 {(sealed or '')[:16]}...)",
            "data": {"position": seal.position, "scheme": seal.scheme,
                     "record_sha256": seal.record_sha256, "history_sha256": seal.history_sha256,
                     "chain_hash": seal.chain_hash, "run_id": seal.run_id}}
