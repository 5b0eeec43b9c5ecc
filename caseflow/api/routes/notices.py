"""The console's live pages and each person's notices: GET /v1/live (server-sent events of what
the database records), GET /v1/notices (their inbox) and POST /v1/notices/read."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sse_starlette.sse import EventSourceResponse

from caseflow.api import live
from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import SessionDep, in_thread
from caseflow.domain.access import Capability, may
from caseflow.domain.cases import Payload
from caseflow.domain.errors import InvalidPayload
from caseflow.store import live as records
from caseflow.store.models import Notification

router = APIRouter(prefix="/v1", tags=["live"])
Self = Annotated[Principal, allowed(Capability.read_self)]


@router.get("/live", response_class=EventSourceResponse, responses={200: {
    "description": "text/event-stream: `case` (a case event: its code, data and the case's "
                   "kind, status, hospital, assignee), `notice` (a notification to you), "
                   "`ready` (caught up); each event's id is `<case event>.<notification>`",
    "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
async def live_feed(
    request: Request, principal: Self, session: SessionDep,
    last_event_id: Annotated[str | None, Header(
        alias="Last-Event-ID", max_length=40,
        description="the id of the last event received: what came after it is sent first")]
    = None,
    follow: Annotated[bool, Query(description="false: send what came after Last-Event-ID, "
                                              "then `ready`, and end")] = True,
) -> EventSourceResponse:
    """What happens on the cases you may read, and the notifications sent to you, as it is
    recorded (server-sent events; within a second or so in every API process)."""
    since = live.parse_position(last_event_id)
    if last_event_id and since is None:
        raise InvalidPayload("not an event id this feed gave", field="header.Last-Event-ID")
    viewer = live.Viewer(person_id=principal.id, scope=principal.scope,
                         notified=await in_thread(session, records.notified_cases, principal.id),
                         reads_cases=may(principal.role, Capability.read_cases),
                         role=principal.role)
    feed: live.LiveFeed = request.app.state.live

    async def events() -> Any:
        async for item in live.stream(feed, viewer, since):
            if item["event"] == "ready" and not follow:
                yield {**item, "data": "{}"}
                return
            yield {**item, "data": json.dumps(item["data"], ensure_ascii=False, default=str)}

    return EventSourceResponse(events(), ping=15, headers={"Cache-Control": "no-store"})


class Notice(BaseModel):
    id: int
    case_id: str
    urgent: bool
    created_at: datetime
    read_at: datetime | None
    event: str | None = Field(description="the case event that caused it (page, assign, "
                              "escalation...): word it from `event` and `data`")
    data: dict[str, Any]
    template: str | None = Field(description="the message's template code, when it was "
                                 "written as one (its values in `params`)")
    params: dict[str, Any]
    subject: str = Field(description="the message as it was written for the outbox")


class Inbox(BaseModel):
    unread: int
    items: list[Notice]
    next_before: int | None = Field(description="pass as `before` for older notices")


@router.get("/notices", response_model=Inbox)
def inbox(
    principal: Self, session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Inbox:
    """Your notifications, newest first, and how many are unread."""
    items = records.notifications(session, person_id=principal.id, before=before,
                                  limit=limit + 1, newest_first=True)
    unread = session.scalar(select(func.count()).select_from(Notification).where(
        Notification.person_id == principal.id, Notification.read_at.is_(None))) or 0
    page = items[:limit]
    return Inbox(unread=unread, items=[Notice.model_validate(i) for i in page],
                 next_before=page[-1]["id"] if len(items) > limit else None)


class MarkRead(Payload):
    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, max_length=500, description="these notices")
    up_to: int | None = Field(default=None, ge=1, le=2**31 - 1,
                              description="every notice up to this id")


class Marked(BaseModel):
    marked: int
    unread: int


@router.post("/notices/read", response_model=Marked)
def mark_read(principal: Self, session: SessionDep, body: MarkRead) -> Marked:
    """Mark your notices read: `ids`, or all `up_to` an id (the newest you saw)."""
    if body.ids is None and body.up_to is None:
        raise InvalidPayload("give ids or up_to", field="ids")

    now = datetime.now(timezone.utc)
    with session.begin():
        query = update(Notification).where(Notification.person_id == principal.id,
                                           Notification.read_at.is_(None))
        query = query.where(Notification.id.in_(body.ids)) if body.ids is not None \
            else query.where(Notification.id <= (body.up_to or 0))
        marked = session.execute(query.values(read_at=now)).rowcount or 0  # type: ignore[attr-defined]
        unread = session.scalar(select(func.count()).select_from(Notification).where(
            Notification.person_id == principal.id, Notification.read_at.is_(None))) or 0
    return Marked(marked=marked, unread=unread)
