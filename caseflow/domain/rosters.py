"""On-call rosters: who answers an emergency at each level of the chain, from when to when.

Level 1 is paged first; when nobody acknowledges, the next level, and so on (DOMAIN.md
section 4). A roster replaces one period of one scope (hospital and modality, "*" for all);
it is refused if two shifts of a level overlap, or if a level is left uncovered for part of
the period, unless gaps are explicitly allowed.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from caseflow.domain.cases import Name, Payload, Zoned
from caseflow.domain.errors import InvalidPayload
from caseflow.domain.records import Actor

ANY_MODALITY = "*"


class ShiftIn(Payload):
    level: int = Field(ge=1, le=9, description="1 = paged first, then up the chain")
    person_id: Name
    starts_at: Zoned
    ends_at: Zoned


class RosterPut(Payload):
    """Replaces every shift of the scope between starts_at and ends_at."""

    starts_at: Zoned
    ends_at: Zoned
    allow_gaps: bool = Field(default=False, description="accept hours with nobody on a level")
    shifts: list[ShiftIn] = Field(max_length=5000)


class Shift(BaseModel):
    level: int
    person_id: str
    person_name: str
    starts_at: datetime
    ends_at: datetime


class Roster(BaseModel):
    hospital_id: str
    modality: str
    shifts: list[Shift]
    on_call_now: list[Shift] = Field(description="the chain at this moment, level by level")


def check_roster(roster: RosterPut) -> None:
    """Refuse a roster that leaves shifts outside its period, overlapping or (unless allowed)
    with gaps; the error names the shift and says why."""
    if roster.ends_at <= roster.starts_at:
        raise InvalidPayload("must be after starts_at", field="ends_at")
    for index, shift in enumerate(roster.shifts):
        if shift.ends_at <= shift.starts_at:
            raise InvalidPayload("must be after starts_at", field=f"shifts.{index}.ends_at")
        if shift.starts_at < roster.starts_at or shift.ends_at > roster.ends_at:
            raise InvalidPayload("lies outside the roster's period", field=f"shifts.{index}")
    levels = {s.level for s in roster.shifts}
    if not roster.allow_gaps:
        missing = [n for n in range(1, max(levels, default=0) + 1) if n not in levels] or (
            [] if levels else [1])
        if missing:
            raise InvalidPayload(f"level {missing[0]} has nobody on call at all; the chain "
                                 "needs every level from 1 up (or allow_gaps)", field="shifts")
    for level in sorted(levels):
        ordered = sorted((s.starts_at, s.ends_at, i) for i, s in enumerate(roster.shifts)
                         if s.level == level)
        covered_until = roster.starts_at
        for (start, end, index), previous in zip(ordered, [None, *ordered], strict=False):
            if previous is not None and start < previous[1]:
                raise InvalidPayload(f"overlaps shift {previous[2]} on level {level}",
                                     field=f"shifts.{index}.starts_at")
            if start > covered_until and not roster.allow_gaps:
                raise InvalidPayload(f"level {level} has nobody on call from "
                                     f"{covered_until.isoformat()} to {start.isoformat()}",
                                     field="shifts")
            covered_until = max(covered_until, end)
        if covered_until < roster.ends_at and not roster.allow_gaps:
            raise InvalidPayload(f"level {level} has nobody on call from "
                                 f"{covered_until.isoformat()} to {roster.ends_at.isoformat()}",
                                 field="shifts")


class OnCallQuery(BaseModel):
    """Who to page for an emergency on this unit, now (the on_call_chain activity)."""

    hospital_id: str
    modality: str
    at: datetime


class OnCallLevel(BaseModel):
    """One level of the chain: the people paged together at that level."""

    level: int
    people: list[Actor]
    source: str = Field(description="'roster', or 'directory' when no roster covers the moment")
