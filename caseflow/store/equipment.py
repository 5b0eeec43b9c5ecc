"""The equipment register over a unit's life: installing, in service (with its warranty), out
of service, decommissioned; and the cases of a unit (its service history)."""

from __future__ import annotations

import calendar
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.access import CaseScope
from caseflow.domain.errors import NotPermitted, UnknownReference
from caseflow.domain.installation import AcceptedUnit, InstallationCreate
from caseflow.store import directory
from caseflow.store.models import Case, Contract, Equipment, Hospital
from caseflow.store.search import visible

DEFAULT_WARRANTY_MONTHS = 12
DEFAULT_INTERVAL_DAYS = 90  # quarterly
REORDERABLE = ("installing", "cancelled")  # a serial in these states may be ordered again


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer days)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_end(start: date, months: int) -> date:
    """The last day of a warranty of `months` from `start`: the day before the same day
    `months` later (a start on 29 February ends on the last day of February)."""
    if start.month == 2 and start.day == 29:
        return add_months(start, months)
    return date.fromordinal(add_months(start, months).toordinal() - 1)


def register_installing(session: Session, body: InstallationCreate, contract_code: str | None,
                        now: datetime) -> None:
    """The ordered unit enters the register as `installing` (not in clinical service); a unit
    left `installing` by an order that never started, or `cancelled`, is ordered afresh."""
    found = session.get(Equipment, body.serial)
    if found is not None and found.status in REORDERABLE:
        session.delete(found)
        session.flush()
        found = None
    if found is None:
        session.add(Equipment(serial=body.serial, hospital_id=body.hospital_id,
                              contract_code=contract_code, modality=body.modality.value,
                              brand=body.brand, model=body.model, department=body.department,
                              status="installing", status_reason="ordered",
                              status_changed_at=now))


def accept(session: Session, serial: str, on: date, now: datetime) -> AcceptedUnit:
    """Put the unit in service on `on`: warranty from then for the contract's months."""
    unit = session.get(Equipment, serial, with_for_update=True)
    if unit is None:
        raise UnknownReference(f"no equipment with serial {serial!r}", field="serial")
    contract = session.get(Contract, unit.contract_code) if unit.contract_code else None
    months = contract.warranty_months if contract else DEFAULT_WARRANTY_MONTHS
    interval = contract.maintenance_interval_days if contract else DEFAULT_INTERVAL_DAYS
    if unit.status == "installing":  # a retried activity finds it done and answers the same
        unit.install_date, unit.warranty_start = on, on
        unit.warranty_end = warranty_end(on, months)
        unit.status, unit.status_reason, unit.status_changed_at = "in_service", "accepted", now
    assert unit.install_date and unit.warranty_start and unit.warranty_end
    return AcceptedUnit(serial=serial, in_service_on=unit.install_date,
                        warranty_start=unit.warranty_start, warranty_end=unit.warranty_end,
                        maintenance_interval_days=interval,
                        contract_ends_on=contract.ends_on if contract else None)


def set_status(session: Session, serial: str, status: str, reason: str, now: datetime) -> None:
    unit = session.get(Equipment, serial, with_for_update=True)
    if unit is None:
        raise UnknownReference(f"no equipment with serial {serial!r}", field="serial")
    if unit.status != status:
        unit.status, unit.status_reason, unit.status_changed_at = status, reason, now


def unit_record(session: Session, serial: str, scope: CaseScope
                ) -> tuple[Equipment, Hospital, Contract | None, list[Case]] | None:
    """The unit, its hospital, its contract and the cases of it `scope` may read (None: no
    such unit; NotPermitted: a unit at a hospital `scope` does not serve)."""
    found = directory.equipment(session, serial)
    if found is None:
        return None
    unit, hospital = found
    if scope.limited and unit.hospital_id != scope.hospital_id:
        raise NotPermitted(f"{serial} is at a hospital you do not serve")
    contract = session.get(Contract, unit.contract_code) if unit.contract_code else None
    return unit, hospital, contract, cases_of(session, serial, scope)


def cases_of(session: Session, serial: str, scope: CaseScope, limit: int = 200) -> list[Case]:
    """The unit's cases that `scope` may read, newest first: its service history."""
    return list(session.scalars(visible(select(Case).where(
        Case.equipment_serial == serial, Case.case_id.is_not(None)), scope)
        .order_by(Case.opened_at.desc()).limit(limit)))
