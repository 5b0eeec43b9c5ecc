"""An uptime guarantee's standing: the downtime budget of a unit in the current period, what is
used of it, and when each rung of the ladder is due (docs/reports.md "Uptime guarantees").

The budget is (100% - guaranteed %) of the hours the contract covers in the period. The
warning (to the service manager) is due once the repairs open now, running at their weight until
their restore deadlines, would use it up, or once the ladder's `warning_at` share of it is used;
level N once `at` times the budget is used (1.0: the guarantee is broken), the open repairs
running on at their weight. Each rung fires once per unit and period, in the guard workflow
(workflows/uptime.py). Pure: `as_of` is given.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from caseflow.domain.policy import Ladder
from caseflow.domain.reliability import (
    Period,
    RepairFact,
    Rules,
    UnitInfo,
    VisitFact,
    covered_window,
    unit_spans,
)
from caseflow.domain.reliability_policy import Guarantee
from caseflow.domain.uptime import Span, crossing, downtime

WARNING = 0
FAR = datetime(9000, 1, 1, tzinfo=UTC)


class RungTime(BaseModel):
    level: int  # 0: the warning; 1, 2, 3: the ladder's levels (1 = the guarantee is broken)
    notify: str  # the role told
    share: float  # of the budget used when it is due (the warning: its threshold share)
    at: datetime | None  # due (past) or due at the current rate (future); None: not foreseen


class UnitStanding(BaseModel):
    serial: str
    hospital_id: str
    period: str
    period_from: datetime
    period_to: datetime
    percent: float
    covered_hours: float  # of the whole period
    budget_hours: float
    used_hours: float
    remaining_hours: float
    rate: float  # how down the unit is now (0: up, 1: fully down)
    projected_hours: float  # used, plus the open repairs until their restore deadlines
    exhausts_at: datetime | None  # when the budget runs out at the current rate
    open_cases: list[str]
    broken: bool
    rungs: list[RungTime]


class ContractStanding(BaseModel):
    """What the guard of one contract reads at each look (the activity's answer)."""

    contract_code: str
    hospital_id: str
    guarantee: Guarantee | None  # None: the contract guarantees nothing now (the guard ends)
    period: str | None = None
    period_from: datetime | None = None
    period_to: datetime | None = None
    as_of: datetime
    units: list[UnitStanding] = []


def _hours(value: timedelta) -> float:
    return round(value.total_seconds() / 3600, 4)


def unit_standing(unit: UnitInfo, repairs: list[RepairFact], visits: list[VisitFact],
                  rules: Rules, guarantee: Guarantee, ladder: Ladder, period: Period,
                  as_of: datetime) -> UnitStanding:
    calendar = rules.calendar
    start, end = covered_window(unit, period.start, period.end, FAR)
    down, excluded = unit_spans(repairs, visits, rules)
    covered = downtime([], calendar, start, end, excluded).covered
    budget = covered * (1 - guarantee.percent / 100)
    now = min(max(as_of, start), end) if end > start else start
    so_far = [Span(s.start, min(s.end, now) if s.end else now, s.weight) for s in down
              if s.start < now]
    used = downtime(so_far, calendar, start, now, excluded).down
    running = [s for s in down if s.end is None or s.end > as_of]
    rate = max((s.weight for s in running if s.start <= as_of), default=0.0)
    open_repairs = [r for r in repairs if r.down_until is None and r.counts_as_down]
    # The open repairs running until their restore deadlines (an overdue one: until now).
    foreseen, _ = unit_spans(repairs, visits, rules,
                             lambda r: max(r.restore_due_at or as_of, as_of))
    projected = downtime(foreseen, calendar, start, end, excluded).down
    rungs: list[RungTime] = []
    if budget > timedelta(0):
        warned_at = crossing(down, calendar, start, end, budget * ladder.warning_at, excluded)
        if projected >= budget and rate > 0:
            warned_at = min(warned_at or as_of, as_of)
        rungs.append(RungTime(level=WARNING, notify="manager", share=ladder.warning_at,
                              at=warned_at))
        rungs += [RungTime(level=step.level, notify=step.notify.value, share=step.at,
                           at=crossing(down, calendar, start, end, budget * step.at, excluded))
                  for step in ladder.levels]
    exhausts = crossing(down, calendar, start, end, budget, excluded) if budget else None
    return UnitStanding(
        serial=unit.serial, hospital_id=unit.hospital_id, period=period.label,
        period_from=period.start, period_to=period.end, percent=guarantee.percent,
        covered_hours=_hours(covered), budget_hours=_hours(budget), used_hours=_hours(used),
        remaining_hours=_hours(max(budget - used, timedelta(0))), rate=rate,
        projected_hours=_hours(projected), exhausts_at=exhausts,
        open_cases=[r.ref for r in open_repairs], broken=budget > timedelta(0) and used >= budget,
        rungs=rungs)


def due_rungs(standing: UnitStanding, fired: set[int], now: datetime) -> list[RungTime]:
    """The rungs due by `now` and not fired yet, each once; the warning is moot once a breach
    level is due or fired (as with every commitment's ladder)."""
    due = [r for r in standing.rungs if r.level not in fired and r.at is not None and r.at <= now]
    breach = any(r.level >= 1 for r in due) or any(level >= 1 for level in fired)
    return [r for r in due if not (r.level == WARNING and breach)]


def next_rung(standings: list[UnitStanding], fired: dict[str, set[int]],
              now: datetime) -> datetime | None:
    """The earliest rung not fired yet that is due after `now` (the guard sleeps until then)."""
    times = [r.at for s in standings for r in s.rungs
             if r.at is not None and r.at > now and r.level not in fired.get(s.serial, set())]
    return min(times, default=None)


class UptimeRung(BaseModel):
    """A fired rung of a unit's guarantee, to record and notify once (the guard's activity)."""

    guard_id: str
    contract_code: str
    hospital_id: str
    serial: str
    period: str
    level: int
    notify: str
    scheduled_at: datetime
    fired_at: datetime
    budget_hours: float
    used_hours: float
    summary: str


def rung_summary(standing: UnitStanding, rung: RungTime) -> str:
    """What the timeline and the notice say (zh-CN: one language, as every summary)."""
    used = f"已用 {standing.used_hours:.1f} 小时,共 {standing.budget_hours:.1f} 小时"
    if rung.level == WARNING:
        cases = "、".join(standing.open_cases) or "无"
        return (f"开机率预警:{standing.serial} {standing.period} "
                f"{standing.percent:g}% 保证有风险({used};在办工单:{cases})")
    if rung.level == 1:
        return (f"开机率保证未达成:{standing.serial} {standing.period} "
                f"低于 {standing.percent:g}%({used})")
    return (f"开机率保证升级第 {rung.level} 级:{standing.serial} "
            f"{standing.period} 停机已达预算的 {rung.share:g} 倍({used})")


# ----- the guard workflow's contracts (workflows/uptime.py) ------------------------------------

UPTIME_STANDING = "uptime_standing"  # activity names: the workflow calls them by name
RECORD_UPTIME_RUNG = "record_uptime_rung"


class StandingRequest(BaseModel):
    contract_code: str
    as_of: datetime
    period_start: datetime | None = None  # a period already begun (None: the one of as_of)


class GuardStart(BaseModel):
    """A contract's guard; carried over when it continues as new."""

    contract_code: str
    period: str | None = None
    period_from: datetime | None = None
    period_to: datetime | None = None
    fired: dict[str, list[int]] = {}  # serial -> levels fired in `period`


class GuardView(BaseModel):
    contract_code: str
    period: str | None
    fired: dict[str, list[int]]
    looks: int
    last_look: datetime | None
    guaranteed: bool
