"""The annual operation report (年度运行分析报告) of a hospital or a unit, and the maintenance
visit report: their data, assembled from each unit's year (computed one unit at a time, so a
large fleet is a background job with progress), and the recommendations the figures call for.

The recommendations are codes with their figures (the API speaks codes; the PDF and the console
put them in words). Pure: everything is given.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel

from caseflow.domain.patterns import Pattern
from caseflow.domain.reliability import Figures, PartUsed, Tally, UptimePoint, figures
from caseflow.domain.reliability_policy import Guarantee

LOW_SATISFACTION = 4.0  # below this mean score, a recommendation


class RepairLine(BaseModel):
    ref: str
    source: str
    kind: str
    severity: str | None
    fault_category: str | None
    fault: str
    observed_at: datetime
    restored_at: datetime | None
    downtime_hours: float  # weighted, covered hours, in the year


class UnitYear(BaseModel):
    """One unit's year: computed on its own (one part of a report job)."""

    serial: str
    modality: str
    brand: str
    model: str
    department: str
    contract_code: str | None
    guarantee: Guarantee | None
    months: list[UptimePoint]
    month_tallies: list[Tally]
    quarters: list[UptimePoint]
    tally: Tally
    faults: dict[str, int]  # fault category (or "undiagnosed") -> repairs observed in the year
    parts: list[PartUsed]
    escalations: dict[int, int]  # level -> rungs fired on the unit's cases opened in the year
    complaints: int  # complaints about the unit recorded in the year
    guarantee_alerts: int  # uptime guarantee rungs fired in the year
    repairs: list[RepairLine]


class Recommendation(BaseModel):
    code: str  # recurring_fault, fleet_pattern, repeat_repairs, overdue_maintenance,
    #            guarantee_missed, low_satisfaction, all_well
    serial: str | None = None
    params: dict[str, Any] = {}


class UnitSection(BaseModel):
    year: UnitYear
    figures: Figures


class AnnualReport(BaseModel):
    hospital_id: str
    hospital_name: str
    year: int
    serial: str | None  # a unit's own report
    period_from: datetime
    period_to: datetime
    as_of: datetime
    timezone: str
    units: list[UnitSection]
    total: Figures
    months: list[UptimePoint]  # the hospital's units together
    faults: dict[str, int]
    parts: list[PartUsed]
    escalations: dict[int, int]
    complaints: int
    patterns: list[Pattern]  # fleet-wide recurring faults touching these units this year
    recommendations: list[Recommendation]
    empty: bool
    note: str | None = None


def merge_parts(parts: list[PartUsed]) -> list[PartUsed]:
    """Parts added up by part number (and name), most used first."""
    counted: Counter[tuple[str, str]] = Counter()
    for part in parts:
        counted[(part.part_no, part.name)] += part.quantity
    return [PartUsed(part_no=no, name=name, quantity=quantity)
            for (no, name), quantity in sorted(counted.items(), key=lambda i: (-i[1], i[0]))]


def recommendations(units: list[UnitYear], patterns: list[Pattern],
                    ignore: frozenset[str] = frozenset({"other"})) -> list[Recommendation]:
    """What the figures call for: units whose faults recur, repeat repairs, overdue maintenance,
    a guarantee missed, low satisfaction, and the fleet's recurring faults on these units."""
    found: list[Recommendation] = []
    for unit in units:
        for category, count in sorted(unit.faults.items()):
            if category != "undiagnosed" and category not in ignore and count >= 2:
                found.append(Recommendation(code="recurring_fault", serial=unit.serial,
                                            params={"category": category, "count": count}))
        if unit.tally.repeat_repairs:
            found.append(Recommendation(code="repeat_repairs", serial=unit.serial,
                                        params={"count": unit.tally.repeat_repairs}))
        missed = unit.tally.pm_planned - unit.tally.pm_on_time - unit.tally.pm_pending
        if missed > 0:
            found.append(Recommendation(code="overdue_maintenance", serial=unit.serial,
                                        params={"count": missed,
                                                "planned": unit.tally.pm_planned}))
        for quarter in unit.quarters:
            if quarter.met is False:
                found.append(Recommendation(code="guarantee_missed", serial=unit.serial, params={
                    "period": quarter.period, "uptime": quarter.uptime_percent,
                    "guarantee": quarter.guarantee_percent}))
        shown = figures(unit.tally)
        if shown.satisfaction is not None and shown.satisfaction < LOW_SATISFACTION:
            found.append(Recommendation(code="low_satisfaction", serial=unit.serial,
                                        params={"satisfaction": shown.satisfaction,
                                                "answers": shown.satisfaction_answers}))
    for pattern in patterns:
        serials = sorted({c.serial for c in pattern.cases} & {u.serial for u in units})
        found.append(Recommendation(code="fleet_pattern", serial=None, params={
            "brand": pattern.brand, "model": pattern.model, "category": pattern.fault_category,
            "count": pattern.count, "serials": serials}))
    return found or [Recommendation(code="all_well")]


def assemble(*, hospital_id: str, hospital_name: str, year: int, serial: str | None,
             period_from: datetime, period_to: datetime, as_of: datetime, timezone: str,
             units: list[UnitYear], patterns: list[Pattern], note: str | None,
             ignore: frozenset[str] = frozenset({"other"})) -> AnnualReport:
    """The report from its units' years (in serial order)."""
    units = sorted(units, key=lambda u: u.serial)
    total = Tally()
    for unit in units:
        total = total + unit.tally
    months: list[UptimePoint] = []
    if units:
        for index, point in enumerate(units[0].months):
            summed = Tally()
            for unit in units:
                summed = summed + unit.month_tallies[index]
            shown = figures(summed)
            months.append(point.model_copy(update={
                "covered_hours": shown.covered_hours, "downtime_hours": shown.downtime_hours,
                "uptime_percent": shown.uptime_percent, "guarantee_percent": None,
                "met": None}))
    faults: Counter[str] = Counter()
    escalations: Counter[int] = Counter()
    for unit in units:
        faults.update(unit.faults)
        escalations.update(unit.escalations)
    return AnnualReport(
        hospital_id=hospital_id, hospital_name=hospital_name, year=year, serial=serial,
        period_from=period_from, period_to=period_to, as_of=as_of, timezone=timezone,
        units=[UnitSection(year=u, figures=figures(u.tally)) for u in units],
        total=figures(total), months=months, faults=dict(sorted(faults.items())),
        parts=merge_parts([p for u in units for p in u.parts]),
        escalations=dict(sorted(escalations.items())),
        complaints=sum(u.complaints for u in units), patterns=patterns,
        recommendations=recommendations(units, patterns, ignore) if note is None else [],
        empty=note is not None, note=note)


# ----- the maintenance visit report ------------------------------------------------------------

class VisitLine(BaseModel):
    at: datetime
    who: str
    what: str


class VisitReportData(BaseModel):
    case_id: str
    hospital_id: str
    hospital_name: str
    serial: str
    modality: str
    brand: str
    model: str
    department: str
    due_on: date | None
    window_ends: datetime | None
    status: str
    engineer: str | None
    done_at: datetime | None
    on_time: bool | None
    cleaning: dict[str, Any] | None
    inspection: dict[str, Any] | None
    calibration: list[dict[str, Any]]
    out_of_spec: list[str]
    findings: list[dict[str, Any]]
    note: str
    repair_id: str | None
    confirmed_by: str | None
    confirmed_at: datetime | None
    cancel_reason: str | None
    timeline: list[VisitLine]
    as_of: datetime


def visit_report(case: dict[str, Any], unit: dict[str, str], events: list[dict[str, Any]],
                 as_of: datetime) -> VisitReportData:
    """A visit's report from its case row and timeline (the `report`, `confirm`, `cancel`...
    events the visit workflow records)."""
    report: dict[str, Any] = {}
    done_at = confirmed_at = None
    engineer = confirmed_by = cancel_reason = repair_id = None
    due_on = None
    for event in events:
        data = event.get("data") or {}
        name = event["event"]
        if name == "opened" and isinstance(data.get("due_on"), str):
            due_on = date.fromisoformat(data["due_on"])
        elif name == "assign":
            engineer = data.get("engineer_name") or data.get("engineer_id") or engineer
        elif name == "report":
            report, done_at, engineer = data, event["at"], event.get("actor_name") or engineer
        elif name == "confirm":
            confirmed_by, confirmed_at = data.get("confirmed_by"), event["at"]
        elif name == "cancel":
            cancel_reason = data.get("reason")
        elif name == "repair-opened":
            repair_id = data.get("repair_id")
    windows = [c for c in case.get("commitments") or [] if c.get("key") == "visit"]
    due = windows[-1].get("due_at") if windows else None
    window_ends = datetime.fromisoformat(due) if isinstance(due, str) else None
    calibration = []
    for item in report.get("calibration", []):
        low, high, value = item.get("low"), item.get("high"), item.get("value")
        within = ((low is None or value >= low) and (high is None or value <= high)
                  if isinstance(value, int | float) else None)
        calibration.append({**item, "within_spec": within})
    return VisitReportData(
        case_id=case["case_id"], hospital_id=case["hospital_id"],
        hospital_name=unit.get("hospital_name", ""), serial=case.get("equipment_serial") or "",
        modality=unit.get("modality", ""), brand=unit.get("brand", ""),
        model=unit.get("model", ""), department=unit.get("department", ""), due_on=due_on,
        window_ends=window_ends, status=case["status"], engineer=engineer, done_at=done_at,
        on_time=(done_at <= window_ends) if done_at and window_ends else None,
        cleaning=report.get("cleaning"), inspection=report.get("inspection"),
        calibration=calibration, out_of_spec=list(report.get("out_of_spec", [])),
        findings=list(report.get("findings", [])), note=str(report.get("note", "")),
        repair_id=repair_id, confirmed_by=confirmed_by, confirmed_at=confirmed_at,
        cancel_reason=cancel_reason,
        timeline=[VisitLine(at=e["at"], who=e.get("actor_name") or "", what=e.get("summary", ""))
                  for e in events], as_of=as_of)


# ----- report jobs (workflows/report_job.py) ---------------------------------------------------

PLAN_REPORT = "plan_report"  # activity names: the workflow calls them by name
REPORT_PART = "report_part"
RENDER_REPORT = "render_report"
FAIL_REPORT = "fail_report"
UNITS_PER_PART = 10  # units computed per activity (and per step of progress)


class JobStep(BaseModel):
    job_id: str
    as_of: datetime
    keys: list[str] = []


class JobPlan(BaseModel):
    chunks: list[list[str]]


class JobFailure(BaseModel):
    job_id: str
    error: str


class JobProgress(BaseModel):
    done: int
    total: int
    percent: float


class ReportJobView(BaseModel):
    job_id: str
    kind: str  # annual, visit
    status: str  # queued, running, done, failed
    hospital_id: str | None
    year: int | None
    serial: str | None
    case_id: str | None
    progress: JobProgress
    created_at: datetime
    created_by: str
    started_at: datetime | None
    finished_at: datetime | None
    as_of: datetime | None
    error: str | None
    empty: bool | None  # once done: the period had no data (the report says so)
    links: dict[str, str]  # self; once done: html, pdf, json
