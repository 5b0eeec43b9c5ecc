"""Working-time arithmetic: 7x24 and business calendars, durations, the local end of day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from caseflow.domain.calendar import Duration, WorkingCalendar
from caseflow.domain.policy_loader import load_policy

SHANGHAI = ZoneInfo("Asia/Shanghai")
WORKING_DAY = timedelta(hours=9, minutes=30)  # 08:00-17:30


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant given as Asia/Shanghai wall-clock time."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def business() -> WorkingCalendar:
    """The default policy's business calendar, pinned as a case opened in September 2026 gets it."""
    return load_policy().pin(None, datetime(2026, 9, 1, tzinfo=UTC)).calendar("business")


@pytest.fixture(scope="module")
def always() -> WorkingCalendar:
    return load_policy().pin(None, datetime(2026, 9, 1, tzinfo=UTC)).calendar("7x24")


# ----- durations ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "days", "seconds"), [
    ("30m", 0, 1800), ("1h", 0, 3600), ("1h30m", 0, 5400), ("7d", 7, 0), ("1d2h", 1, 7200),
    ("45s", 0, 45), (" 2h 15m ", 0, 8100),
])
def test_duration_text_parses_into_days_and_seconds(text, days, seconds):
    duration = Duration.model_validate(text)
    assert (duration.days, duration.seconds) == (days, seconds)


def test_duration_prints_back_as_its_text():
    assert str(Duration.model_validate("1d2h30m")) == "1d2h30m"
    assert Duration.model_validate("90m").model_dump() == "1h30m"


@pytest.mark.parametrize("text", ["1 hour", "30", "h", "", "-5m", "0m"])
def test_duration_rejects_text_that_is_not_a_positive_duration(text):
    with pytest.raises(ValidationError):
        Duration.model_validate(text)


# ----- 7x24 --------------------------------------------------------------------------------------

def test_always_open_calendar_adds_plain_elapsed_time(always):
    start = local(2026, 10, 1, 23, 50)  # a holiday, near midnight: nothing is skipped
    assert always.add(start, timedelta(minutes=30)) == local(2026, 10, 2, 0, 20)
    assert always.working_time(Duration.model_validate("7d")) == timedelta(days=7)
    assert always.add(start, always.working_time(Duration.model_validate("7d"))) == \
        local(2026, 10, 8, 23, 50)


def test_always_open_calendar_measures_plain_elapsed_time(always):
    start = local(2026, 10, 3, 12)
    assert always.between(start, start + timedelta(hours=30)) == timedelta(hours=30)
    assert always.between(start, start) == timedelta(0)
    assert always.between(start, start - timedelta(hours=1)) == timedelta(0)


# ----- business hours ----------------------------------------------------------------------------

def test_business_calendar_is_pinned_with_chinese_holidays_and_adjusted_workdays(business):
    assert business.timezone == "Asia/Shanghai"
    assert business.day_length == WORKING_DAY
    for holiday in (date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5), date(2026, 10, 6),
                    date(2026, 10, 7)):
        assert not business.is_working_day(holiday), holiday
    assert business.is_working_day(date(2026, 10, 10))  # Saturday, adjusted working day
    assert business.is_working_day(date(2026, 9, 20))  # Sunday, adjusted working day
    assert not business.is_working_day(date(2026, 10, 11))  # an ordinary Sunday
    assert business.is_working_day(date(2026, 10, 8))


def test_business_time_skips_the_night(business):
    # Monday 17:00 plus one working hour: 30 minutes today, 30 minutes tomorrow morning.
    assert business.add(local(2026, 9, 7, 17), timedelta(hours=1)) == local(2026, 9, 8, 8, 30)


def test_business_time_before_opening_starts_at_opening(business):
    assert business.add(local(2026, 9, 7, 6), timedelta(hours=1)) == local(2026, 9, 7, 9)


def test_business_time_ending_exactly_at_closing_stays_on_that_day(business):
    assert business.add(local(2026, 9, 7, 8), WORKING_DAY) == local(2026, 9, 7, 17, 30)


def test_business_time_skips_the_weekend(business):
    # Friday 2026-09-11 17:00 -> Monday 2026-09-14 08:30.
    assert business.add(local(2026, 9, 11, 17), timedelta(hours=1)) == local(2026, 9, 14, 8, 30)
    assert business.add(local(2026, 9, 12, 10), timedelta(hours=1)) == local(2026, 9, 14, 9)


def test_business_time_skips_national_day_holiday(business):
    # Wednesday 2026-09-30 17:00: 1-7 October are off (incl. the weekend), Thursday 8th is on.
    assert business.add(local(2026, 9, 30, 17), timedelta(hours=1)) == local(2026, 10, 8, 8, 30)
    assert business.between(local(2026, 9, 30, 17), local(2026, 10, 8, 8, 30)) == \
        timedelta(hours=1)


def test_business_time_honours_an_adjusted_weekend_working_day(business):
    # Friday 2026-10-09 17:00 -> Saturday 2026-10-10 is a working day.
    assert business.add(local(2026, 10, 9, 17), timedelta(hours=1)) == local(2026, 10, 10, 8, 30)
    # Saturday 2026-09-19 is off, Sunday 2026-09-20 is a working day.
    assert business.add(local(2026, 9, 18, 17), timedelta(hours=1)) == local(2026, 9, 20, 8, 30)
    assert business.between(local(2026, 10, 10, 8), local(2026, 10, 11, 23)) == WORKING_DAY


def test_seven_business_days_land_seven_working_days_later_at_the_same_time(business):
    seven_days = business.working_time(Duration.model_validate("7d"))
    assert seven_days == 7 * WORKING_DAY
    # An ordinary week: Tue 1 Sep 10:00 -> Thu 10 Sep 10:00 (2,3,4,7,8,9,10).
    assert business.add(local(2026, 9, 1, 10), seven_days) == local(2026, 9, 10, 10)
    # Across National Day: Tue 29 Sep 10:00 -> 30 Sep, 8, 9, 10 (Sat, on), 12, 13, 14 Oct.
    assert business.add(local(2026, 9, 29, 10), seven_days) == local(2026, 10, 14, 10)


@pytest.mark.parametrize("start", [
    local(2026, 9, 29, 10), local(2026, 9, 30, 17, 15), local(2026, 10, 3, 12),
    local(2026, 10, 9, 20), local(2026, 9, 7, 5),
])
def test_business_between_measures_what_add_added(business, start):
    for amount in (timedelta(minutes=30), timedelta(hours=9), 3 * WORKING_DAY):
        end = business.add(start, amount)
        assert business.between(start, end) == amount
        assert business.is_working_day(business.local(end).date())


def test_business_between_counts_only_opening_hours(business):
    # Friday 12:00 to Monday 12:00: 5h30 on Friday, 4h on Monday.
    assert business.between(local(2026, 9, 11, 12), local(2026, 9, 14, 12)) == \
        timedelta(hours=9, minutes=30)
    assert business.between(local(2026, 9, 14, 12), local(2026, 9, 11, 12)) == timedelta(0)


# ----- local end of day --------------------------------------------------------------------------

def test_end_of_day_is_235959_in_shanghai_not_utc(always):
    # 15:00 UTC is 23:00 in Shanghai: the same local day ends one hour later.
    afternoon = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)
    assert always.end_of_day(afternoon) == datetime(2026, 11, 22, 15, 59, 59, tzinfo=UTC)
    # 17:00 UTC is already 01:00 next day in Shanghai: its day ends the next UTC afternoon.
    after_midnight = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    assert always.end_of_day(after_midnight) == datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC)
    assert always.end_of_day(after_midnight).astimezone(SHANGHAI).time().isoformat() == "23:59:59"


def test_policy_local_calendar_uses_the_policy_time_zone():
    pinned = load_policy().pin(None, datetime(2026, 9, 1, tzinfo=UTC))
    assert pinned.local_calendar.timezone == "Asia/Shanghai"
    assert pinned.local_calendar.end_of_day(local(2026, 9, 1, 8)) == local(2026, 9, 1, 23, 59) + \
        timedelta(seconds=59)
