"""Reading a case's timeline as reliability facts (domain/reliability.py).

The timeline events and their data are what the workflows record (`opened` with the intake,
`diagnose` with the fault category, `order-parts`, `resolve`, `dispute`, `callback` with the
satisfaction, `pause` / `resume`, a visit's `report`...), so reports never query a workflow and
agree with the case pages. Pure: given the case row and its events as plain dicts.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from caseflow.domain.reliability import Hold, PartUsed, RepairFact, VisitFact

# Events that stop the clock because the case waits on the customer, and those that restart it.
HOLD_STARTS = {"pause", "quote"}
HOLD_ENDS = {"resume", "approve-quote", "decline-quote"}


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _holds(events: list[dict[str, Any]]) -> list[Hold]:
    holds: list[Hold] = []
    for event in events:
        name = event["event"]
        if name in HOLD_STARTS and (not holds or holds[-1].end is not None):
            holds.append(Hold(start=event["at"]))
        elif name in HOLD_ENDS and holds and holds[-1].end is None:
            holds[-1].end = event["at"]
    return holds


def repair_fact(case: dict[str, Any], events: list[dict[str, Any]]) -> RepairFact:
    """A repair's facts: down from the fault observed to the last restore, pauses out."""
    opened = next((e for e in events if e["event"] == "opened"), None)
    intake = (opened or {}).get("data", {}).get("intake", {}) if opened else {}
    observed = _instant(intake.get("observed_at")) or case["opened_at"]
    restored: datetime | None = None
    engineer_id, engineer_name = case.get("assignee_id"), None
    fault_category, satisfaction, ended = None, None, None
    disputed = False
    parts: list[PartUsed] = []
    for event in events:
        name, data = event["event"], event.get("data") or {}
        if name == "resolve":
            restored = event["at"]
            engineer_id, engineer_name = event.get("actor_id"), event.get("actor_name")
        elif name == "dispute":
            restored, disputed = None, True
        elif name == "diagnose":
            fault_category = data.get("fault_category")
        elif name == "order-parts":
            parts += [PartUsed(part_no=str(p.get("part_no", "")), name=str(p.get("name", "")),
                               quantity=int(p.get("quantity", 1)))
                      for p in data.get("parts", []) if isinstance(p, dict)]
        elif name in ("decline-quote", "close-self-resolved"):
            ended = event["at"]  # no repair: down until the customer declined, or it cleared
        elif name == "callback":
            value = data.get("satisfaction")
            satisfaction = value if isinstance(value, int) else None
    restores = [c for c in case.get("commitments") or [] if c.get("key") == "restore"]
    return RepairFact(
        ref=case["case_id"], kind="repair", serial=case["equipment_serial"],
        restore_due_at=_instant(restores[-1].get("due_at")) if restores else None,
        severity=case.get("severity"), fault_category=fault_category,
        fault=str(intake.get("symptom", case.get("title", ""))),
        observed_at=min(observed, case["opened_at"]), opened_at=case["opened_at"],
        restored_at=restored, ended_at=None if restored else ended, holds=_holds(events),
        disputed=disputed, parts=parts, engineer_id=engineer_id, engineer_name=engineer_name,
        satisfaction=satisfaction)


def emergency_fact(case: dict[str, Any], events: list[dict[str, Any]]) -> RepairFact:
    """An emergency: down (critical) from its declaration to the last restore that passed its
    check; one opened from a repair is the same fault, so not a second failure."""
    opened = next((e for e in events if e["event"] == "opened"), None)
    intake = (opened or {}).get("data", {}).get("intake", {}) if opened else {}
    restored: datetime | None = None
    stood_down = False
    satisfaction = None
    for event in events:
        name, data = event["event"], event.get("data") or {}
        if name == "restored":
            restored = event["at"]
        elif name == "performance-check" and data.get("passed") is False:
            restored = None
        elif name == "stand-down":
            stood_down = True
        elif name == "survey" and isinstance(data.get("satisfaction"), int):
            satisfaction = data["satisfaction"]
    return RepairFact(
        ref=case["case_id"], kind="emergency", serial=case["equipment_serial"],
        severity="critical", fault=str(intake.get("impact", case.get("title", ""))),
        observed_at=case["opened_at"], opened_at=case["opened_at"], restored_at=restored,
        ended_at=case.get("closed_at") if restored is None else None,
        satisfaction=satisfaction, counts_as_failure=not intake.get("related_case_id"),
        counts_as_down=not stood_down)


def visit_fact(case: dict[str, Any], events: list[dict[str, Any]],
               visit_downtime: timedelta) -> VisitFact | None:
    """A maintenance visit: due on its date, on time if reported within its window; its planned
    downtime is `visit_downtime` ending at the report (visits record no start time)."""
    opened = next((e for e in events if e["event"] == "opened"), None)
    due_text = (opened or {}).get("data", {}).get("due_on") if opened else None
    if not isinstance(due_text, str):
        return None
    try:
        due_on = date.fromisoformat(due_text)
    except ValueError:
        return None
    windows = [c for c in case.get("commitments") or [] if c.get("key") == "visit"]
    due_at = _instant(windows[-1].get("due_at")) if windows else None
    done_at = engineer_id = engineer_name = None
    cancelled = False
    for event in events:
        name, data = event["event"], event.get("data") or {}
        if name == "assign":
            engineer_id = data.get("engineer_id") or engineer_id
            engineer_name = data.get("engineer_name") or engineer_name
        elif name == "report":
            done_at = event["at"]
            engineer_id, engineer_name = event.get("actor_id"), event.get("actor_name")
        elif name == "cancel":
            cancelled = True
    return VisitFact(
        ref=case["case_id"], serial=case["equipment_serial"], due_on=due_on, due_at=due_at,
        done_at=done_at, cancelled=cancelled, engineer_id=engineer_id,
        engineer_name=engineer_name,
        planned_from=done_at - visit_downtime if done_at else None, planned_to=done_at)


# The events each kind's facts are read from (the store reads only these).
FACT_EVENTS = frozenset({
    "opened", "resolve", "dispute", "diagnose", "order-parts", "decline-quote", "callback",
    "close-self-resolved",
    "pause", "resume", "quote", "approve-quote", "restored", "performance-check", "stand-down",
    "survey", "assign", "report", "cancel"})
