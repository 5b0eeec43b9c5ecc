"""Recurring faults in the database: the repairs of a model read as facts, the patterns among
them (domain/patterns.py), and each ongoing pattern recorded and notified once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from caseflow.domain.patterns import Pattern, find_patterns, ongoing
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.reliability import RepairFact, UnitInfo
from caseflow.domain.reliability_policy import wall_clock
from caseflow.store import directory
from caseflow.store.models import Case, CaseEventRow, FaultPattern, ImportedRecord, Notification
from caseflow.store.reliability import units

LOOKBACK = timedelta(days=365)  # how far back the watch looks for a pattern's first repair
OBSERVED_BEFORE = timedelta(days=30)  # a fault observed this long before its case was opened


def patterns_in(session: Session, book: PolicyBook, lower: datetime, upper: datetime, *,
                models: set[tuple[str, str]] | None = None,
                hospital_id: str | None = None) -> list[Pattern]:
    """The patterns among the repairs whose fault was observed in [lower, upper), fleet-wide
    (a hospital's filter keeps the patterns that touch its units)."""
    rule = book.defaults.reliability.recurring
    fleet = [u for u in units(session, book.defaults.timezone)
             if models is None or (u.brand, u.model) in models]
    found = find_patterns(diagnosed(session, fleet, lower, upper), rule)
    if hospital_id is not None:
        found = [p for p in found if any(c.hospital_id == hospital_id for c in p.cases)]
    return found


def diagnosed(session: Session, fleet: list[UnitInfo], lower: datetime,
              upper: datetime) -> list[tuple[UnitInfo, RepairFact]]:
    """Repairs of `fleet` with a fault category whose fault was observed in [lower, upper):
    those diagnosed on their timeline (read from `diagnose` and `opened` only, so a busy unit
    costs little) and imported ones."""
    by_serial = {u.serial: u for u in fleet}
    found: list[tuple[UnitInfo, RepairFact]] = []
    serials = sorted(by_serial)
    for start in range(0, len(serials), 500):
        chunk = serials[start:start + 500]
        rows = session.execute(
            select(Case.case_id, Case.equipment_serial, Case.severity, Case.opened_at,
                   CaseEventRow.data)
            .join(CaseEventRow, CaseEventRow.case_id == Case.case_id)
            .where(Case.kind == "repair", Case.equipment_serial.in_(chunk),
                   Case.opened_at >= lower - OBSERVED_BEFORE, Case.opened_at < upper,
                   CaseEventRow.event == "diagnose")
            .order_by(Case.case_id, CaseEventRow.seq)).all()
        categories = {case_id: (serial, severity, opened, (data or {}).get("fault_category"))
                      for case_id, serial, severity, opened, data in rows}
        observed = dict(session.execute(
            select(CaseEventRow.case_id, CaseEventRow.data).where(
                CaseEventRow.case_id.in_(list(categories)), CaseEventRow.event == "opened")
        ).all()) if categories else {}
        for case_id, (serial, severity, opened, category) in categories.items():
            intake = (observed.get(case_id) or {}).get("intake", {})
            text = intake.get("observed_at")
            when = min(datetime.fromisoformat(text), opened) if isinstance(text, str) else opened
            if category and lower <= when < upper:
                found.append((by_serial[serial], RepairFact(
                    ref=case_id, serial=serial, severity=severity, fault_category=category,
                    observed_at=when, opened_at=opened)))
        for record in session.scalars(select(ImportedRecord).where(
                ImportedRecord.serial.in_(chunk), ImportedRecord.kind == "repair",
                ImportedRecord.fault_category.is_not(None),
                ImportedRecord.observed_at >= lower, ImportedRecord.observed_at < upper)):
            assert record.observed_at is not None
            found.append((by_serial[record.serial], RepairFact(
                ref=record.reference, source="imported", serial=record.serial,
                severity=record.severity, fault_category=record.fault_category,
                observed_at=record.observed_at, opened_at=record.observed_at)))
    return found


def recorded(session: Session, keys: list[str]) -> dict[str, FaultPattern]:
    return {row.key: row for row in session.scalars(
        select(FaultPattern).where(FaultPattern.key.in_(keys)))} if keys else {}


def detect(sessions: sessionmaker[Session], book: PolicyBook, now: datetime,
           models: set[tuple[str, str]] | None = None) -> list[str]:
    """Record every ongoing pattern of `models` (all if None): a new one is notified to the
    policy's roles once; a known one gets its further cases. Returns the keys notified now."""
    rule = book.defaults.reliability.recurring
    with sessions() as session:
        found = [p for p in patterns_in(session, book, now - LOOKBACK - wall_clock(rule.within),
                                        now + timedelta(seconds=1), models=models)
                 if ongoing(p, rule, now)]
    notified = []
    for pattern in found:
        try:
            with sessions.begin() as session:
                if _record(session, pattern, [r.value for r in rule.notify], now):
                    notified.append(pattern.key)
        except IntegrityError:  # another worker recorded it first: it notified
            continue
    return notified


def _record(session: Session, pattern: Pattern, roles: list[str], now: datetime) -> bool:
    cases = [c.ref for c in pattern.cases]
    row = session.scalar(select(FaultPattern).where(FaultPattern.key == pattern.key)
                         .with_for_update())
    if row is not None:
        if row.cases != cases:
            row.cases, row.last_observed = cases, pattern.last_observed
        return False
    people = {p.id: p for role in roles for p in directory.people_with_role(session, role, None)}
    row = FaultPattern(key=pattern.key, brand=pattern.brand, model=pattern.model,
                       fault_category=pattern.fault_category, cases=cases,
                       first_observed=pattern.first_observed,
                       last_observed=pattern.last_observed, detected_at=now,
                       notified=sorted(people))
    session.add(row)
    session.flush()
    subject = (f"故障规律:{pattern.brand} {pattern.model} "
               f"{pattern.fault_category} 共 {len(cases)} 次")
    body = (f"{subject} ({pattern.first_observed:%Y-%m-%d} .. {pattern.last_observed:%Y-%m-%d}): "
            + ", ".join(f"{c.ref} {c.serial}" for c in pattern.cases))
    for person_id in sorted(people):
        session.add(Notification(
            dedupe_key=f"FP-{row.id}/{person_id}", case_id=f"FP-{row.id}", person_id=person_id,
            subject=subject[:300], body=body, urgent=False, status="pending", created_at=now))
    return True
