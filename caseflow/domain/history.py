"""Past service records a vendor brings when it adopts caseflow (`caseflow import-history`):
repairs and maintenance visits from before, one per CSV row or YAML item, checked line by line.

A file is taken whole or not at all: every bad line is reported with its line number and field
(`HistoryRefused`), and nothing is written. The records are reported on as `imported`; they
have no workflow history, so they are never replayed or sealed.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, Field, StringConstraints, ValidationError, model_validator

from caseflow.domain.cases import Name, Note, Payload, Zoned
from caseflow.domain.enums import FaultCategory, Severity

Reference = Annotated[str, StringConstraints(strip_whitespace=True,
                                             pattern=r"^[A-Za-z0-9][A-Za-z0-9_./\-]{0,99}$")]
MAX_RECORDS = 100_000
COLUMNS = ("kind", "reference", "serial", "observed_at", "restored_at", "severity",
           "fault_category", "fault", "parts", "engineer", "satisfaction", "disputed", "due_on",
           "done_at", "down_hours")


class HistoryPart(Payload):
    part_no: Name
    name: Note = ""
    quantity: int = Field(default=1, ge=1, le=10_000)


class HistoryRecord(Payload):
    """One past repair (kind `repair`) or maintenance visit (kind `maintenance`)."""

    kind: Literal["repair", "maintenance"]
    reference: Reference = Field(description="the record's number in the old system; unique")
    serial: Name
    # a repair
    observed_at: Zoned | None = Field(default=None, description="when the fault was observed")
    restored_at: Zoned | None = None
    severity: Severity | None = None
    fault_category: FaultCategory | None = None
    fault: Note = ""
    parts: list[HistoryPart] = Field(default=[], max_length=100)
    engineer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    disputed: bool = False
    # a maintenance visit
    due_on: date | None = None
    done_at: Zoned | None = None
    down_hours: float | None = Field(default=None, ge=0, le=240, allow_inf_nan=False)

    @model_validator(mode="after")
    def _complete(self) -> HistoryRecord:
        if self.kind == "repair":
            for name in ("observed_at", "restored_at", "severity"):
                if getattr(self, name) is None:
                    raise _FieldError(name, "required for a repair")
            assert self.observed_at and self.restored_at
            if self.restored_at < self.observed_at:
                raise _FieldError("restored_at", "must not be before observed_at")
            for name in ("due_on", "done_at", "down_hours"):
                if getattr(self, name) is not None:
                    raise _FieldError(name, "only for a maintenance visit")
        else:
            if self.due_on is None:
                raise _FieldError("due_on", "required for a maintenance visit")
            for name in ("observed_at", "restored_at", "severity", "fault_category",
                         "satisfaction"):
                if getattr(self, name) is not None:
                    raise _FieldError(name, "only for a repair")
        return self


class _FieldError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field, self.message = field, message


class LineError(BaseModel):
    line: int  # 1 = the first line of the file (a CSV's header)
    field: str
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.message}"


class HistoryRefused(Exception):
    """The file cannot be imported; nothing was written. Every bad line (up to a limit)."""

    def __init__(self, errors: list[LineError]) -> None:
        super().__init__("; ".join(str(e) for e in errors[:5]))
        self.errors = errors


def read_records(content: str, fmt: Literal["csv", "yaml"], *,
                 now: datetime | None = None) -> list[tuple[int, HistoryRecord]]:
    """(line, record) for every record of the file, or HistoryRefused naming each bad line."""
    found, errors = parse_records(content, fmt, now=now)
    if errors:
        raise HistoryRefused(errors)
    return found


def parse_records(content: str, fmt: Literal["csv", "yaml"], *, now: datetime | None = None,
                  ) -> tuple[list[tuple[int, HistoryRecord]], list[LineError]]:
    """The good records of the file and the errors of the bad lines (a file that cannot be
    read at all raises HistoryRefused)."""
    rows = _csv_rows(content) if fmt == "csv" else _yaml_rows(content)
    if len(rows) > MAX_RECORDS:
        raise HistoryRefused([LineError(line=rows[MAX_RECORDS][0], field="(file)",
                                        message=f"more than {MAX_RECORDS} records")])
    now = now or datetime.now(timezone.utc)
    errors: list[LineError] = []
    found: list[tuple[int, HistoryRecord]] = []
    for line, raw in rows:
        try:
            record = HistoryRecord.model_validate(raw)
        except ValidationError as error:
            errors += [_line_error(line, item) for item in error.errors()[:3]]
            continue
        for name in ("observed_at", "restored_at", "done_at"):
            value = getattr(record, name)
            if value is not None and value > now:
                errors.append(LineError(line=line, field=name, message="is in the future"))
        found.append((line, record))
        if len(errors) >= 50:
            break
    if not rows and not errors:
        errors.append(LineError(line=1, field="(file)", message="no records"))
    return found, errors


def _line_error(line: int, item: Any) -> LineError:
    context = item.get("ctx") or {}
    error = context.get("error")
    if isinstance(error, _FieldError):
        return LineError(line=line, field=error.field, message=error.message)
    where = ".".join(str(p) for p in item["loc"]) or "(record)"
    return LineError(line=line, field=where, message=item["msg"])


def _csv_rows(content: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = reader.fieldnames or []
    unknown = [name for name in header if name not in COLUMNS]
    if not header or "kind" not in header:
        raise HistoryRefused([LineError(line=1, field="(header)", message=(
            "the first line names the columns: " + ", ".join(COLUMNS)))])
    if unknown:
        raise HistoryRefused([LineError(line=1, field=unknown[0], message=(
            "unknown column; known: " + ", ".join(COLUMNS)))])
    rows: list[tuple[int, dict[str, Any]]] = []
    start = reader.line_num + 1
    try:
        for row in reader:
            if None in row:
                raise HistoryRefused([LineError(line=start, field="(row)",
                                                message="more values than columns")])
            values = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
            if values:
                rows.append((start, _csv_values(start, values)))
            start = reader.line_num + 1
    except csv.Error as error:
        raise HistoryRefused([LineError(line=start, field="(row)", message=str(error))]) from None
    return rows


def _csv_values(line: int, values: dict[str, str]) -> dict[str, Any]:
    """CSV text into the record's shapes: parts as `PN:name:qty; PN:name:qty`, booleans."""
    out: dict[str, Any] = dict(values)
    if "parts" in values:
        parts = []
        for item in values["parts"].split(";"):
            if not item.strip():
                continue
            pieces = [p.strip() for p in item.split(":")]
            part: dict[str, Any] = {"part_no": pieces[0]}
            if len(pieces) > 1:
                part["name"] = pieces[1]
            if len(pieces) > 2:
                part["quantity"] = pieces[2]
            if len(pieces) > 3:
                raise HistoryRefused([LineError(line=line, field="parts", message=(
                    "write parts as part_no:name:quantity, separated by ';'"))])
            parts.append(part)
        out["parts"] = parts
    if "disputed" in values:
        text = values["disputed"].lower()
        out["disputed"] = {"yes": True, "true": True, "1": True, "是": True,
                           "no": False, "false": False, "0": False, "否": False}.get(text, text)
    return out


class _Lines(yaml.SafeLoader):
    """A YAML loader that remembers the line each mapping starts on, and takes no aliases (a
    record file needs none, and a few nested aliases can stand for billions of values)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed",
                                              event.start_mark)
        return super().compose_node(parent, index)


def _mapping(loader: _Lines, node: yaml.MappingNode) -> dict[str, Any]:
    value = loader.construct_mapping(node, deep=True)
    value["__line__"] = node.start_mark.line + 1
    return value


_Lines.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def _yaml_rows(content: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        data = yaml.load(content.lstrip("\ufeff"), Loader=_Lines)  # noqa: S506 (a safe loader)
    except (yaml.YAMLError, RecursionError) as error:
        mark = getattr(error, "problem_mark", None)
        raise HistoryRefused([LineError(line=(mark.line + 1) if mark else 1, field="(file)",
                                        message=f"not valid YAML: {error}")]) from None
    if isinstance(data, dict):
        data.pop("__line__", None)
        if set(data) != {"records"}:
            raise HistoryRefused([LineError(line=1, field="(file)", message=(
                "a list of records, or a mapping with only 'records'"))])
        data = data["records"]
    if not isinstance(data, list):
        raise HistoryRefused([LineError(line=1, field="records", message="must be a list")])
    rows = []
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise HistoryRefused([LineError(line=1, field=f"records.{index}",
                                            message="each record is a mapping")])
        line = item.pop("__line__", 1)
        rows.append((line, _strip_lines(item)))
    return rows


def _strip_lines(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_lines(v) for k, v in value.items() if k != "__line__"}
    if isinstance(value, list):
        return [_strip_lines(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()  # YAML reads timestamps itself; the record checks the zone
    return value
