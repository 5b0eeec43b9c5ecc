"""Loading a site's reference data (domain/reference.py) in one transaction: each row added or
brought up to date by its key, every reference checked, nothing written if anything is wrong."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from caseflow.domain.errors import InvalidPayload, UnknownReference
from caseflow.domain.reference import ImportCount, ReferenceFile
from caseflow.store import people
from caseflow.store.models import Contract, Equipment, Hospital, Person

TABLES: dict[str, tuple[type[Any], str]] = {
    "hospitals": (Hospital, "id"), "contracts": (Contract, "code"),
    "equipment": (Equipment, "serial"), "people": (Person, "id")}


def load_reference(session: Session, found: ReferenceFile) -> dict[str, ImportCount]:
    """Add or update every row of `found` (hospitals, then contracts, equipment, people);
    raises InvalidPayload / UnknownReference naming `<list>.<index>.<field>`."""
    counts = {name: ImportCount() for name in TABLES}
    for name, (model, key) in TABLES.items():
        seen: set[str] = set()
        for index, item in enumerate(getattr(found, name)):
            value = getattr(item, key)
            if value in seen:
                raise InvalidPayload(f"{value!r} is listed twice", field=f"{name}.{index}.{key}")
            seen.add(value)
            _check_references(session, name, index, item)
            row = session.get(model, value)
            if name == "people":
                outcome = _person(session, row, item, index)
            else:
                outcome = _upsert(session, model, row, item)
            setattr(counts[name], outcome, getattr(counts[name], outcome) + 1)
        session.flush()
    return counts


def _check_references(session: Session, name: str, index: int, item: BaseModel) -> None:
    for field, model in (("hospital_id", Hospital), ("contract_code", Contract)):
        value = getattr(item, field, None)
        if value is not None and session.get(model, value) is None:
            raise UnknownReference(f"no {model.__tablename__[:-1]} {value!r} (in the file or "
                                   "the database)", field=f"{name}.{index}.{field}")


def _upsert(session: Session, model: type[Any], row: Any, item: BaseModel) -> str:
    values = item.model_dump()
    if row is None:
        session.add(model(**values))
        session.flush()
        return "added"
    changed = {k: v for k, v in values.items() if getattr(row, k) != v}
    for field, value in changed.items():
        setattr(row, field, value)
    return "changed" if changed else "unchanged"


def _person(session: Session, row: Person | None, item: BaseModel, index: int) -> str:
    try:
        if row is None:
            people.add_person(session, item)  # type: ignore[arg-type]
            return "added"
        before = people.public(row).model_dump()
        people.write_person(session, row, item)  # type: ignore[arg-type]
        return "changed" if people.public(row).model_dump() != before else "unchanged"
    except InvalidPayload as error:
        raise type(error)(error.message, field=f"people.{index}.{error.field}") from None
