"""Event subscriptions for outside tools: admins register webhooks and watch their deliveries;
receivers re-fetch any case event by id, in the shape a delivery carries."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy import select

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep
from caseflow.domain.access import Capability
from caseflow.domain.errors import InvalidTransition, NotPermitted, UnknownRecord
from caseflow.domain.kinds import KINDS
from caseflow.domain.subscriptions import (
    DeliveryList,
    DeliveryPublic,
    DeliveryStatus,
    EventMessage,
    SubscriptionCreate,
    SubscriptionPublic,
    encode,
)
from caseflow.store import subscriptions
from caseflow.store.models import Case, Subscription, SubscriptionDelivery

router = APIRouter(tags=["subscriptions"])
Admin = Annotated[Principal, allowed(Capability.manage_subscriptions)]
EventReader = Annotated[Principal, allowed(Capability.read_events)]
MAX_ID = 2**31 - 1  # ids are 32-bit integers: a larger one is bad input (422), not a 500
SubscriptionId = Annotated[int, Path(ge=1, le=MAX_ID)]
DeliveryId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _public(row: Subscription) -> SubscriptionPublic:
    return SubscriptionPublic.model_validate(row, from_attributes=True)


def _delivery(row: SubscriptionDelivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=row.id, subscription_id=row.subscription_id, event_id=row.case_event_id,
        case_id=row.case_id, event=row.event, status=row.status,  # type: ignore[arg-type]
        attempts=row.attempts, last_error=row.last_error, response_status=row.response_status,
        next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        created_at=row.created_at, sent_at=row.sent_at)


def _known(session, subscription_id: int) -> Subscription:  # type: ignore[no-untyped-def]
    found = subscriptions.subscription(session, subscription_id)
    if found is None:
        raise UnknownRecord(f"no subscription {subscription_id}")
    return found


@router.post("/v1/subscriptions", response_model=SubscriptionPublic, status_code=201)
def register(body: SubscriptionCreate, principal: Admin,
             session: SessionDep) -> SubscriptionPublic:
    """Register a webhook for case events. From now on every recorded event it wants is
    POSTed to it, signed with the secret (which is not shown again)."""
    with session.begin():
        return _public(subscriptions.register(session, body=body, by=principal.id,
                                              now=datetime.now(timezone.utc)))


@router.get("/v1/subscriptions", response_model=list[SubscriptionPublic])
def list_subscriptions(principal: Admin, session: SessionDep) -> list[SubscriptionPublic]:
    """Every subscription, active or not, oldest first."""
    return [_public(row) for row in subscriptions.subscriptions(session)]


@router.get("/v1/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
def get_subscription(subscription_id: SubscriptionId, principal: Admin,
                     session: SessionDep) -> SubscriptionPublic:
    return _public(_known(session, subscription_id))


@router.delete("/v1/subscriptions/{subscription_id}", response_model=SubscriptionPublic)
def deactivate(subscription_id: SubscriptionId, principal: Admin,
               session: SessionDep) -> SubscriptionPublic:
    """Stop sending to it. Its deliveries are kept for the record; pending ones end failed."""
    with session.begin():
        found = _known(session, subscription_id)
        subscriptions.deactivate(session, found, now=datetime.now(timezone.utc))
        return _public(found)


@router.get("/v1/subscriptions/{subscription_id}/deliveries", response_model=DeliveryList)
def list_deliveries(
    subscription_id: SubscriptionId, principal: Admin, session: SessionDep,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID,
                                        description="cursor: next_before of a page")] = None,
) -> DeliveryList:
    """The subscription's deliveries, newest first, optionally of one status; page with
    `before`."""
    _known(session, subscription_id)
    rows = subscriptions.deliveries(session, subscription_id=subscription_id,
                                    status=status, before=before, limit=limit + 1)
    page = rows[:limit]
    return DeliveryList(items=[_delivery(r) for r in page],
                        next_before=page[-1].id if len(rows) > limit else None)


@router.post("/v1/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
             response_model=DeliveryPublic)
def redeliver(subscription_id: SubscriptionId, delivery_id: DeliveryId, principal: Admin,
              session: SessionDep) -> DeliveryPublic:
    """Queue a failed (or sent) delivery again: it is sent as soon as the deliverer next looks,
    with the same X-Caseflow-Delivery id, and retried as if new."""
    with session.begin():
        found = _known(session, subscription_id)
        owed = subscriptions.delivery(session, subscription_id, delivery_id, lock=True)
        if owed is None:
            raise UnknownRecord(f"no delivery {delivery_id} of subscription "
                                f"{subscription_id}")
        if not found.active:
            raise InvalidTransition(f"subscription {subscription_id} is deactivated")
        if owed.status == "pending":
            raise InvalidTransition(f"delivery {delivery_id} is still pending; it is sent "
                                    "when due")
        subscriptions.requeue(owed, now=datetime.now(timezone.utc))
        return _delivery(owed)


@router.get("/v1/events/{event_id}", response_model=EventMessage)
def get_event(event_id: Annotated[int, Path(ge=1, le=MAX_ID)], principal: EventReader,
              session: SessionDep) -> Response:
    """One case event by id, byte for byte the body its deliveries carry (for a receiver that
    missed one)."""
    row = subscriptions.case_event(session, event_id)
    if row is None:
        raise UnknownRecord(f"no case event {event_id}")
    kind = session.scalar(select(Case.kind).where(Case.case_id == row.case_id))
    secret = KINDS[kind].confidential if kind in KINDS else None
    if secret is not None and row.event in secret.events and secret.hides_from(principal.role):
        raise NotPermitted(f"case event {event_id} is a deliberation of {row.case_id}")
    return Response(content=encode(subscriptions.event_message(row)),
                    media_type="application/json")
