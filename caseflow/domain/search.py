"""Finding cases: the filters a list takes, its sort orders, and the opaque cursor of a page."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from caseflow.domain.cases import Zoned, with_zone
from caseflow.domain.enums import (
    Severity,
)
from caseflow.domain.errors import InvalidPayload
from caseflow.domain.kinds import KINDS


def _plain(value: str) -> str:
    """Filter values become literals of a Temporal visibility query: no quotes or backslashes."""
    if any(c in value for c in "'\"\\`") or any(ord(c) < 32 for c in value):
        raise ValueError("must not contain quotes, backslashes or control characters")
    return value


def _kind(name: str) -> str:
    return KINDS.known(name)


def _status(name: str) -> str:
    known = sorted({s for found in KINDS.statuses().values() for s in found})
    if name not in known:
        raise ValueError(f"unknown status {name!r}; one of: {', '.join(known)}")
    return name


# A kind of the registry, and a status of any kind (`void`: a number issued whose case never
# started); both checked when a request comes, so a kind registered later is known.
KindName = Annotated[str, StringConstraints(max_length=40), AfterValidator(_kind)]
StatusName = Annotated[str, StringConstraints(max_length=60), AfterValidator(_status)]
SeverityName = Literal[tuple(s.value for s in Severity)]  # type: ignore[valid-type]

Keyword = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
                    AfterValidator(_plain)]


class CaseSort(StrEnum):
    """Sort orders of a case list; a leading '-' is newest / latest first."""

    newest = "-opened_at"
    oldest = "opened_at"
    due_first = "next_due_at"
    due_last = "-next_due_at"
    recently_changed = "-updated_at"
    least_recently_changed = "updated_at"

    @property
    def column(self) -> str:
        return self.value.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


class CaseFilter(BaseModel):
    """What a case list is narrowed to; every filter given must hold (AND)."""

    kind: KindName | None = None
    status: StatusName | None = Field(default=None, description="a status of the kind (any "
                                      "kind's without `kind`); `void`: numbers issued whose "
                                      "case never started (listed only when asked for)")
    severity: SeverityName | None = None
    hospital_id: Keyword | None = None
    equipment_serial: Keyword | None = None
    assignee_id: Keyword | None = None
    breached: bool | None = None
    opened_from: Zoned | None = Field(default=None, description="opened at or after (with zone)")
    opened_to: Zoned | None = Field(default=None, description="opened before (with zone)")
    due_before: Zoned | None = Field(
        default=None, description="open cases with a commitment due before this (with zone)")
    q: Keyword | None = Field(default=None, description="any text of the case: its number, "
                              "the caller's name or phone, words of the symptom or of a step "
                              "(a substring; Chinese as typed)")
    open: bool | None = Field(default=None, description="true: cases not closed yet; false: "
                              "closed ones")

    def check(self) -> CaseFilter:
        """The rules between filters (422 naming the second one)."""
        if self.opened_from and self.opened_to and self.opened_from >= self.opened_to:
            raise InvalidPayload("must be after opened_from", field="query.opened_to")
        statuses = KINDS[self.kind].status_names() if self.kind else ()
        if self.kind and self.status and self.status not in statuses:
            raise InvalidPayload(f"not a status of a {self.kind}; one of "
                                 f"{', '.join(statuses)}", field="query.status")
        return self

    @property
    def columns(self) -> dict[str, Any]:
        """The filters that compare one column of the case row with a value."""
        return {name: getattr(self, name) for name in (
            "kind", "status", "severity", "hospital_id", "equipment_serial", "assignee_id",
            "breached") if getattr(self, name) is not None}


class Cursor(BaseModel):
    """Where the next page starts: after the row `seq` whose sort value is `value`.

    Sent to clients as opaque base64 text, with the sort it belongs to, so a cursor of one
    order is refused with another.
    """

    sort: CaseSort
    value: str | None  # the sort column of the last row, ISO text; None when that was empty
    seq: int = Field(ge=1, le=2**31 - 1)  # the row number (a 32-bit column)

    def encode(self) -> str:
        raw = json.dumps([self.sort.value, self.value, self.seq], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, sort: CaseSort) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            sort_value, value, seq = json.loads(raw)
            found = cls(sort=sort_value, value=value, seq=seq)
            if value is not None:
                with_zone(datetime.fromisoformat(value))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise InvalidPayload("not a cursor this list gave", field="query.cursor") from None
        if found.sort != sort:
            raise InvalidPayload(f"this cursor belongs to sort={found.sort.value}; pass the same "
                                 "sort with it", field="query.cursor")
        return found

    @property
    def at(self) -> datetime | None:
        return datetime.fromisoformat(self.value) if self.value is not None else None
