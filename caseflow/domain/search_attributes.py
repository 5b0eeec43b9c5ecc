"""The search attributes that make cases findable in Temporal (and its Web UI): their names, and
the ones a case starts with. Pure data, so the API, the activities and the workflows that open
a case share it without loading each other."""

from __future__ import annotations

from typing import Any

from temporalio.common import (
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

CASE_KIND = SearchAttributeKey.for_keyword("CaseKind")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
SEVERITY = SearchAttributeKey.for_keyword("Severity")
HOSPITAL_ID = SearchAttributeKey.for_keyword("HospitalId")
EQUIPMENT_SERIAL = SearchAttributeKey.for_keyword("EquipmentSerial")
ASSIGNEE_ID = SearchAttributeKey.for_keyword("AssigneeId")
SLA_BREACHED = SearchAttributeKey.for_bool("SlaBreached")

KEYS: dict[str, SearchAttributeKey[Any]] = {
    key.name: key for key in (CASE_KIND, CASE_STATUS, SEVERITY, HOSPITAL_ID, EQUIPMENT_SERIAL,
                              ASSIGNEE_ID, SLA_BREACHED)}


def values(kind: str, status: str, hospital_id: str, equipment_serial: str | None,
           severity: str | None, assignee_id: str | None, breached: bool) -> dict[str, Any]:
    """Every search attribute of a case, by name (empty text for what it has none of)."""
    return {"CaseKind": kind, "HospitalId": hospital_id,
            "EquipmentSerial": equipment_serial or "", "CaseStatus": str(status),
            "Severity": str(severity or ""), "AssigneeId": assignee_id or "",
            "SlaBreached": breached}


def at_start(kind: str, start: Any, hospital_id: str,
             equipment_serial: str | None) -> TypedSearchAttributes:
    """The search attributes a case is started with: what its workflow's first state says
    (its start input's `first_status`, and `first_severity` if it has one), so that the
    workflow has nothing to upsert at its intake. Every start uses it: the API's, an
    activity's, a case opening a linked one."""
    return typed(values(kind, start.first_status, hospital_id, equipment_serial,
                        getattr(start, "first_severity", None), None, False))


def typed(values: dict[str, Any]) -> TypedSearchAttributes:
    """Search attributes for starting a workflow, from name -> value."""
    return TypedSearchAttributes([SearchAttributePair(KEYS[name], value)
                                  for name, value in values.items()])
