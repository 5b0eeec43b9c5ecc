"""What regulatory affairs and managers read of the regulators' clocks: the regulatory board
(open reports by remaining time per jurisdiction, overdue first) and the SLA report's regulatory
section (reports met on time, late, open overdue per jurisdiction and event type), both from
the commitments each adverse event's page shows (docs/regulatory.md)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from caseflow.domain.sla import CommitmentView

_REPORT = re.compile(r"^report:(?P<code>[A-Z][A-Z0-9_]*)$")
_FOLLOW_UP = re.compile(r"^follow_up:(?P<code>[A-Z][A-Z0-9_]*):(?P<report>F\d+)$")
_GROUP_CASE = re.compile(r"^group_case:(?P<code>[A-Z][A-Z0-9_]*)$")
WAITING = ("open", "breached", "paused")  # not met, not waived


def report_of(key: str) -> tuple[str, str] | None:
    """(jurisdiction, report) of a report commitment's key: `report:CN` is CN's initial
    report, `follow_up:EU:F1` EU's follow-up F1, `group_case:CN` the same initial report on the
    clock of a case of a group event (`group_case`); None for any other commitment."""
    if found := _REPORT.match(key):
        return found["code"], "initial"
    if found := _GROUP_CASE.match(key):
        return found["code"], "group_case"
    if found := _FOLLOW_UP.match(key):
        return found["code"], found["report"]
    return None


# ----- the board ---------------------------------------------------------------------------------

class BoardItem(BaseModel):
    """One report still due to one regulator."""

    case_id: str
    hospital_id: str
    equipment_serial: str | None
    event_type: str
    status: str
    assignee_id: str | None
    jurisdiction: str
    report: str = Field(description="initial, or a follow-up's id (F1...)")
    commitment: str = Field(description="its commitment's key: report:CN, follow_up:EU:F1")
    due_at: datetime | None
    remaining_seconds: float | None = Field(description="until its due time; negative: overdue")
    overdue: bool
    escalation_level: int
    warned: bool


class BoardColumn(BaseModel):
    jurisdiction: str
    regulator: str
    due: int = Field(description="reports still due")
    overdue: int
    items: list[BoardItem] = Field(description="overdue first, then by remaining time")


class RegulatoryBoard(BaseModel):
    now: datetime
    events: int = Field(description="open adverse events")
    columns: list[BoardColumn]


def regulatory_board(events: Iterable[dict[str, Any]], now: datetime,
                     regulators: dict[str, str]) -> RegulatoryBoard:
    """`events`: each {case_id, hospital_id, equipment_serial, event_type, status, assignee_id,
    commitments}; `regulators`: jurisdiction code -> regulator (the policy's), the columns'
    order; a jurisdiction the policy no longer names gets a column after them."""
    columns: dict[str, list[BoardItem]] = {code: [] for code in regulators}
    count = 0
    for event in events:
        count += 1
        for raw in event["commitments"] or []:
            view = CommitmentView.model_validate(raw)
            found = report_of(view.key)
            if found is None or view.state not in WAITING:
                continue
            remaining = (view.due_at - now).total_seconds() if view.due_at else None
            columns.setdefault(found[0], []).append(BoardItem(
                case_id=event["case_id"], hospital_id=event["hospital_id"],
                equipment_serial=event["equipment_serial"], event_type=event["event_type"],
                status=event["status"], assignee_id=event["assignee_id"],
                jurisdiction=found[0], report=found[1], commitment=view.key,
                due_at=view.due_at, remaining_seconds=remaining,
                overdue=view.breached or (remaining is not None and remaining < 0),
                escalation_level=view.escalation_level, warned=view.warned))
    return RegulatoryBoard(now=now, events=count, columns=[
        BoardColumn(jurisdiction=code, regulator=regulators.get(code, code),
                    due=len(items), overdue=sum(i.overdue for i in items),
                    items=sorted(items, key=lambda i: (not i.overdue, i.due_at or now,
                                                       i.case_id)))
        for code, items in columns.items()])


# ----- the SLA report's regulatory section -------------------------------------------------------

class RegulatoryRow(BaseModel):
    """Reports to one jurisdiction's regulator on events of one type (initial reports, or
    follow-ups), of the adverse events opened in the report's period."""

    jurisdiction: str
    event_type: str
    report: str = Field(description="initial, or follow_up (every follow-up report)")
    events: int
    reports: int
    met: int = Field(description="submitted on time")
    met_late: int = Field(description="submitted after the due time")
    breached_open: int = Field(description="not submitted, past the due time (open overdue)")
    open: int = Field(description="not submitted, not due yet")
    met_percent: float | None = Field(description="on time / (on time + late + open overdue)")


REGULATORY_COLUMNS = ("jurisdiction", "event_type", "report", "events", "reports", "met_percent",
                      "met", "met_late", "breached_open", "open")


def regulatory_rows(cases: Iterable[dict[str, Any]]) -> list[RegulatoryRow]:
    """`cases`: as for the SLA report, each adverse event with its `event_type`; other kinds are
    passed over."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for case in cases:
        if case["kind"] != "adverse_event":
            continue
        for raw in case["commitments"] or []:
            view = CommitmentView.model_validate(raw)
            found = report_of(view.key)
            if found is None or view.state == "waived":
                continue
            key = (found[0], case.get("event_type") or "",
                   found[1] if found[1] in ("initial", "group_case") else "follow_up")
            group = groups.setdefault(key, {"events": set(), "states": defaultdict(int)})
            group["events"].add(case["case_id"])
            group["states"]["breached_open" if view.state == "breached" else
                            "open" if view.state == "paused" else view.state] += 1
    rows = []
    for (code, event_type, report), group in sorted(groups.items()):
        states = group["states"]
        decided = states["met"] + states["met_late"] + states["breached_open"]
        rows.append(RegulatoryRow(
            jurisdiction=code, event_type=event_type, report=report,
            events=len(group["events"]), reports=sum(states.values()), met=states["met"],
            met_late=states["met_late"], breached_open=states["breached_open"],
            open=states["open"],
            met_percent=round(100 * states["met"] / decided, 1) if decided else None))
    return rows


def regulatory_table(rows: list[RegulatoryRow]) -> list[list[Any]]:
    return [[getattr(row, column) for column in REGULATORY_COLUMNS] for row in rows]
