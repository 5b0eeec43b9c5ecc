"""Downtime arithmetic: weighted down spans of a unit measured on the hours its contract covers.

A unit is down, at any moment, by the largest weight of the spans open at that moment (two
repairs at once do not take it down twice); spans of planned downtime that the contract leaves
out are taken out of both the covered hours and the downtime. Everything is measured with a
`WorkingCalendar` (7x24, or working hours with holidays), so "downtime" means covered time.
Pure: it is given every instant, it reads no clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from caseflow.domain.calendar import WorkingCalendar

ZERO = timedelta(0)


@dataclass(frozen=True)
class Span:
    """[start, end) at a weight; `end` None: still open (runs to whatever horizon is asked)."""

    start: datetime
    end: datetime | None
    weight: float = 1.0

    def covers(self, begin: datetime, finish: datetime) -> bool:
        return self.start <= begin and (self.end is None or self.end >= finish)


@dataclass(frozen=True)
class Downtime:
    covered: timedelta  # covered hours in the window, excluded spans left out
    down: timedelta  # weighted downtime within them

    @property
    def up(self) -> timedelta:
        return self.covered - self.down

    @property
    def uptime_percent(self) -> float | None:
        if self.covered <= ZERO:
            return None
        return 100.0 * self.up.total_seconds() / self.covered.total_seconds()


def _slices(spans: list[Span], excluded: list[Span], lower: datetime,
            upper: datetime) -> Iterator[tuple[datetime, datetime, float, bool]]:
    """Elementary pieces of [lower, upper) on which the weight and the exclusion are constant:
    (start, end, weight, excluded)."""
    points = {lower, upper}
    for span in (*spans, *excluded):
        for point in (span.start, span.end):
            if point is not None and lower < point < upper:
                points.add(point)
    ordered = sorted(points)
    for begin, finish in zip(ordered, ordered[1:], strict=False):
        weight = max((s.weight for s in spans if s.covers(begin, finish)), default=0.0)
        out = any(s.covers(begin, finish) for s in excluded)
        yield begin, finish, weight, out


def downtime(spans: Iterable[Span], calendar: WorkingCalendar, lower: datetime,
             upper: datetime, excluded: Iterable[Span] = ()) -> Downtime:
    """Covered hours and weighted downtime in [lower, upper)."""
    if upper <= lower:
        return Downtime(ZERO, ZERO)
    covered, down = ZERO, ZERO
    for begin, finish, weight, out in _slices(list(spans), list(excluded), lower, upper):
        if out:
            continue
        working = calendar.between(begin, finish)
        covered += working
        if weight > 0:
            down += working * weight
    return Downtime(covered, down)


def crossing(spans: Iterable[Span], calendar: WorkingCalendar, lower: datetime,
             horizon: datetime, amount: timedelta,
             excluded: Iterable[Span] = ()) -> datetime | None:
    """The instant the weighted downtime counted from `lower` reaches `amount`, if it does
    before `horizon`; open spans run on at their weight ("at the current rate")."""
    if amount <= ZERO:
        return lower
    total = ZERO
    for begin, finish, weight, out in _slices(list(spans), list(excluded), lower, horizon):
        if out or weight <= 0:
            continue
        working = calendar.between(begin, finish)
        if total + working * weight >= amount:
            return calendar.add(begin, (amount - total) / weight)
        total += working * weight
    return None


def cut(start: datetime, end: datetime | None, holes: Iterable[tuple[datetime, datetime | None]],
        weight: float) -> list[Span]:
    """[start, end) at `weight` with the holes (pauses) taken out."""
    pieces: list[Span] = []
    cursor: datetime | None = start
    for hole_start, hole_end in sorted(holes, key=lambda h: h[0]):
        if cursor is None:
            break
        if end is not None and hole_start >= end:
            break
        if hole_end is not None and hole_end <= cursor:
            continue
        if hole_start > cursor:
            pieces.append(Span(cursor, hole_start, weight))
        cursor = None if hole_end is None else max(cursor, hole_end)
    if cursor is not None and (end is None or cursor < end):
        pieces.append(Span(cursor, end, weight))
    return pieces
