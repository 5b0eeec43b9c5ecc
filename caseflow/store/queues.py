"""The hotline's work queues: open cases with one of its commitments still to keep, ordered by
that commitment's due time (the commitments as the case page shows them, in the projection)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from caseflow.domain.access import CaseScope
from caseflow.store.models import Case
from caseflow.store.search import case_query, visible


@dataclass(frozen=True)
class Queue:
    commitments: frozenset[str]  # the commitment keys it holds
    statuses: frozenset[str]  # the statuses a case can have while one is open (the index)


QUEUES: dict[str, Queue] = {
    # The hotline confirms the engineer received the case (1 h after assignment).
    "handover": Queue(frozenset({"handover"}), frozenset({
        "assigned", "acknowledged", "on_site", "site_reported", "work_approved",
        "awaiting_quotation", "awaiting_quote_decision", "repairing"})),
    # The customer confirms the repair (or the visit); the hotline chases.
    "confirmation": Queue(frozenset({"customer_confirmation", "confirmation"}),
                          frozenset({"awaiting_confirmation", "done"})),
    # The closed-loop call: a repair's or complaint's callback, an emergency's survey.
    "callback": Queue(frozenset({"callback", "survey"}), frozenset({"awaiting_callback",
                                                                   "checked"})),
}

PENDING = ("open", "breached", "paused")


def queue(session: Session, name: str, scope: CaseScope,
          limit: int) -> list[tuple[Case, dict[str, Any]]]:
    """The queue's cases with the commitment that puts each there, soonest due first."""
    spec = QUEUES[name]
    query = visible(case_query({}), scope).where(Case.closed_at.is_(None),
                                                  Case.status.in_(spec.statuses))
    found = []
    for row in session.scalars(query.order_by(Case.next_due_at, Case.seq).limit(5000)):
        pending = [c for c in row.commitments or [] if c.get("key") in spec.commitments
                   and c.get("state") in PENDING]
        if pending:
            first = min(pending, key=lambda c: c.get("due_at") or "9999")
            found.append((row, first))
    found.sort(key=lambda item: (_due(item[1]), item[0].seq))
    return found[:limit]


def _due(commitment: dict[str, Any]) -> datetime:
    value = commitment.get("due_at")
    return datetime.fromisoformat(value) if value else datetime.max.replace(
        tzinfo=datetime.now().astimezone().tzinfo)
