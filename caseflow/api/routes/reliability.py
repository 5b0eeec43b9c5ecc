"""Reliability for managers and auditors (docs/reports.md): figures per unit, model, brand,
hospital or engineer, uptime by month / quarter / year, one unit's record, the uptime guarantees
live, recurring faults, and importing past service history."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, StringConstraints

from caseflow.api.auth import Principal, allowed
from caseflow.api.deps import PolicyDep, SessionDep
from caseflow.domain.access import Capability
from caseflow.domain.cases import IsoDate, Payload
from caseflow.domain.errors import InvalidPayload, NotPermitted, UnknownRecord
from caseflow.domain.guarantee import ContractStanding, UnitStanding
from caseflow.domain.history import HistoryRefused
from caseflow.domain.monitoring import MonitoringFigures
from caseflow.domain.patterns import PatternCase
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.reliability import (
    Bucket,
    Figures,
    FiguresReport,
    GroupBy,
    UnitInfo,
    UptimePoint,
    UptimeReport,
    empty_note,
    figures,
    periods,
    unit_result,
)
from caseflow.domain.reports import period
from caseflow.store import alarms
from caseflow.store import guarantees as guards
from caseflow.store import patterns as pattern_store
from caseflow.store.history import import_history
from caseflow.store.models import Contract, Equipment, Hospital
from caseflow.store.reliability import (
    down_in,
    facts,
    facts_in,
    figures_report,
    rules_for,
    units,
    uptime_points,
    uptime_report,
)

router = APIRouter(prefix="/v1/reliability", tags=["reliability"])
Reader = Annotated[Principal, allowed(Capability.read_reports)]
PLAIN = r"^[^\x00-\x1f\x7f]*$"
Key = Annotated[str | None, Query(min_length=1, max_length=100, pattern=PLAIN)]
Since = Annotated[IsoDate | None, Query(alias="from", description="first day (local)")]
Until = Annotated[IsoDate | None, Query(alias="to", description="the day after the last")]
MAX_DAYS = 3 * 366 + 1


def _period(book: PolicyBook, since: date | None, until: date | None,
            default_days: int | None = None) -> tuple[datetime, datetime]:
    """[from, to) as local days; default: this year so far (or the last `default_days`)."""
    zone = book.defaults.timezone
    today = datetime.now(ZoneInfo(zone)).date()
    end = until or today + timedelta(days=1)
    start = since or (end - timedelta(days=default_days) if default_days
                      else date(today.year, 1, 1))
    for day, name in ((since, "from"), (until, "to")):
        if day is not None and not 1970 <= day.year <= 2200:
            raise InvalidPayload("must be between the years 1970 and 2200", field=f"query.{name}")
    if end <= start:
        raise InvalidPayload("must be after from", field="query.to")
    if (end - start).days > MAX_DAYS:
        raise InvalidPayload("a period of at most three years", field="query.to")
    return period(start, end, zone)


def _scope(session, book: PolicyBook, hospital_id: str | None,  # type: ignore[no-untyped-def]
           serial: str | None) -> list[UnitInfo]:
    if hospital_id is not None and session.get(Hospital, hospital_id) is None:
        raise UnknownRecord(f"no hospital {hospital_id!r}")
    if serial is not None and session.get(Equipment, serial) is None:
        raise UnknownRecord(f"no equipment with serial {serial!r}")
    return units(session, book.defaults.timezone, hospital_id=hospital_id, serial=serial)


@router.get("/figures", response_model=FiguresReport)
def reliability_figures(
    principal: Reader, session: SessionDep, book: PolicyDep, since: Since = None,
    until: Until = None, by: GroupBy = "unit", hospital_id: Key = None, serial: Key = None,
) -> FiguresReport:
    """Uptime, MTBF, MTTR, first-time fix, repeats, PM compliance, parts and satisfaction per
    unit, model, brand, hospital or engineer over [from, to) (default: this year so far), and
    in total. A period with nothing recorded is an empty report that says so."""
    lower, upper = _period(book, since, until)

    found = _scope(session, book, hospital_id, serial)
    return figures_report(session, book, found, lower, upper,
                          datetime.now(timezone.utc), by)


@router.get("/monitoring", response_model=MonitoringFigures)
def reliability_monitoring(
    principal: Reader, session: SessionDep, book: PolicyDep, since: Since = None,
    until: Until = None, hospital_id: Key = None, serial: Key = None,
) -> MonitoringFigures:
    """Remote monitoring over [from, to) (default: this year so far): alarms per unit, fault
    episodes by outcome, repairs opened by monitoring and by people (by channel), and the
    faults caught before the hospital called (docs/monitoring.md)."""
    lower, upper = _period(book, since, until)

    found = _scope(session, book, hospital_id, serial)
    return alarms.figures(session, [u.serial for u in found], lower, upper)


@router.get("/uptime", response_model=UptimeReport)
def reliability_uptime(
    principal: Reader, session: SessionDep, book: PolicyDep, since: Since = None,
    until: Until = None, bucket: Bucket = "month", hospital_id: Key = None, serial: Key = None,
) -> UptimeReport:
    """Each unit's uptime per local month, quarter or year over the covered hours of its
    contract, against its guaranteed percent."""
    lower, upper = _period(book, since, until)

    found = _scope(session, book, hospital_id, serial)
    return uptime_report(session, book, found, lower, upper,
                         datetime.now(timezone.utc), bucket)


class AlertView(BaseModel):
    serial: str
    contract_code: str
    period: str
    level: int  # 0 warning, 1 broken, 2, 3 further levels
    notify: str
    scheduled_at: datetime
    fired_at: datetime
    budget_hours: float
    used_hours: float
    summary: str


class RepairEntry(BaseModel):
    ref: str
    source: str  # caseflow, imported
    kind: str
    severity: str | None
    fault_category: str | None
    fault: str
    observed_at: datetime
    restored_at: datetime | None
    open: bool


class UnitReliability(BaseModel):
    serial: str
    hospital_id: str
    hospital_name: str
    brand: str
    model: str
    modality: str
    contract_code: str | None
    period_from: datetime
    period_to: datetime
    figures: Figures
    uptime: list[UptimePoint]  # by month
    guarantee: UnitStanding | None  # the current period's budget, if the contract has one
    alerts: list[AlertView]
    repairs: list[RepairEntry]
    empty: bool
    note: str | None = None


def _alert(row) -> AlertView:  # type: ignore[no-untyped-def]
    return AlertView(serial=row.serial, contract_code=row.contract_code, period=row.period,
                     level=row.level, notify=row.notify, scheduled_at=row.scheduled_at,
                     fired_at=row.fired_at, budget_hours=round(row.budget_seconds / 3600, 2),
                     used_hours=round(row.used_seconds / 3600, 2), summary=row.summary)


@router.get("/units/{serial}", response_model=UnitReliability)
def unit_reliability(
    serial: Annotated[str, Path(max_length=100, description="e.g. CT-DH-0001")],
    principal: Annotated[Principal, allowed(Capability.read_equipment)],
    session: SessionDep, book: PolicyDep, since: Since = None, until: Until = None,
) -> UnitReliability:
    """One unit over [from, to) (default: this year so far): its figures, uptime by month, its
    guarantee's budget now, the guarantee rungs fired and its repairs (imported ones marked)."""
    lower, upper = _period(book, since, until)
    zone = book.defaults.timezone
    now = datetime.now(timezone.utc)

    unit_row = session.get(Equipment, serial)
    if unit_row is None:
        raise UnknownRecord(f"no equipment with serial {serial!r}")
    scope = principal.scope
    if scope.limited and unit_row.hospital_id != scope.hospital_id:
        raise NotPermitted(f"{serial} is at a hospital you do not serve")
    found = units(session, zone, serial=serial)
    if not found:
        raise UnknownRecord(f"{serial} is not in service (still installing or "
                            "cancelled): no reliability figures")
    unit = found[0]
    rules = rules_for(book, unit, lower)
    known = facts(session, book, found, lower, upper)
    repairs, visits = known.of(serial)
    result = unit_result(unit, repairs, visits, rules, lower, upper, now, zone)
    months, _ = uptime_points(unit, repairs, visits, rules, periods(lower, upper, "month", zone),
                              lower, upper, now)
    standing = None
    if unit.contract_code and rules.policy.guarantee is not None:
        contract = guards.contract_standing(session, book, unit.contract_code, now)
        standing = next((u for u in contract.units if u.serial == serial), None)
    in_period = down_in(repairs, lower, upper)
    note = empty_note(result.tally.covered_seconds, facts_in(repairs, visits, lower, upper, zone))
    return UnitReliability(
        serial=serial, hospital_id=unit.hospital_id, hospital_name=unit.hospital_name,
        brand=unit.brand, model=unit.model, modality=unit.modality,
        contract_code=unit.contract_code, period_from=lower, period_to=upper,
        figures=figures(result.tally), uptime=months, guarantee=standing,
        alerts=[_alert(a) for a in guards.alerts(session, serials=[serial])],
        repairs=[RepairEntry(ref=r.ref, source=r.source, kind=r.kind,
                             severity=r.severity, fault_category=r.fault_category,
                             fault=r.fault, observed_at=r.observed_at,
                             restored_at=r.restored_at, open=r.down_until is None)
                 for r in reversed(in_period)],
        empty=note is not None, note=note)


class GuaranteeReport(BaseModel):
    as_of: datetime
    contracts: list[ContractStanding]
    alerts: list[AlertView]  # fired in the contracts' current periods


@router.get("/guarantees", response_model=GuaranteeReport)
def reliability_guarantees(principal: Reader, session: SessionDep, book: PolicyDep,
                           hospital_id: Key = None, contract_code: Key = None,
                           ) -> GuaranteeReport:
    """Each guaranteed unit's downtime budget in its current period, live: budget, used,
    remaining, the rate it is used at now, the projection, and the rungs fired."""
    now = datetime.now(timezone.utc)

    if hospital_id is not None and session.get(Hospital, hospital_id) is None:
        raise UnknownRecord(f"no hospital {hospital_id!r}")
    if contract_code is not None and session.get(Contract, contract_code) is None:
        raise UnknownRecord(f"no contract {contract_code!r}")
    codes = [c for c in guards.guaranteed_contracts(session, book)
             if contract_code in (None, c)]
    standings = []
    for code in codes:  # a hospital's units (a contract is normally one hospital's)
        found = guards.contract_standing(session, book, code, now)
        mine = [u for u in found.units if hospital_id in (None, u.hospital_id)]
        if mine:
            standings.append(found.model_copy(update={"units": mine}))
    serials = {u.serial for s in standings for u in s.units}
    fired = [_alert(a) for s in standings
             for a in guards.alerts(session, contract_code=s.contract_code)
             if a.period == s.period and a.serial in serials]
    return GuaranteeReport(as_of=now, contracts=standings, alerts=fired)


class PatternView(BaseModel):
    key: str
    brand: str
    model: str
    fault_category: str
    count: int
    first_observed: datetime
    last_observed: datetime
    cases: list[PatternCase]
    notified_at: datetime | None  # when the quality and regulatory people were told
    notified: list[str]  # whom (person ids)


class PatternReport(BaseModel):
    period_from: datetime
    period_to: datetime
    repairs: int  # the rule: this many repairs ...
    within_days: float  # ... each run within this many days
    patterns: list[PatternView]


@router.get("/patterns", response_model=PatternReport)
def reliability_patterns(principal: Reader, session: SessionDep, book: PolicyDep,
                         since: Since = None, until: Until = None,
                         hospital_id: Key = None) -> PatternReport:
    """Recurring faults among the repairs observed in [from, to) (default: the last 365 days),
    fleet-wide (a hospital: the patterns touching its units), each with its cases (imported
    ones marked) and whether and when it was notified."""
    lower, upper = _period(book, since, until, default_days=365)
    rule = book.defaults.reliability.recurring

    if hospital_id is not None and session.get(Hospital, hospital_id) is None:
        raise UnknownRecord(f"no hospital {hospital_id!r}")
    found = pattern_store.patterns_in(session, book, lower, upper,
                                      hospital_id=hospital_id)
    rows = pattern_store.recorded(session, [p.key for p in found])
    return PatternReport(
        period_from=lower, period_to=upper, repairs=rule.repairs,
        within_days=rule.within.days + rule.within.seconds / 86400,
        patterns=[PatternView(
            key=p.key, brand=p.brand, model=p.model, fault_category=p.fault_category,
            count=p.count, first_observed=p.first_observed, last_observed=p.last_observed,
            cases=p.cases, notified_at=rows[p.key].detected_at if p.key in rows else None,
            notified=rows[p.key].notified if p.key in rows else []) for p in found])


class HistoryUpload(Payload):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=PLAIN)]
    format: Literal["csv", "yaml"]
    content: str = Field(min_length=1, description="the file's text (UTF-8)")
    dry_run: bool = False


class HistoryImported(BaseModel):
    import_id: int | None  # None: a dry run
    repairs: int
    visits: int
    dry_run: bool


@router.post("/history", response_model=HistoryImported, status_code=201)
def post_history(body: HistoryUpload,
                 principal: Annotated[Principal, allowed(Capability.import_history)],
                 session: SessionDep) -> HistoryImported:
    """Import past repairs and maintenance visits (docs/operations.md): all of the file or
    nothing; 422 naming each bad line and field (`["body", "content", <line>, <field>]`)."""
    if "\x00" in body.content:
        raise InvalidPayload("must not contain NUL characters", field="content")

    try:
        done = import_history(session, body.content, body.format, source=body.filename,
                              by=principal.id, now=datetime.now(timezone.utc),
                              dry_run=body.dry_run)
    except HistoryRefused as refused:
        session.rollback()
        raise RequestValidationError([
            {"loc": ["body", "content", e.line, e.field],
             "msg": f"line {e.line}: {e.message}", "type": "value_error"}
            for e in refused.errors]) from None
    session.commit()
    return HistoryImported(import_id=done.import_id, repairs=done.repairs,
                           visits=done.visits, dry_run=body.dry_run)

