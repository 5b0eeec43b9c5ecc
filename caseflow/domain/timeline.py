"""A case's timeline as readers see it: one entry per step, deadline, notification and seal."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

TimelineSource = Literal["case", "notification", "attachment", "seal"]


class TimelineEntry(BaseModel):
    id: str = Field(description="stable across reads: `case-<seq>`, `notification-<id>-queued` "
                                "(or `-sent`, `-failed`), `attachment-<id>`, `seal-<position>`")
    source: TimelineSource = Field(
        description="case: a step or deadline the workflow recorded; notification: a message "
                    "of the outbox and its delivery; attachment: a file uploaded to the case "
                    "(its SHA-256 in data); seal: the record's fingerprint")
    seq: int | None = Field(description="the event's number on the case (case entries)")
    at: datetime
    event: str
    actor: dict[str, Any]
    summary: str
    data: dict[str, Any]
