"""Uptime, MTBF, MTTR, first-time fix, repeats and maintenance compliance, worked out by hand
for a small fleet: repairs that overlap, a pause, a repair across a month boundary, and a
working-hours contract over the National Day holidays (docs/reports.md gives the formulas)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from caseflow.domain.guarantee import due_rungs, unit_standing
from caseflow.domain.policy_loader import load_policy
from caseflow.domain.reliability import (
    Hold,
    PartUsed,
    RepairFact,
    Rules,
    UnitInfo,
    VisitFact,
    figures,
    group,
    period_of,
    periods,
    unit_result,
)
from caseflow.domain.reliability_policy import Guarantee, ReliabilityPolicy
from caseflow.domain.uptime import Span, crossing, cut, downtime

SH = ZoneInfo("Asia/Shanghai")
ZONE = "Asia/Shanghai"
BOOK = load_policy()
H = timedelta(hours=1)


def at(month: int, day: int, hour: int = 0, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def rules(calendar: str = "7x24", **policy: object) -> Rules:
    pinned = BOOK.pin(None, at(1, 1))
    return Rules(calendar=pinned.calendar(calendar), policy=ReliabilityPolicy(**policy))


def repair(ref: str, severity: str, observed: datetime, restored: datetime | None, **more):
    return RepairFact(ref=ref, serial=more.pop("serial", "U"), severity=severity,
                      observed_at=observed, opened_at=observed, restored_at=restored, **more)


UNIT = UnitInfo(serial="U", hospital_id="H1", hospital_name="东湖县人民医院", brand="GE",
                model="Revolution CT", covered_from=at(1, 1, year=2025))
REPAIRS = [
    # Across the month boundary: 4 h on 30 October, 24 h on the 31st, 8 h on 1 November.
    repair("R1", "severe", at(10, 30, 20), at(11, 1, 8), engineer_id="EN-01",
           parts=[PartUsed(part_no="TUBE-MX", name="球管", quantity=2)]),
    # Two at once: the general one (half down) 09:00-21:00, the severe one 15:00-18:00.
    repair("R2", "general", at(11, 10, 9), at(11, 10, 21), disputed=True, engineer_id="EN-01"),
    repair("R3", "severe", at(11, 10, 15), at(11, 10, 18), fault_category="xray_tube",
           satisfaction=5, engineer_id="EN-02"),
    # Paused for a day waiting on the customer: down 10:00-12:00 and 12:00-16:00 the next day.
    repair("R4", "general", at(11, 20, 10), at(11, 21, 16), satisfaction=4, engineer_id="EN-02",
           holds=[Hold(start=at(11, 20, 12), end=at(11, 21, 12))]),
    # Minor: not down at all, but a failure all the same.
    repair("R5", "minor", at(11, 25, 10), at(11, 26, 10), engineer_id="EN-02"),
    # The same fault as R3 eighteen days after it was restored: a repeat repair.
    repair("R6", "severe", at(11, 28, 9), at(11, 28, 11), fault_category="xray_tube",
           satisfaction=2, engineer_id="EN-02"),
]
VISITS = [
    VisitFact(ref="V1", serial="U", due_on=date(2026, 11, 2), due_at=at(11, 16, 8),
              done_at=at(11, 5, 10), planned_from=at(11, 5, 6), planned_to=at(11, 5, 10),
              engineer_id="EN-01"),
    VisitFact(ref="V2", serial="U", due_on=date(2026, 11, 1), due_at=at(11, 15, 8),
              done_at=at(11, 16, 12), planned_from=at(11, 16, 8), planned_to=at(11, 16, 12),
              engineer_id="EN-01"),
    VisitFact(ref="V3", serial="U", due_on=date(2026, 11, 9), due_at=at(11, 23, 8),
              cancelled=True),
    VisitFact(ref="V4", serial="U", due_on=date(2026, 11, 25), due_at=at(12, 9, 8)),
]
NOW = at(12, 1)


def test_november_of_a_7x24_unit_by_hand():
    result = unit_result(UNIT, REPAIRS, VISITS, rules(), at(11, 1), at(12, 1), NOW, ZONE)
    got = figures(result.tally)
    # Covered: 720 h less the two visits' planned 4 h each (left out by the contract) = 712 h.
    assert got.covered_hours == 712.0
    # Down: R1 8 + (R2/R3: 6 h at 0.5, 3 h at 1, 3 h at 0.5 = 7.5) + R4 6 h at 0.5 + R6 2 = 20.5
    assert got.downtime_hours == 20.5
    assert got.uptime_percent == 97.12  # 691.5 / 712
    assert got.failures == 5  # R2..R6 (R1's fault was observed in October)
    assert got.mtbf_hours == 138.3  # 691.5 / 5
    # Restored in November: R1 36 h, R2 12, R3 3, R4 6 (the paused day left out), R5 24, R6 2.
    assert (got.restored, got.mttr_hours) == (6, 13.83)  # 83 / 6
    # First-time fixes: R4, R5, R6 (R1 needed parts, R2 was disputed, R3 was repeated).
    assert got.first_time_fix_percent == 50.0
    assert got.repeat_repairs == 1
    assert got.parts_replaced == 2
    assert (got.satisfaction, got.satisfaction_answers) == (3.67, 3)  # (5 + 4 + 2) / 3
    # Visits due in November: V1 on time, V2 late, V3 cancelled (not counted), V4 still due.
    assert (got.pm_planned, got.pm_done, got.pm_on_time) == (3, 2, 1)
    assert got.pm_compliance_percent == 50.0  # 1 of the 2 decided


def test_october_gets_the_repair_across_the_month_boundary():
    got = figures(unit_result(UNIT, REPAIRS, VISITS, rules(), at(10, 1), at(11, 1), NOW,
                              ZONE).tally)
    assert (got.covered_hours, got.downtime_hours) == (744.0, 28.0)
    assert got.uptime_percent == 96.24  # 716 / 744
    assert (got.failures, got.mtbf_hours) == (1, 716.0)
    assert (got.restored, got.mttr_hours, got.first_time_fix_percent) == (0, None, None)


def test_planned_downtime_counted_when_the_contract_says_so():
    got = figures(unit_result(UNIT, REPAIRS, VISITS, rules(planned_downtime="counted"),
                              at(11, 1), at(12, 1), NOW, ZONE).tally)
    assert (got.covered_hours, got.downtime_hours) == (720.0, 28.5)


def test_a_working_hours_contract_over_the_national_day_holidays():
    unit = UNIT.model_copy(update={"serial": "W"})
    fault = repair("RW", "severe", at(9, 30, 16), at(10, 8, 10), serial="W")
    business = rules("business")
    october = figures(unit_result(unit, [fault], [], business, at(10, 1), at(11, 1), NOW,
                                  ZONE).tally)
    # October 2026: 22 weekdays, 5 of them holidays (1, 2, 5, 6, 7), plus Saturday the 10th
    # worked instead: 18 days of 08:00-17:30 = 171 h. Down: 8 October 08:00-10:00.
    assert (october.covered_hours, october.downtime_hours) == (171.0, 2.0)
    assert october.uptime_percent == 98.83  # 169 / 171
    # Time to repair on the contract's hours: 30 September 16:00-17:30, then 8 October.
    assert october.mttr_hours == 3.5
    september = figures(unit_result(unit, [fault], [], business, at(9, 1), at(10, 1), NOW,
                                    ZONE).tally)
    assert september.downtime_hours == 1.5


def test_groups_add_their_sums_not_their_percentages():
    other = UNIT.model_copy(update={"serial": "U2"})
    one = unit_result(UNIT, REPAIRS, VISITS, rules(), at(11, 1), at(12, 1), NOW, ZONE)
    two = unit_result(other, [repair("X", "severe", at(11, 3), at(11, 3, 12), serial="U2")], [],
                      rules(), at(11, 1), at(12, 1), NOW, ZONE)
    (model,) = group([one, two], "model")
    assert model.key == "GE Revolution CT"
    # (691.5 + 708) / (712 + 720)
    assert (model.figures.units, model.figures.uptime_percent) == (2, 97.73)
    assert model.figures.failures == 6
    engineers = {g.key: g.figures for g in group([one], "engineer")}
    assert engineers["EN-01"].restored == 2 and engineers["EN-02"].restored == 4
    assert engineers["EN-01"].pm_done == 2 and engineers["EN-02"].uptime_percent is None


def test_crossing_finds_when_the_downtime_reaches_an_amount():
    weights = {"critical": 1.0, "severe": 1.0, "general": 0.5, "minor": 0.0}
    spans = [s for r in REPAIRS for s in r.spans(weights)]
    calendar = rules().calendar
    # 8 h of R1 on 1 November, then 2 h more at half weight from 09:00 on the 10th: 13:00.
    assert crossing(spans, calendar, at(11, 1), at(12, 1), 10 * H) == at(11, 10, 13)
    assert crossing(spans, calendar, at(11, 1), at(12, 1), 100 * H) is None
    open_ended = [Span(at(11, 1), None, 0.5)]
    assert crossing(open_ended, calendar, at(11, 1), at(12, 1), 6 * H) == at(11, 1, 12)
    assert downtime(open_ended, calendar, at(11, 1), at(11, 2)).down == 12 * H


def test_cut_takes_holes_out_of_a_span():
    pieces = cut(at(1, 1), at(1, 3), [(at(1, 1, 6), at(1, 1, 12)), (at(1, 2, 20), None)], 1.0)
    assert [(p.start, p.end) for p in pieces] == [(at(1, 1), at(1, 1, 6)),
                                                  (at(1, 1, 12), at(1, 2, 20))]


def test_periods_are_local_months_quarters_and_years():
    assert [p.label for p in periods(at(11, 15), at(2, 1, year=2027), "month", ZONE)] == [
        "2026-11", "2026-12", "2027-01"]
    quarter = period_of(at(12, 31, 23), "quarter", ZONE)
    assert (quarter.label, quarter.start, quarter.end) == ("2026-Q4", at(10, 1),
                                                           at(1, 1, year=2027))
    assert period_of(at(1, 1), "year", ZONE).label == "2026"


def test_a_guarantee_warns_when_the_open_repairs_would_use_the_budget_up():
    """95% of November (720 h): a budget of 36 h. R1 used 8 h; a severe repair opened on the
    15th with a 24 h restore deadline would use 24 h more, still inside: the warning waits for
    75% of the budget. One with 40 h to its deadline would pass it: warned at once."""
    ladder = BOOK.defaults.ladder
    guarantee = Guarantee(percent=95, period="month")
    month = period_of(at(11, 15), "month", ZONE)
    base = [REPAIRS[0]]
    first = repair("O1", "severe", at(11, 15, 8), None, restore_due_at=at(11, 16, 8))
    standing = unit_standing(UNIT, [*base, first], [], rules(), guarantee, ladder, month,
                             at(11, 15, 9))
    assert (standing.budget_hours, standing.used_hours, standing.rate) == (36.0, 9.0, 1.0)
    assert standing.projected_hours == 32.0  # 8 + 24
    warning = next(r for r in standing.rungs if r.level == 0)
    assert warning.at == at(11, 16, 3)  # 75% = 27 h: 8 + 19 h of O1
    breach = next(r for r in standing.rungs if r.level == 1)
    assert breach.at == at(11, 16, 12) and standing.exhausts_at == breach.at  # 8 + 28 = 36
    assert due_rungs(standing, set(), at(11, 15, 9)) == []

    later = repair("O2", "severe", at(11, 15, 8), None, restore_due_at=at(11, 17, 0))
    standing = unit_standing(UNIT, [*base, later], [], rules(), guarantee, ladder, month,
                             at(11, 15, 9))
    assert standing.projected_hours == 48.0  # 8 + 40 h to its deadline
    assert [r.level for r in due_rungs(standing, set(), at(11, 15, 9))] == [0]
    # Past the breach the warning is moot; each level is due once.
    at_level_2 = at(11, 17, 6)  # 8 + 46 h = 54 h, 150% of 36
    assert [r.level for r in due_rungs(standing, set(), at_level_2)] == [1, 2]
    assert [r.level for r in due_rungs(standing, {0, 1}, at_level_2)] == [2]


def test_a_repair_closed_as_self_resolved_is_down_only_until_its_close():
    """A fault whose alarms cleared by themselves, closed by the supervisor as self-resolved:
    its unit is down from the alarm to the close, not to the end of the period."""
    from caseflow.domain.case_facts import FACT_EVENTS, repair_fact

    zone = ZoneInfo("Asia/Shanghai")
    opened = datetime(2026, 11, 3, 9, 0, tzinfo=zone)
    closed = opened + timedelta(hours=2)
    case = {"case_id": "RP-20261103-000001", "equipment_serial": "CT-X", "opened_at": opened,
            "severity": "severe", "title": "球管温度过高", "commitments": []}
    events = [{"event": "opened", "at": opened, "data": {"intake": {
                   "observed_at": opened.isoformat(), "symptom": "球管温度过高"}}},
              {"event": "close-self-resolved", "at": closed, "data": {"reason": "告警已自行消除"}}]
    fact = repair_fact(case, events)
    assert "close-self-resolved" in FACT_EVENTS
    assert (fact.restored_at, fact.ended_at) == (None, closed)
