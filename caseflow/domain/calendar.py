"""Working-time arithmetic on a pinned calendar: add working time, measure it between instants.

A calendar is either always open (7x24) or open on working days between two local times. The
holidays and the adjusted weekend working days are resolved when the policy is pinned to a case
(domain/policy_loader.py), so the arithmetic here is pure and safe inside workflow code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from types import MappingProxyType
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")
_MAX_DAYS_SCANNED = 3 * 366
# The serialization context of every Temporal payload of caseflow (caseflow/temporal.py).
IN_HISTORY: Mapping[str, bool] = MappingProxyType({"in_history": True})


class LeanInHistory(BaseModel):
    """A model that a workflow's history holds many of (the commitments and calendars of a
    pinned policy, in every case's start event): in a Temporal payload it leaves out the fields
    at their defaults, which reading it back fills in again. Anywhere else (the API, the
    database) it is whole.

    So the defaults of these models are part of every history written since: never change one
    (a new meaning is a new field). tests/test_lean_payloads.py holds them."""

    # No return annotation: pydantic would take it for the model's serialization schema.
    @model_serializer(mode="wrap")
    def _lean_in_history(self, handler: SerializerFunctionWrapHandler,
                         info: SerializationInfo):
        data = handler(self)
        if not (info.context and info.context.get("in_history")) or not isinstance(data, dict):
            return data
        for name, field in type(self).model_fields.items():
            if (name in data and not field.is_required() and field.default_factory is None
                    and getattr(self, name) == field.default):
                del data[name]
        return data


class Duration(BaseModel):
    """An amount of time on a calendar: `7d` is seven working days, `30m` thirty working minutes.

    On a 7x24 calendar a day is 24 hours; on a business calendar a day is one working day (its
    opening hours), so "7 days of business time" lands seven working days later at the same time.
    """

    model_config = ConfigDict(frozen=True)

    days: int = Field(default=0, ge=0)
    seconds: int = Field(default=0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        if isinstance(value, str):
            match = _DURATION.match(value)
            if not match or not any(match.groups()):
                raise ValueError(f"{value!r} is not a duration like '30m', '1h30m', '7d'")
            d, h, m, s = (int(g) if g else 0 for g in match.groups())
            return {"days": d, "seconds": h * 3600 + m * 60 + s}
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"seconds": int(value)}
        return value

    @model_validator(mode="after")
    def _not_zero(self) -> Duration:
        if self.days == 0 and self.seconds == 0:
            raise ValueError("a duration must be longer than zero")
        return self

    @model_serializer
    def _text(self) -> str:
        return str(self)

    def __str__(self) -> str:
        hours, rest = divmod(self.seconds, 3600)
        minutes, secs = divmod(rest, 60)
        parts = [(self.days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
        return "".join(f"{n}{unit}" for n, unit in parts if n) or "0s"


class WorkingCalendar(LeanInHistory):
    """A calendar pinned to a case: opening hours, time zone and explicit days off / on."""

    model_config = ConfigDict(frozen=True)

    name: str
    timezone: str = "Asia/Shanghai"
    always_open: bool = False
    workdays: tuple[int, ...] = (0, 1, 2, 3, 4)  # Monday = 0
    opens: time = time(8, 0)
    closes: time = time(17, 30)
    holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()

    @model_validator(mode="after")
    def _hours_in_order(self) -> WorkingCalendar:
        if not self.always_open and self.closes <= self.opens:
            raise ValueError("closes must be later than opens")
        return self

    @cached_property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @cached_property
    def _days_off(self) -> frozenset[date]:
        return frozenset(self.holidays)

    @cached_property
    def _days_on(self) -> frozenset[date]:
        return frozenset(self.extra_workdays)

    @property
    def day_length(self) -> timedelta:
        if self.always_open:
            return timedelta(days=1)
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def working_time(self, duration: Duration) -> timedelta:
        """The amount of working time a duration stands for on this calendar."""
        return self.day_length * duration.days + timedelta(seconds=duration.seconds)

    def is_working_day(self, day: date) -> bool:
        if day in self._days_on:
            return True
        if day in self._days_off:
            return False
        return day.weekday() in self.workdays

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self._tz)

    def end_of_day(self, instant: datetime) -> datetime:
        """23:59:59 local on the day of `instant` (the "same day" of a callback)."""
        local = self.local(instant)
        return datetime.combine(local.date(), time(23, 59, 59), self._tz).astimezone(UTC)

    def _open_interval(self, day: date) -> tuple[datetime, datetime] | None:
        if not self.is_working_day(day):
            return None
        return (datetime.combine(day, self.opens, self._tz),
                datetime.combine(day, self.closes, self._tz))

    def is_open(self, instant: datetime) -> bool:
        """Whether `instant` falls in working time."""
        if self.always_open:
            return True
        interval = self._open_interval(self.local(instant).date())
        return interval is not None and interval[0] <= self.local(instant) < interval[1]

    def next_open(self, instant: datetime) -> datetime:
        """`instant` itself if it is working time, else when working time next begins."""
        if self.is_open(instant):
            return instant
        day = self.local(instant).date()
        for _ in range(_MAX_DAYS_SCANNED):
            interval = self._open_interval(day)
            if interval is not None and interval[0] > self.local(instant):
                return interval[0].astimezone(UTC)
            day += timedelta(days=1)
        raise ValueError(f"calendar {self.name!r} has no working time in {_MAX_DAYS_SCANNED} days")

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant when `amount` of working time has passed since `start`."""
        if amount <= timedelta(0):
            return start
        if self.always_open:
            return start + amount
        cursor = self.local(start)
        day = cursor.date()
        remaining = amount
        for _ in range(_MAX_DAYS_SCANNED):
            interval = self._open_interval(day)
            if interval is not None:
                begin = max(cursor, interval[0])
                if begin < interval[1]:
                    available = interval[1] - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(UTC)
                    remaining -= available
            day += timedelta(days=1)
            cursor = datetime.combine(day, time(0), self._tz)
        raise ValueError(f"calendar {self.name!r} has no working time in {_MAX_DAYS_SCANNED} days")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Working time in [start, end); zero if end is not after start."""
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        begin, finish = self.local(start), self.local(end)
        day = begin.date()
        while day <= finish.date():
            interval = self._open_interval(day)
            if interval is not None:
                lo, hi = max(begin, interval[0]), min(finish, interval[1])
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total
