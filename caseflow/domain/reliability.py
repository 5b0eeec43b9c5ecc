"""Reliability figures of units, models, brands, hospitals and engineers (docs/reports.md).

The facts come from the cases themselves (their timeline events, read by store/reliability.py)
and from imported history: a `RepairFact` per repair or emergency, a `VisitFact` per preventive
maintenance visit. From them: uptime over the covered hours, MTBF, MTTR, first-time fix rate,
repeat repairs, preventive-maintenance compliance, parts replaced and satisfaction. Every
figure comes from a `Tally` of sums, so a model's or a hospital's figure is the sums of its
units, never an average of percentages. Pure: `now` and every period are given.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from caseflow.domain.calendar import WorkingCalendar
from caseflow.domain.reliability_policy import ReliabilityPolicy, wall_clock
from caseflow.domain.uptime import Span, cut, downtime

Source = Literal["caseflow", "imported"]


class PartUsed(BaseModel):
    part_no: str
    name: str = ""
    quantity: int = 1


class Hold(BaseModel):
    """A pause of the case's clock (waiting on the customer): not the vendor's downtime."""

    start: datetime
    end: datetime | None = None


class RepairFact(BaseModel):
    """What one repair (or emergency) tells about its unit."""

    ref: str  # the case id, or an imported record's reference
    source: Source = "caseflow"
    kind: Literal["repair", "emergency"] = "repair"
    serial: str
    severity: str | None = None
    fault_category: str | None = None
    fault: str = ""
    observed_at: datetime  # the fault observed (else the intake): the unit down from here
    opened_at: datetime
    restored_at: datetime | None = None  # the last restore (a dispute reopens it)
    ended_at: datetime | None = None  # ended without a restore (quotation declined, stood down)
    holds: list[Hold] = []
    disputed: bool = False
    parts: list[PartUsed] = []
    engineer_id: str | None = None
    engineer_name: str | None = None
    satisfaction: int | None = None
    counts_as_failure: bool = True  # False: an emergency opened from a repair (one fault)
    counts_as_down: bool = True  # False: an emergency stood down (declared in error)
    restore_due_at: datetime | None = None  # while open: its restore commitment's due time

    @property
    def down_until(self) -> datetime | None:
        return self.restored_at or self.ended_at

    def spans(self, weights: dict[str, float]) -> list[Span]:
        """Its down spans at its severity's weight, pauses taken out."""
        if not self.counts_as_down:
            return []
        # Not classified yet: no weight (the severity, once given, counts from the start).
        weight = weights.get(self.severity or "", 0.0)
        start = min(self.observed_at, self.opened_at)
        return cut(start, self.down_until, [(h.start, h.end) for h in self.holds], weight)

    def repair_time_spans(self) -> list[Span]:
        """Unweighted, pauses out: the time to repair (MTTR)."""
        start = min(self.observed_at, self.opened_at)
        return cut(start, self.down_until, [(h.start, h.end) for h in self.holds], 1.0)


class VisitFact(BaseModel):
    """One preventive-maintenance visit of a unit."""

    ref: str
    source: Source = "caseflow"
    serial: str
    due_on: date
    due_at: datetime | None  # the end of its window (the visit commitment), None: unknown
    done_at: datetime | None = None
    cancelled: bool = False
    engineer_id: str | None = None
    engineer_name: str | None = None
    planned_from: datetime | None = None  # its planned downtime
    planned_to: datetime | None = None


class UnitInfo(BaseModel):
    serial: str
    hospital_id: str
    hospital_name: str = ""
    modality: str = ""
    brand: str = ""
    model: str = ""
    department: str = ""
    contract_code: str | None = None
    covered_from: datetime | None = None  # in service / contract start
    covered_until: datetime | None = None  # decommissioned / contract end


class Tally(BaseModel):
    """Sums that figures are made of; add tallies to get a group's figures."""

    units: int = 0
    covered_seconds: float = 0.0
    down_seconds: float = 0.0
    failures: int = 0
    restored: int = 0
    repair_seconds: float = 0.0
    first_time_fixes: int = 0
    repeat_repairs: int = 0
    pm_planned: int = 0
    pm_done: int = 0
    pm_on_time: int = 0
    pm_pending: int = 0  # planned, not done, its window still open
    parts_replaced: int = 0
    satisfaction_sum: int = 0
    satisfaction_answers: int = 0

    def __add__(self, other: Tally) -> Tally:
        return Tally(**{name: getattr(self, name) + getattr(other, name)
                        for name in Tally.model_fields})


class Figures(BaseModel):
    """The figures hospitals compare (docs/reports.md gives each formula)."""

    units: int
    covered_hours: float
    downtime_hours: float
    uptime_percent: float | None  # None: no covered hours in the period
    failures: int
    mtbf_hours: float | None  # None: no failure
    restored: int
    mttr_hours: float | None
    first_time_fix_percent: float | None
    repeat_repairs: int
    pm_planned: int
    pm_done: int
    pm_on_time: int
    pm_compliance_percent: float | None
    parts_replaced: int
    satisfaction: float | None
    satisfaction_answers: int


def _ratio(part: float, whole: float, scale: float = 100.0, digits: int = 2) -> float | None:
    return round(scale * part / whole, digits) if whole > 0 else None


def figures(tally: Tally) -> Figures:
    up = tally.covered_seconds - tally.down_seconds
    decided = tally.pm_planned - tally.pm_pending
    return Figures(
        units=tally.units,
        covered_hours=round(tally.covered_seconds / 3600, 2),
        downtime_hours=round(tally.down_seconds / 3600, 2),
        uptime_percent=_ratio(up, tally.covered_seconds),
        failures=tally.failures,
        mtbf_hours=(round(up / 3600 / tally.failures, 2)
                    if tally.failures and tally.covered_seconds > 0 else None),
        restored=tally.restored,
        mttr_hours=_ratio(tally.repair_seconds, tally.restored, 1 / 3600),
        first_time_fix_percent=_ratio(tally.first_time_fixes, tally.restored, digits=1),
        repeat_repairs=tally.repeat_repairs,
        pm_planned=tally.pm_planned, pm_done=tally.pm_done, pm_on_time=tally.pm_on_time,
        pm_compliance_percent=_ratio(tally.pm_on_time, decided, digits=1),
        parts_replaced=tally.parts_replaced,
        satisfaction=_ratio(tally.satisfaction_sum, tally.satisfaction_answers, 1.0),
        satisfaction_answers=tally.satisfaction_answers)


class Rules(BaseModel):
    """The policy a unit is counted under, with its calendar resolved."""

    calendar: WorkingCalendar
    policy: ReliabilityPolicy
    visit_window: timedelta = timedelta(days=14)  # an imported visit's window after its due date


def unit_spans(repairs: Iterable[RepairFact], visits: Iterable[VisitFact], rules: Rules,
               open_until: Callable[[RepairFact], datetime] | None = None,
               ) -> tuple[list[Span], list[Span]]:
    """(down spans, excluded spans) of a unit; `open_until` ends the spans of repairs still
    open (else they stay open)."""
    weights = {k.value: v for k, v in rules.policy.down_weight.items()}
    down = []
    for repair in repairs:
        for span in repair.spans(weights):
            if span.end is None and open_until is not None:
                span = Span(span.start, max(open_until(repair), span.start), span.weight)
            down.append(span)
    planned = [Span(v.planned_from, v.planned_to, 1.0) for v in visits
               if v.planned_from is not None and v.planned_to is not None
               and v.planned_to > v.planned_from]
    if rules.policy.planned_downtime == "counted":
        return down + planned, []
    return down, planned


def covered_window(unit: UnitInfo, lower: datetime, upper: datetime,
                   now: datetime) -> tuple[datetime, datetime]:
    """The part of [lower, upper) the unit was covered in, up to now."""
    start = max(lower, unit.covered_from) if unit.covered_from else lower
    end = min(upper, now)
    if unit.covered_until is not None:
        end = min(end, unit.covered_until)
    return start, end


def uptime_of(unit: UnitInfo, repairs: list[RepairFact], visits: list[VisitFact], rules: Rules,
              lower: datetime, upper: datetime, now: datetime) -> Tally:
    """Covered hours and downtime of one unit in [lower, upper), up to now."""
    start, end = covered_window(unit, lower, upper, now)
    down, excluded = unit_spans(repairs, visits, rules)
    capped = [Span(s.start, s.end if s.end is not None else now, s.weight) for s in down]
    measured = downtime(capped, rules.calendar, start, end, excluded)
    return Tally(units=1, covered_seconds=measured.covered.total_seconds(),
                 down_seconds=measured.down.total_seconds())


def _in(instant: datetime | None, lower: datetime, upper: datetime) -> bool:
    return instant is not None and lower <= instant < upper


def repeats_of(repairs: list[RepairFact], window: timedelta) -> dict[str, str]:
    """Repairs that repeat an earlier one (same unit and fault category, fault observed within
    `window` of that one's restore): ref -> the repeated repair's ref."""
    found: dict[str, str] = {}
    ordered = sorted((r for r in repairs if r.kind == "repair" and r.fault_category),
                     key=lambda r: r.observed_at)
    for index, later in enumerate(ordered):
        for earlier in reversed(ordered[:index]):
            if (earlier.serial == later.serial and earlier.fault_category == later.fault_category
                    and earlier.restored_at is not None
                    and earlier.restored_at <= later.observed_at <= earlier.restored_at + window):
                found[later.ref] = earlier.ref
                break
    return found


def repair_tallies(repairs: list[RepairFact], rules: Rules, lower: datetime,
                   upper: datetime) -> tuple[Tally, dict[str | None, Tally]]:
    """Failures, repairs restored in [lower, upper) (time to repair, first-time fix, parts,
    satisfaction) and repeat repairs of one unit: for the unit, and per engineer."""
    window = wall_clock(rules.policy.repeat_within)
    repeated = repeats_of(repairs, window)
    repeated_refs = set(repeated.values())
    total = Tally()
    engineers: dict[str | None, Tally] = defaultdict(Tally)
    for repair in repairs:
        part = Tally()
        if repair.counts_as_failure and repair.counts_as_down and \
                _in(repair.observed_at, lower, upper):
            part.failures += 1
        if repair.kind == "repair":
            if repair.ref in repeated and _in(repair.observed_at, lower, upper):
                part.repeat_repairs += 1
            if _in(repair.restored_at, lower, upper):
                part.restored += 1
                part.repair_seconds += sum(
                    (rules.calendar.between(s.start, s.end) for s in repair.repair_time_spans()
                     if s.end is not None), timedelta(0)).total_seconds()
                first_time = (not repair.disputed and not repair.parts
                              and repair.ref not in repeated_refs)
                part.first_time_fixes += int(first_time)
                part.parts_replaced += sum(p.quantity for p in repair.parts)
                if repair.satisfaction is not None:
                    part.satisfaction_sum += repair.satisfaction
                    part.satisfaction_answers += 1
        total = total + part
        if repair.kind == "repair":
            engineers[repair.engineer_id] = engineers[repair.engineer_id] + part
    return total, dict(engineers)


def visit_tallies(visits: list[VisitFact], lower: datetime, upper: datetime, now: datetime,
                  zone: str) -> tuple[Tally, dict[str | None, Tally]]:
    """Preventive maintenance due in [lower, upper): planned, done, on time, still pending."""
    tz = ZoneInfo(zone)
    first, last = lower.astimezone(tz).date(), upper.astimezone(tz).date()
    total = Tally()
    engineers: dict[str | None, Tally] = defaultdict(Tally)
    for visit in visits:
        if visit.cancelled or not first <= visit.due_on < last:
            continue
        part = Tally(pm_planned=1)
        if visit.done_at is not None:
            part.pm_done = 1
            part.pm_on_time = int(visit.due_at is None or visit.done_at <= visit.due_at)
        elif visit.due_at is None or visit.due_at > now:
            part.pm_pending = 1
        total = total + part
        engineers[visit.engineer_id] = engineers[visit.engineer_id] + part
    return total, dict(engineers)


class UnitResult(BaseModel):
    unit: UnitInfo
    tally: Tally
    engineers: dict[str, Tally]  # repairs and visits per engineer ("" = nobody recorded)


def unit_result(unit: UnitInfo, repairs: list[RepairFact], visits: list[VisitFact],
                rules: Rules, lower: datetime, upper: datetime, now: datetime,
                zone: str) -> UnitResult:
    """Every figure of one unit in [lower, upper), as of `now`."""
    tally = uptime_of(unit, repairs, visits, rules, lower, upper, now)
    repaired, by_engineer = repair_tallies(repairs, rules, lower, upper)
    maintained, by_visitor = visit_tallies(visits, lower, upper, now, zone)
    engineers: dict[str, Tally] = defaultdict(Tally)
    for source in (by_engineer, by_visitor):
        for person, part in source.items():
            engineers[person or ""] = engineers[person or ""] + part
    return UnitResult(unit=unit, tally=tally + repaired + maintained, engineers=dict(engineers))


GroupBy = Literal["unit", "model", "brand", "hospital", "engineer"]


class GroupFigures(BaseModel):
    key: str  # the serial, "brand model", brand, hospital id or engineer id
    label: str
    figures: Figures


def group(results: Iterable[UnitResult], by: GroupBy,
          names: dict[str, str] | None = None) -> list[GroupFigures]:
    """Figures per unit, model, brand, hospital or engineer (engineers: their repairs and
    visits only, no uptime)."""
    tallies: dict[str, Tally] = defaultdict(Tally)
    labels: dict[str, str] = {}
    for result in results:
        unit = result.unit
        if by == "engineer":
            for person, part in result.engineers.items():
                tallies[person] = tallies[person] + part
                labels[person] = (names or {}).get(person, person or "—")
            continue
        key, label = {
            "unit": (unit.serial, f"{unit.serial} {unit.brand} {unit.model}"),
            "model": (f"{unit.brand} {unit.model}", f"{unit.brand} {unit.model}"),
            "brand": (unit.brand, unit.brand),
            "hospital": (unit.hospital_id, unit.hospital_name or unit.hospital_id),
        }[by]
        tallies[key] = tallies[key] + result.tally
        labels[key] = label
    return [GroupFigures(key=key, label=labels[key], figures=figures(tallies[key]))
            for key in sorted(tallies)]


# ----- periods ---------------------------------------------------------------------------------

Bucket = Literal["month", "quarter", "year"]


class Period(BaseModel):
    label: str  # 2026-11, 2026-Q4, 2026
    start: datetime
    end: datetime


def _local(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def period_of(instant: datetime, bucket: Bucket, zone: str) -> Period:
    """The month, quarter or year (local) `instant` falls in."""
    day = instant.astimezone(ZoneInfo(zone)).date()
    if bucket == "year":
        return Period(label=f"{day.year}", start=_local(date(day.year, 1, 1), zone),
                      end=_local(date(day.year + 1, 1, 1), zone))
    months = 3 if bucket == "quarter" else 1
    first_month = (day.month - 1) // months * months + 1
    start = date(day.year, first_month, 1)
    end_month = first_month + months
    end = date(day.year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    label = (f"{day.year}-Q{(first_month - 1) // 3 + 1}" if bucket == "quarter"
             else f"{day.year}-{first_month:02d}")
    return Period(label=label, start=_local(start, zone), end=_local(end, zone))


def periods(lower: datetime, upper: datetime, bucket: Bucket, zone: str) -> list[Period]:
    """The local months, quarters or years that [lower, upper) touches, in order."""
    found: list[Period] = []
    cursor = lower
    while cursor < upper:
        current = period_of(cursor, bucket, zone)
        found.append(current)
        cursor = current.end
    return found


# ----- what the API, the CLI and the reports answer ----------------------------------------

class FiguresReport(BaseModel):
    period_from: datetime
    period_to: datetime
    as_of: datetime
    by: GroupBy
    groups: list[GroupFigures]
    total: Figures
    empty: bool  # no covered hours, or nothing recorded in the period
    note: str | None = None


class UptimePoint(BaseModel):
    period: str
    start: datetime
    end: datetime
    covered_hours: float
    downtime_hours: float
    uptime_percent: float | None
    guarantee_percent: float | None  # the unit's guarantee, whatever its period
    met: bool | None  # uptime >= the guaranteed percent (None: no guarantee, or no data)


class UnitUptime(BaseModel):
    serial: str
    label: str
    hospital_id: str
    guarantee_period: str | None
    points: list[UptimePoint]


class UptimeReport(BaseModel):
    bucket: Bucket
    period_from: datetime
    period_to: datetime
    as_of: datetime
    units: list[UnitUptime]
    empty: bool
    note: str | None = None


def empty_note(covered_seconds: float, facts: int) -> str | None:
    """Why a report has nothing to show, if so (an empty report says so; it is not an error),
    as a code the reader's console or document words: `no_covered_hours` (the period is in the
    future, or before the unit or its contract was in service), `no_records` (no repair,
    emergency or maintenance visit recorded in it)."""
    if covered_seconds <= 0:
        return "no_covered_hours"
    if facts == 0:
        return "no_records"
    return None
