"""Look-ups in the reference data: equipment with warranty, people by role, tokens."""

from __future__ import annotations

import hashlib
from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from caseflow.domain.repair import EquipmentSnapshot
from caseflow.store.models import ApiToken, Equipment, Hospital, Person


def hash_token(token: str) -> str:
    """Tokens are long random strings, so a plain SHA-256 is a safe, fast index at rest."""
    return hashlib.sha256(token.encode()).hexdigest()


def equipment(session: Session, serial: str) -> tuple[Equipment, Hospital] | None:
    row = session.execute(
        select(Equipment, Hospital).join(Hospital, Hospital.id == Equipment.hospital_id)
        .where(Equipment.serial == serial)).first()
    return (row[0], row[1]) if row else None


def snapshot(unit: Equipment, hospital: Hospital) -> EquipmentSnapshot:
    """The unit as a case records it at intake."""
    return EquipmentSnapshot(
        serial=unit.serial, hospital_id=unit.hospital_id, hospital_name=hospital.name,
        modality=unit.modality, brand=unit.brand, model=unit.model,
        install_date=unit.install_date, warranty_start=unit.warranty_start,
        warranty_end=unit.warranty_end, contract_code=unit.contract_code)


def in_warranty(unit: Equipment, on: date) -> bool:
    return (unit.warranty_start is not None and unit.warranty_end is not None
            and unit.warranty_start <= on <= unit.warranty_end)


def hospital(session: Session, hospital_id: str) -> Hospital | None:
    return session.get(Hospital, hospital_id)


def person(session: Session, person_id: str) -> Person | None:
    return session.get(Person, person_id)


def people_with_role(session: Session, role: str, hospital_id: str | None) -> list[Person]:
    """Active people with a role, for a hospital (people with no hospital serve all of them)."""
    query = select(Person).where(Person.role == role, Person.active.is_(True))
    if hospital_id is not None:
        query = query.where(or_(Person.hospital_id.is_(None), Person.hospital_id == hospital_id))
    return list(session.scalars(query.order_by(Person.id)))


def principal_for_token(session: Session, token: str,
                        now: datetime) -> tuple[Person, ApiToken] | None:
    """The active person holding this token and the token's row, if it is neither revoked nor
    past its expiry."""
    row = session.execute(
        select(Person, ApiToken).join(ApiToken, ApiToken.person_id == Person.id)
        .where(ApiToken.token_hash == hash_token(token))).first()
    if row is None:
        return None
    found, api_token = row
    if api_token.revoked_at is not None or not found.active:
        return None
    if api_token.expires_at is not None and api_token.expires_at <= now:
        return None
    return found, api_token
