"""Uptime guarantees in the database: the contracts that promise one, a contract's standing
now (domain/guarantee.py), and each fired rung recorded and notified once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from caseflow.domain.guarantee import ContractStanding, UptimeRung, unit_standing
from caseflow.domain.policy_loader import PolicyBook
from caseflow.domain.reliability import period_of
from caseflow.store import directory
from caseflow.store.db import insert_of
from caseflow.store.models import Contract, Equipment, Notification, UptimeAlert
from caseflow.store.reliability import facts, rules_for, units


def guard_id(contract_code: str) -> str:
    """The workflow id of a contract's uptime guard."""
    return f"UG-{contract_code}"


def guaranteed_contracts(session: Session, book: PolicyBook) -> list[str]:
    """Contracts with units whose policy promises an uptime guarantee."""
    codes = session.scalars(select(Equipment.contract_code).where(
        Equipment.contract_code.is_not(None)).distinct()).all()
    return sorted(code for code in codes
                  if code and book.for_contract(code).reliability.guarantee is not None)


def contract_standing(session: Session, book: PolicyBook, contract_code: str,
                      as_of: datetime, period_start: datetime | None = None) -> ContractStanding:
    """The downtime budget of each unit of the contract in the guarantee period of `as_of`
    (or the one that began at `period_start`), as of `as_of`."""
    contract = session.get(Contract, contract_code)
    policy = book.for_contract(contract_code)
    guarantee = policy.reliability.guarantee
    hospital_id = contract.hospital_id if contract else ""
    if guarantee is None or contract is None:
        return ContractStanding(contract_code=contract_code, hospital_id=hospital_id,
                                guarantee=None, as_of=as_of)
    zone = book.defaults.timezone
    period = period_of(period_start or as_of, guarantee.period, zone)
    found = units(session, zone, contract_code=contract_code)
    known = facts(session, book, found, period.start, period.end)
    standings = []
    for unit in found:
        repairs, visits = known.of(unit.serial)
        standings.append(unit_standing(unit, repairs, visits, rules_for(book, unit, period.start),
                                       guarantee, policy.ladder, period, as_of))
    return ContractStanding(contract_code=contract_code, hospital_id=hospital_id,
                            guarantee=guarantee, period=period.label, period_from=period.start,
                            period_to=period.end, as_of=as_of, units=standings)


def record_rung(session: Session, rung: UptimeRung, now: datetime) -> bool:
    """Record a fired rung and queue its notices, once per unit, period and level: False if it
    was recorded already (a retried activity)."""
    insert = insert_of(session)
    written = session.execute(insert(UptimeAlert).values(
        guard_id=rung.guard_id, contract_code=rung.contract_code, hospital_id=rung.hospital_id,
        serial=rung.serial, period=rung.period, level=rung.level, notify=rung.notify,
        scheduled_at=rung.scheduled_at, fired_at=rung.fired_at,
        budget_seconds=rung.budget_hours * 3600, used_seconds=rung.used_hours * 3600,
        summary=rung.summary, recorded_at=now,
    ).on_conflict_do_nothing(index_elements=["serial", "period", "level"])
        .returning(UptimeAlert.id)).scalar()
    if written is None:
        return False
    key = f"{rung.guard_id}/{rung.serial}/{rung.period}/{rung.level}"
    for person in directory.people_with_role(session, rung.notify, rung.hospital_id):
        session.add(Notification(
            dedupe_key=f"{key}/{person.id}", case_id=rung.guard_id, person_id=person.id,
            subject=rung.summary[:300], body=rung.summary, urgent=rung.level >= 1,
            status="pending", created_at=now))
    return True


def alerts(session: Session, *, serials: list[str] | None = None,
           contract_code: str | None = None) -> list[UptimeAlert]:
    query = select(UptimeAlert)
    if serials is not None:
        query = query.where(UptimeAlert.serial.in_(serials))
    if contract_code is not None:
        query = query.where(UptimeAlert.contract_code == contract_code)
    return list(session.scalars(query.order_by(UptimeAlert.fired_at, UptimeAlert.id)))
