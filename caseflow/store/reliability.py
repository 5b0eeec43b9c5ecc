"""Reading the reliability facts of units from the database: the units (with the hours their
contract covers), their cases' timelines (domain/case_facts.py) and their imported history."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caseflow.domain.case_facts import FACT_EVENTS, emergency_fact, repair_fact, visit_fact
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.reliability import (
    Bucket,
    FiguresReport,
    GroupBy,
    PartUsed,
    RepairFact,
    Rules,
    Tally,
    UnitInfo,
    UnitResult,
    UnitUptime,
    UptimePoint,
    UptimeReport,
    VisitFact,
    empty_note,
    figures,
    group,
    periods,
    unit_result,
    uptime_of,
)
from caseflow.domain.reliability_policy import wall_clock
from caseflow.store.models import (
    Case,
    CaseEventRow,
    Contract,
    Equipment,
    Hospital,
    ImportedRecord,
    Person,
)

NOT_IN_SERVICE = ("installing", "cancelled")
FACT_KINDS = ("repair", "emergency", "maintenance")


def _midnight(day: date, zone: str) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))


def units(session: Session, zone: str, *, hospital_id: str | None = None,
          serial: str | None = None, contract_code: str | None = None,
          serials: Iterable[str] | None = None) -> list[UnitInfo]:
    """Units in service (or once in service), with the hours their contract covers: from the
    later of the in-service day and the contract's start, to the earlier of the contract's end
    and the day the unit was decommissioned."""
    query = (select(Equipment, Hospital, Contract)
             .join(Hospital, Hospital.id == Equipment.hospital_id)
             .outerjoin(Contract, Contract.code == Equipment.contract_code)
             .where(Equipment.status.not_in(NOT_IN_SERVICE)))
    if hospital_id is not None:
        query = query.where(Equipment.hospital_id == hospital_id)
    if serial is not None:
        query = query.where(Equipment.serial == serial)
    if contract_code is not None:
        query = query.where(Equipment.contract_code == contract_code)
    if serials is not None:
        query = query.where(Equipment.serial.in_(list(serials)))
    found = []
    for unit, hospital, contract in session.execute(query.order_by(Equipment.serial)):
        starts = [d for d in (unit.install_date, contract.starts_on if contract else None) if d]
        covered_from = _midnight(max(starts), zone) if starts else None
        covered_until = _midnight(contract.ends_on + timedelta(days=1), zone) if contract else None
        if unit.status == "decommissioned" and unit.status_changed_at is not None:
            covered_until = min(covered_until or unit.status_changed_at, unit.status_changed_at)
        found.append(UnitInfo(
            serial=unit.serial, hospital_id=unit.hospital_id, hospital_name=hospital.name,
            modality=unit.modality, brand=unit.brand, model=unit.model,
            department=unit.department, contract_code=unit.contract_code,
            covered_from=covered_from, covered_until=covered_until))
    return found


def rules_for(book: PolicyBook, unit: UnitInfo, at: datetime) -> Rules:
    """The reliability policy of the unit's contract, its covered-hours calendar resolved for
    the year of `at` and the two after it."""
    policy = book.for_contract(unit.contract_code)
    pinned = book.pin(unit.contract_code, at)
    window = policy.maintenance.visit.within
    return Rules(calendar=pinned.calendar(policy.reliability.calendar), policy=policy.reliability,
                 visit_window=wall_clock(window) if window is not None else timedelta(days=14))


class UnitFacts:
    """The repairs (with emergencies) and visits of each unit."""

    def __init__(self) -> None:
        self.repairs: dict[str, list[RepairFact]] = defaultdict(list)
        self.visits: dict[str, list[VisitFact]] = defaultdict(list)

    def of(self, serial: str) -> tuple[list[RepairFact], list[VisitFact]]:
        return (sorted(self.repairs.get(serial, []), key=lambda r: (r.observed_at, r.ref)),
                sorted(self.visits.get(serial, []), key=lambda v: (v.due_on, v.ref)))


def facts(session: Session, book: PolicyBook, found: list[UnitInfo], lower: datetime,
          upper: datetime) -> UnitFacts:
    """Every fact of `found` that bears on [lower, upper): cases opened before `upper` and
    still open at `lower`, widened by the repeat window and a month either side (a later
    repair that repeats one of the period, an earlier one that one of the period repeats),
    from the timeline and the imported history."""
    result = UnitFacts()
    serials = [u.serial for u in found]
    if not serials:
        return result
    rules = {u.serial: rules_for(book, u, lower) for u in found}
    margin = max(wall_clock(r.policy.repeat_within) for r in rules.values()) + timedelta(days=31)
    since, until = lower - margin, upper + margin
    downtime_of = {serial: wall_clock(r.policy.visit_downtime) for serial, r in rules.items()}
    for chunk in _chunks(serials, 500):
        rows = session.scalars(select(Case).where(
            Case.equipment_serial.in_(chunk), Case.kind.in_(FACT_KINDS),
            Case.case_id.is_not(None), Case.status != "opening", Case.opened_at < until,
            or_(Case.closed_at.is_(None), Case.closed_at >= since))).all()
        cases = {c.case_id: _case_dict(c) for c in rows}
        events: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for ids in _chunks(list(cases), 500):
            for event in session.scalars(select(CaseEventRow).where(
                    CaseEventRow.case_id.in_(ids), CaseEventRow.event.in_(FACT_EVENTS))
                    .order_by(CaseEventRow.case_id, CaseEventRow.seq)):
                events[event.case_id].append({
                    "event": event.event, "at": event.at, "actor_id": event.actor_id,
                    "actor_name": event.actor_name, "data": event.data or {}})
        for case_id, case in cases.items():
            serial = case["equipment_serial"]
            timeline = events.get(case_id, [])
            if case["kind"] == "repair":
                result.repairs[serial].append(repair_fact(case, timeline))
            elif case["kind"] == "emergency":
                result.repairs[serial].append(emergency_fact(case, timeline))
            else:
                visit = visit_fact(case, timeline, downtime_of[serial])
                if visit is not None:
                    result.visits[serial].append(visit)
        for record in session.scalars(select(ImportedRecord).where(
                ImportedRecord.serial.in_(chunk),
                or_(ImportedRecord.observed_at < until, ImportedRecord.due_on < until.date()),
                or_(ImportedRecord.restored_at >= since, ImportedRecord.done_at >= since,
                    ImportedRecord.due_on >= since.date()))):
            _imported(record, result, rules[record.serial], downtime_of[record.serial])
    return result


def _imported(record: ImportedRecord, result: UnitFacts, rules: Rules,
              visit_downtime: timedelta) -> None:
    if record.kind == "repair" and record.observed_at is not None:
        result.repairs[record.serial].append(RepairFact(
            ref=record.reference, source="imported", serial=record.serial,
            severity=record.severity, fault_category=record.fault_category, fault=record.fault,
            observed_at=record.observed_at, opened_at=record.observed_at,
            restored_at=record.restored_at, disputed=record.disputed,
            parts=[PartUsed.model_validate(p) for p in record.parts or []],
            engineer_id=record.engineer or None, engineer_name=record.engineer or None,
            satisfaction=record.satisfaction))
    elif record.kind == "maintenance" and record.due_on is not None:
        zone = rules.calendar.timezone
        opens = datetime.combine(record.due_on, time(8, 0), tzinfo=ZoneInfo(zone))
        down = (timedelta(hours=record.down_hours) if record.down_hours is not None
                else visit_downtime)
        result.visits[record.serial].append(VisitFact(
            ref=record.reference, source="imported", serial=record.serial,
            due_on=record.due_on, due_at=opens + rules.visit_window, done_at=record.done_at,
            engineer_id=record.engineer or None, engineer_name=record.engineer or None,
            planned_from=record.done_at - down if record.done_at and down else None,
            planned_to=record.done_at if down else None))


def _case_dict(case: Case) -> dict[str, Any]:
    return {"case_id": case.case_id, "kind": case.kind, "severity": case.severity,
            "equipment_serial": case.equipment_serial, "opened_at": case.opened_at,
            "closed_at": case.closed_at, "assignee_id": case.assignee_id, "title": case.title,
            "status": case.status, "commitments": case.commitments or []}


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ----- figures, uptime series ----------------------------------------------------------------

def down_in(repairs: list[RepairFact], lower: datetime, upper: datetime) -> list[RepairFact]:
    """The repairs whose unit was down at some time of [lower, upper)."""
    return [r for r in repairs
            if r.observed_at < upper and (r.down_until is None or r.down_until >= lower)]


def facts_in(repairs: list[RepairFact], visits: list[VisitFact], lower: datetime,
             upper: datetime, zone: str) -> int:
    """How many facts fall in [lower, upper) (for "nothing recorded in this period")."""
    first, last = lower.astimezone(ZoneInfo(zone)).date(), upper.astimezone(ZoneInfo(zone)).date()
    return len(down_in(repairs, lower, upper)) + sum(1 for v in visits
                                                     if first <= v.due_on < last)


def figures_report(session: Session, book: PolicyBook, found: list[UnitInfo], lower: datetime,
                   upper: datetime, now: datetime, by: GroupBy) -> FiguresReport:
    zone = book.defaults.timezone
    known = facts(session, book, found, lower, upper)
    results, touching = [], 0
    for unit in found:
        repairs, visits = known.of(unit.serial)
        touching += facts_in(repairs, visits, lower, upper, zone)
        results.append(unit_result(unit, repairs, visits, rules_for(book, unit, lower), lower,
                                   upper, now, zone))
    names = _engineer_names(session, results, known) if by == "engineer" else None
    total = Tally()
    for result in results:
        total = total + result.tally
    note = empty_note(total.covered_seconds, touching)
    return FiguresReport(period_from=lower, period_to=upper, as_of=now, by=by,
                         groups=group(results, by, names), total=figures(total),
                         empty=note is not None, note=note)


def _engineer_names(session: Session, results: list[UnitResult],
                    known: UnitFacts) -> dict[str, str]:
    names = {r.engineer_id: r.engineer_name for rs in known.repairs.values() for r in rs
             if r.engineer_id and r.engineer_name}
    names |= {v.engineer_id: v.engineer_name for vs in known.visits.values() for v in vs
              if v.engineer_id and v.engineer_name}
    ids = {person for r in results for person in r.engineers if person}
    for person in session.scalars(select(Person).where(Person.id.in_(list(ids)))):
        names[person.id] = person.name
    return names


def uptime_points(unit: UnitInfo, repairs: list[RepairFact], visits: list[VisitFact],
                  rules: Any, buckets: list[Any], lower: datetime, upper: datetime,
                  now: datetime) -> tuple[list[UptimePoint], float]:
    """The unit's uptime in each bucket within [lower, upper), against its guarantee if it has
    one, and the covered seconds of them all."""
    guarantee = rules.policy.guarantee
    points, covered = [], 0.0
    for span in buckets:
        tally = uptime_of(unit, repairs, visits, rules, max(span.start, lower),
                          min(span.end, upper), now)
        covered += tally.covered_seconds
        shown = figures(tally)
        points.append(UptimePoint(
            period=span.label, start=span.start, end=span.end,
            covered_hours=shown.covered_hours, downtime_hours=shown.downtime_hours,
            uptime_percent=shown.uptime_percent,
            guarantee_percent=guarantee.percent if guarantee else None,
            met=(None if guarantee is None or shown.uptime_percent is None
                 else shown.uptime_percent >= guarantee.percent)))
    return points, covered


def uptime_report(session: Session, book: PolicyBook, found: list[UnitInfo], lower: datetime,
                  upper: datetime, now: datetime, bucket: Bucket) -> UptimeReport:
    zone = book.defaults.timezone
    known = facts(session, book, found, lower, upper)
    buckets = periods(lower, upper, bucket, zone)
    units_out, covered, touching = [], 0.0, 0
    for unit in found:
        repairs, visits = known.of(unit.serial)
        rules = rules_for(book, unit, lower)
        guarantee = rules.policy.guarantee
        touching += facts_in(repairs, visits, lower, upper, zone)
        points, seconds = uptime_points(unit, repairs, visits, rules, buckets, lower, upper, now)
        covered += seconds
        units_out.append(UnitUptime(serial=unit.serial, label=f"{unit.serial} {unit.model}",
                                    hospital_id=unit.hospital_id,
                                    guarantee_period=guarantee.period if guarantee else None,
                                    points=points))
    note = empty_note(covered, touching)
    return UptimeReport(bucket=bucket, period_from=lower, period_to=upper, as_of=now,
                        units=units_out, empty=note is not None, note=note)
