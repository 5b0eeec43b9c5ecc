"""Event subscriptions in the database: registering, the fan-out of a recorded case event into
deliveries, claiming a due delivery, recording how it went, and listing them."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from caseflow.domain.enums import Role
from caseflow.domain.records import Actor
from caseflow.domain.subscriptions import DeliveryStatus, EventMessage, SubscriptionCreate, wants
from caseflow.store.models import CaseEventRow, Subscription, SubscriptionDelivery


def fan_out(session: Session, *rows: Any) -> int:
    """Owe the just-added case events (rows with `id`, `case_id`, `event`: ORM rows or those
    an INSERT returned) to every active subscription that wants them; call in the transaction
    that writes the events, so an event and its deliveries exist together or not at all.
    Returns how many deliveries were written."""
    session.flush()  # rows added through the ORM get their ids
    now = datetime.now(timezone.utc)
    subscriptions = session.execute(select(Subscription.id, Subscription.events).where(
        Subscription.active.is_(True))).all()
    owed = [dict(subscription_id=subscription.id, case_event_id=row.id, case_id=row.case_id,
                 event=row.event, status="pending", attempts=0, created_at=now, queued_at=now,
                 next_attempt_at=now, last_error="")
            for row in rows for subscription in subscriptions
            if wants(subscription.events, row.event)]
    if owed:
        session.execute(insert(SubscriptionDelivery.__table__), owed)
    return len(owed)


def event_message(row: CaseEventRow) -> EventMessage:
    """The case event as deliveries carry it: only what the event row holds, so a re-fetch
    later is the same message."""
    return EventMessage(id=row.id, case_id=row.case_id, seq=row.seq, event=row.event, at=row.at,
                        actor=Actor(id=row.actor_id, name=row.actor_name,
                                    role=Role(row.actor_role) if row.actor_role else None),
                        summary=row.summary, data=row.data)


def case_event(session: Session, event_id: int) -> CaseEventRow | None:
    return session.get(CaseEventRow, event_id)


# ----- registering ------------------------------------------------------------------------------

def register(session: Session, *, body: SubscriptionCreate, by: str,
             now: datetime) -> Subscription:
    subscription = Subscription(name=body.name, url=str(body.url),
                                secret=body.secret.get_secret_value(), events=body.events,
                                active=True, created_at=now, created_by=by)
    session.add(subscription)
    session.flush()
    return subscription


def subscription(session: Session, subscription_id: int) -> Subscription | None:
    return session.get(Subscription, subscription_id)


def subscriptions(session: Session) -> list[Subscription]:
    return list(session.scalars(select(Subscription).order_by(Subscription.id)))


def deactivate(session: Session, found: Subscription, *, now: datetime) -> None:
    """Stop sending to it. Its deliveries stay for the record; those still pending end failed."""
    if not found.active:
        return
    found.active, found.deactivated_at = False, now
    session.execute(update(SubscriptionDelivery).where(
        SubscriptionDelivery.subscription_id == found.id,
        SubscriptionDelivery.status == "pending").values(
        status="failed", next_attempt_at=None, last_error="subscription deactivated"))


# ----- deliveries -------------------------------------------------------------------------------

def deliveries(session: Session, *, subscription_id: int, status: DeliveryStatus | None,
               before: int | None, limit: int) -> list[SubscriptionDelivery]:
    """Newest first; `before` is the cursor (a delivery id)."""
    query = select(SubscriptionDelivery).where(
        SubscriptionDelivery.subscription_id == subscription_id)
    if status is not None:
        query = query.where(SubscriptionDelivery.status == status)
    if before is not None:
        query = query.where(SubscriptionDelivery.id < before)
    return list(session.scalars(query.order_by(SubscriptionDelivery.id.desc()).limit(limit)))


def delivery(session: Session, subscription_id: int, delivery_id: int,
             *, lock: bool = False) -> SubscriptionDelivery | None:
    query = select(SubscriptionDelivery).where(
        SubscriptionDelivery.id == delivery_id,
        SubscriptionDelivery.subscription_id == subscription_id)
    return session.scalar(query.with_for_update() if lock else query)


def requeue(found: SubscriptionDelivery, *, now: datetime) -> None:
    """Send a sent or failed delivery again, as if new: attempts and the give-up clock restart."""
    found.status, found.attempts, found.queued_at, found.next_attempt_at = "pending", 0, now, now
    found.sent_at, found.response_status, found.last_error = None, None, ""


def claim_due(session: Session, *, now: datetime, hold: timedelta, skip: Collection[int] = (),
              ) -> tuple[SubscriptionDelivery, Subscription, CaseEventRow] | None:
    """Take the longest-due pending delivery of an active subscription for `hold`: its due time
    moves past the hold, so no other deliverer takes it meanwhile (on PostgreSQL the row is
    also skipped while locked). The compare-and-set on the due time makes the claim safe on
    SQLite too, where there is no SKIP LOCKED. Subscriptions in `skip` are passed over."""
    for _ in range(10):
        query = (select(SubscriptionDelivery, Subscription, CaseEventRow)
                 .join(Subscription, Subscription.id == SubscriptionDelivery.subscription_id)
                 .join(CaseEventRow, CaseEventRow.id == SubscriptionDelivery.case_event_id)
                 .where(SubscriptionDelivery.status == "pending",
                        SubscriptionDelivery.next_attempt_at <= now,
                        Subscription.active.is_(True), Subscription.id.not_in(skip))
                 .order_by(SubscriptionDelivery.next_attempt_at, SubscriptionDelivery.id)
                 .limit(1))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True, of=SubscriptionDelivery)
        found = session.execute(query).first()
        if found is None:
            return None
        owed, subscription, row = found
        taken = session.execute(
            update(SubscriptionDelivery)
            .where(SubscriptionDelivery.id == owed.id, SubscriptionDelivery.status == "pending",
                   SubscriptionDelivery.next_attempt_at <= now)
            .values(next_attempt_at=now + hold)
            .execution_options(synchronize_session=False))
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return owed, subscription, row
        session.expire(owed)  # another deliverer was quicker: look again
    return None
