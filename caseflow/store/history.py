"""Writing imported service history (domain/history.py) in one transaction: every record's unit
must exist and every reference be new, or nothing is written."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from caseflow.domain.history import HistoryRecord, HistoryRefused, LineError, parse_records
from caseflow.store.models import Equipment, HistoryImport, ImportedRecord


@dataclass(frozen=True)
class Imported:
    import_id: int | None  # None: a dry run
    repairs: int
    visits: int


def import_history(session: Session, content: str, fmt: Literal["csv", "yaml"], *,
                   source: str, by: str, now: datetime, dry_run: bool = False) -> Imported:
    """Check the whole file, then write it (unless `dry_run`); HistoryRefused names each bad
    line and field. The caller commits (or rolls back) the session."""
    records, errors = parse_records(content, fmt, now=now)
    hospital_of = _units(session, {r.serial for _, r in records})
    seen: dict[str, int] = {}
    taken = _taken(session, [r.reference for _, r in records])
    for line, record in records:
        if record.serial not in hospital_of:
            errors.append(LineError(line=line, field="serial",
                                    message=f"no unit {record.serial!r} in the register"))
        if record.reference in seen:
            errors.append(LineError(line=line, field="reference", message=(
                f"{record.reference!r} is already on line {seen[record.reference]}")))
        elif record.reference in taken:
            errors.append(LineError(line=line, field="reference", message=(
                f"{record.reference!r} was imported before")))
        seen.setdefault(record.reference, line)
    if errors:
        raise HistoryRefused(sorted(errors, key=lambda e: e.line)[:50])
    repairs = sum(1 for _, r in records if r.kind == "repair")
    if dry_run:
        return Imported(import_id=None, repairs=repairs, visits=len(records) - repairs)
    batch = HistoryImport(source=source[:500],
                          sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
                          records=len(records), imported_at=now, imported_by=by)
    session.add(batch)
    session.flush()
    session.add_all(_row(batch.id, line, record, hospital_of[record.serial])
                    for line, record in records)
    session.flush()
    return Imported(import_id=batch.id, repairs=repairs, visits=len(records) - repairs)


def _units(session: Session, serials: set[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    ordered = sorted(serials)
    for start in range(0, len(ordered), 500):
        found.update(session.execute(select(Equipment.serial, Equipment.hospital_id).where(
            Equipment.serial.in_(ordered[start:start + 500]))).all())
    return found


def _taken(session: Session, references: list[str]) -> set[str]:
    taken: set[str] = set()
    for start in range(0, len(references), 500):
        taken.update(session.scalars(select(ImportedRecord.reference).where(
            ImportedRecord.reference.in_(references[start:start + 500]))))
    return taken


def _row(import_id: int, line: int, record: HistoryRecord, hospital_id: str) -> ImportedRecord:
    return ImportedRecord(
        import_id=import_id, line=line, reference=record.reference, kind=record.kind,
        serial=record.serial, hospital_id=hospital_id,
        severity=record.severity.value if record.severity else None,
        fault_category=record.fault_category.value if record.fault_category else None,
        fault=record.fault, observed_at=record.observed_at, restored_at=record.restored_at,
        disputed=record.disputed, parts=[p.model_dump() for p in record.parts],
        engineer=record.engineer, satisfaction=record.satisfaction, due_on=record.due_on,
        done_at=record.done_at, down_hours=record.down_hours)


def imports(session: Session, limit: int = 100) -> list[HistoryImport]:
    return list(session.scalars(select(HistoryImport).order_by(HistoryImport.id.desc())
                                .limit(limit)))


def imported_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(ImportedRecord)) or 0
