"""Look-ups in the reference data: equipment with warranty, people by role, tokens."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from caseflow.domain.cases import PersonField
from caseflow.domain.enums import Role
from caseflow.domain.errors import UnknownReference
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


def name_people(session: Session, people: tuple[PersonField, ...], data: dict[str, Any]) -> None:
    """Check every person a step's payload names exists, active, in a role the action allows
    (UnknownReference naming the field), and fill in their names."""
    for spec in people:
        items = (data.get(spec.within) or []) if spec.within else [data]
        for index, item in enumerate(items):
            person_id = item.get(spec.id_field)
            if person_id is None:
                continue
            where = f"{spec.within}.{index}.{spec.id_field}" if spec.within else spec.id_field
            found = person(session, person_id)
            if found is None or not found.active or (
                    spec.roles is not None and Role(found.role) not in spec.roles):
                wanted = "/".join(sorted(r.value for r in spec.roles)) if spec.roles else "person"
                raise UnknownReference(f"no active {wanted} {person_id!r}", field=where)
            item[spec.name_field] = found.name


def people_with_role(session: Session, role: str, hospital_id: str | None) -> list[Person]:
    """Active people with a role, for a hospital (people with no hospital serve all of them)."""
    return list(session.scalars(_with_role(select(Person), role, hospital_id)))


def ids_with_role(session: Session, role: str, hospital_id: str | None) -> list[str]:
    """The ids of `people_with_role`, without loading the people (what a notice is addressed
    to)."""
    return list(session.scalars(_with_role(select(Person.id), role, hospital_id)))


def _with_role(query: Select[Any], role: str, hospital_id: str | None) -> Select[Any]:
    query = query.where(Person.role == role, Person.active.is_(True))
    if hospital_id is not None:
        query = query.where(or_(Person.hospital_id.is_(None), Person.hospital_id == hospital_id))
    return query.order_by(Person.id)


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
