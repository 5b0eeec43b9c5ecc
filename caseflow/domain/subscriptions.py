"""Event subscriptions for outside tools: what an admin registers, what a delivery carries, and
how it is signed (docs/api.md "Event subscriptions", docs/operations.md)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, HttpUrl, SecretStr, StringConstraints

from caseflow.domain.cases import Name, Payload
from caseflow.domain.records import Actor

ALL_EVENTS = "*"
EVENT_NAME = r"^([a-z][a-z0-9-]{0,63}|\*)$"

DeliveryStatus = Literal["pending", "sent", "failed"]
EventName = Annotated[str, StringConstraints(pattern=EVENT_NAME)]


def _long_enough(secret: SecretStr) -> SecretStr:
    if not 16 <= len(secret.get_secret_value()) <= 200:
        raise ValueError("must be 16 to 200 characters (a long random string)")
    return secret


def _storable(url: HttpUrl) -> HttpUrl:
    if len(str(url)) > 1000:
        raise ValueError("must be at most 1000 characters")
    if url.username or url.password:
        raise ValueError("must not carry a user name or password (it would be shown to every "
                         "admin); receivers check the signature instead")
    return url


# A SecretStr, so it cannot slip into a log line or a response by a repr or a dump.
Secret = Annotated[SecretStr, AfterValidator(_long_enough)]


def _one_each(events: list[str]) -> list[str]:
    """Each name once, in the order given; "*" stands for all of them."""
    return [ALL_EVENTS] if ALL_EVENTS in events else list(dict.fromkeys(events))


class SubscriptionCreate(Payload):
    """An outside tool's webhook. The secret signs every delivery and is never shown again."""

    name: Name
    url: Annotated[HttpUrl, AfterValidator(_storable),
                   Field(description="http or https; receives a POST per event")]
    secret: Annotated[Secret, Field(description="at least 16 characters; signs deliveries")]
    events: Annotated[list[EventName], AfterValidator(_one_each), Field(
        min_length=1, max_length=100,
        description='case event names (assign, escalation, ...) or ["*"] for every one')]


class SubscriptionPublic(BaseModel):
    """A subscription as the API shows it: everything except the secret."""

    id: int
    name: str
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    created_by: str
    deactivated_at: datetime | None = None


class DeliveryPublic(BaseModel):
    """One case event owed to one subscription, and how its delivery went."""

    id: int
    subscription_id: int
    event_id: int = Field(description="the case event; GET /v1/events/{event_id} re-fetches it")
    case_id: str
    event: str
    status: DeliveryStatus
    attempts: int
    last_error: str
    response_status: int | None = None
    next_attempt_at: datetime | None = Field(default=None, description="while pending")
    created_at: datetime
    sent_at: datetime | None = None


class DeliveryList(BaseModel):
    items: list[DeliveryPublic]
    next_before: int | None = None


class EventMessage(BaseModel):
    """One case event as a delivery carries it (and GET /v1/events/{id} returns it)."""

    id: int = Field(description="the event's id: the same in every delivery of it")
    case_id: str
    seq: int = Field(description="its place on the case's timeline")
    event: str
    at: datetime
    actor: Actor
    summary: str
    data: dict[str, Any]


def wants(events: list[str], event: str) -> bool:
    """Whether a subscription to `events` gets `event`."""
    return ALL_EVENTS in events or event in events


def encode(message: EventMessage) -> bytes:
    """The body of a delivery: compact JSON, UTF-8, Chinese text as is (not \\u escapes)."""
    return json.dumps(message.model_dump(mode="json"), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Caseflow-Signature value: HMAC-SHA256 of the secret over "<timestamp>.<body>"."""
    digest = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body,
                      hashlib.sha256).hexdigest()
    return f"sha256={digest}"
