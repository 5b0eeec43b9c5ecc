"""The data of the annual operation report and of the visit report, read from the database one
unit (or one visit) at a time (domain/annual.py assembles them)."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseflow.domain.annual import (
    RepairLine,
    UnitYear,
    VisitReportData,
    merge_parts,
    visit_report,
)
from caseflow.domain.patterns import Pattern
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.reliability import (
    Tally,
    UnitInfo,
    UptimePoint,
    figures,
    periods,
    unit_result,
    unit_spans,
    uptime_of,
)
from caseflow.domain.reports import period
from caseflow.domain.uptime import Span, downtime
from caseflow.store.models import Case, CaseEventRow, Equipment, Escalation, Hospital, UptimeAlert
from caseflow.store.patterns import patterns_in
from caseflow.store.reliability import facts, rules_for, units


def year_bounds(year: int, zone: str) -> tuple[datetime, datetime]:
    return period(date(year, 1, 1), date(year + 1, 1, 1), zone)


def report_units(session: Session, book: PolicyBook, hospital_id: str,
                 serial: str | None) -> list[UnitInfo]:
    return units(session, book.defaults.timezone, hospital_id=hospital_id, serial=serial)


def _points(unit: UnitInfo, repairs: list[Any], visits: list[Any], rules: Any, spans: list[Any],
            now: datetime, guarantee_percent: float | None) -> tuple[list[UptimePoint], list[Tally]]:
    points, tallies = [], []
    for span in spans:
        tally = uptime_of(unit, repairs, visits, rules, span.start, span.end, now)
        shown = figures(tally)
        tallies.append(tally)
        points.append(UptimePoint(
            period=span.label, start=span.start, end=span.end,
            covered_hours=shown.covered_hours, downtime_hours=shown.downtime_hours,
            uptime_percent=shown.uptime_percent, guarantee_percent=guarantee_percent,
            met=(None if guarantee_percent is None or shown.uptime_percent is None
                 else shown.uptime_percent >= guarantee_percent)))
    return points, tallies


def unit_year(session: Session, book: PolicyBook, unit: UnitInfo, year: int,
              as_of: datetime) -> UnitYear:
    """Everything the annual report says about one unit."""
    zone = book.defaults.timezone
    lower, upper = year_bounds(year, zone)
    rules = rules_for(book, unit, lower)
    guarantee = rules.policy.guarantee
    repairs, visits = facts(session, book, [unit], lower, upper).of(unit.serial)
    result = unit_result(unit, repairs, visits, rules, lower, upper, as_of, zone)
    months, month_tallies = _points(unit, repairs, visits, rules,
                                    periods(lower, upper, "month", zone), as_of,
                                    guarantee.percent if guarantee else None)
    quarters, _ = _points(unit, repairs, visits, rules, periods(lower, upper, "quarter", zone),
                          as_of, guarantee.percent if guarantee else None)
    in_year = [r for r in repairs if lower <= r.observed_at < upper]
    faults = Counter(r.fault_category or "undiagnosed" for r in in_year if r.kind == "repair")
    restored = [r for r in repairs if r.kind == "repair" and r.restored_at is not None
                and lower <= r.restored_at < upper]
    _, excluded = unit_spans([], visits, rules)
    weights = {k.value: v for k, v in rules.policy.down_weight.items()}
    lines = []
    for repair in repairs:
        if repair.observed_at >= upper or (repair.down_until and repair.down_until < lower):
            continue
        spans = [Span(s.start, s.end or as_of, s.weight) for s in repair.spans(weights)]
        start, end = max(lower, unit.covered_from or lower), min(upper, as_of)
        down = downtime(spans, rules.calendar, start, end, excluded).down if end > start else None
        lines.append(RepairLine(
            ref=repair.ref, source=repair.source, kind=repair.kind, severity=repair.severity,
            fault_category=repair.fault_category, fault=repair.fault,
            observed_at=repair.observed_at, restored_at=repair.restored_at,
            downtime_hours=round(down.total_seconds() / 3600, 2) if down else 0.0))
    escalations = dict(session.execute(
        select(Escalation.level, func.count()).join(Case, Case.case_id == Escalation.case_id)
        .where(Case.equipment_serial == unit.serial, Case.opened_at >= lower,
               Case.opened_at < upper, Escalation.level >= 1)
        .group_by(Escalation.level)).all())
    complaints = session.scalar(select(func.count()).select_from(Case).where(
        Case.kind == "complaint", Case.equipment_serial == unit.serial,
        Case.opened_at >= lower, Case.opened_at < upper)) or 0
    alerts = session.scalar(select(func.count()).select_from(UptimeAlert).where(
        UptimeAlert.serial == unit.serial, UptimeAlert.fired_at >= lower,
        UptimeAlert.fired_at < upper)) or 0
    return UnitYear(
        serial=unit.serial, modality=unit.modality, brand=unit.brand, model=unit.model,
        department=unit.department, contract_code=unit.contract_code, guarantee=guarantee,
        months=months, month_tallies=month_tallies, quarters=quarters, tally=result.tally,
        faults=dict(sorted(faults.items())),
        parts=merge_parts([p for r in restored for p in r.parts]),
        escalations={int(k): int(v) for k, v in escalations.items()}, complaints=complaints,
        guarantee_alerts=alerts, repairs=lines)


def year_patterns(session: Session, book: PolicyBook, hospital_id: str, serial: str | None,
                  year: int) -> list[Pattern]:
    lower, upper = year_bounds(year, book.defaults.timezone)
    found = patterns_in(session, book, lower, upper, hospital_id=hospital_id)
    if serial is not None:
        found = [p for p in found if any(c.serial == serial for c in p.cases)]
    return found


def hospital_name(session: Session, hospital_id: str) -> str:
    hospital = session.get(Hospital, hospital_id)
    return hospital.name if hospital else hospital_id


def visit_data(session: Session, case_id: str, as_of: datetime) -> VisitReportData | None:
    case = session.scalar(select(Case).where(Case.case_id == case_id,
                                             Case.kind == "maintenance"))
    if case is None:
        return None
    unit = session.get(Equipment, case.equipment_serial) if case.equipment_serial else None
    hospital = session.get(Hospital, case.hospital_id)
    events = [{"event": e.event, "at": e.at, "actor_name": e.actor_name, "summary": e.summary,
               "data": e.data or {}}
              for e in session.scalars(select(CaseEventRow).where(CaseEventRow.case_id == case_id)
                                       .order_by(CaseEventRow.seq))]
    return visit_report(
        {"case_id": case.case_id, "hospital_id": case.hospital_id, "status": case.status,
         "equipment_serial": case.equipment_serial, "commitments": case.commitments or []},
        {"hospital_name": hospital.name if hospital else "",
         "modality": unit.modality if unit else "", "brand": unit.brand if unit else "",
         "model": unit.model if unit else "", "department": unit.department if unit else ""},
        events, as_of)
