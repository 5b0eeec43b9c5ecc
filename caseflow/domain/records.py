"""Arguments of the recording activities: timeline events, projections, escalations, notices.

Every record carries the workflow id and a sequence number the workflow assigns, so a retried
activity writes nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from caseflow.domain.enums import Role
from caseflow.domain.sla import CommitmentView


class Actor(BaseModel):
    """The person behind an action (from their token), or the system itself."""

    id: str
    name: str
    role: Role | None = None


SYSTEM = Actor(id="system", name="caseflow")


class NoticeRequest(BaseModel):
    """A message for the outbox: to one person, or to everyone with a role for the hospital.

    With `template` (a code of domain/notices.py) and its `params`, it is worded when it is
    sent, in the recipient's language and time zone, and the outbox row keeps its zh-CN
    wording; without one, `subject` and `body` are sent as written (cases recorded before
    notices had templates)."""

    to_person_id: str | None = None
    to_role: Role | None = None
    subject: str = ""
    body: str = ""
    urgent: bool = False
    template: str | None = None
    params: dict[str, Any] = {}


class CaseProjection(BaseModel):
    """The case row managers list and filter (the workflow stays the source of truth)."""

    case_id: str
    kind: str
    status: str
    severity: str | None
    hospital_id: str
    equipment_serial: str | None
    assignee_id: str | None
    breached: bool
    title: str
    opened_at: datetime
    closed_at: datetime | None = None
    policy_version: str
    # The deadlines as the case page shows them, for lists, "due soon" and the SLA report.
    next_due_at: datetime | None = None  # the earliest due time of an open, running commitment
    next_due_key: str | None = None
    # The rounds that changed: every open one and those closed since the last record; the
    # database merges them by (key, round) into the case's full list.
    commitments: list[CommitmentView] = []


class CaseEvent(BaseModel):
    """One line of a case's timeline."""

    case_id: str
    workflow_id: str
    run_id: str
    seq: int
    event: str
    at: datetime
    actor: Actor
    summary: str
    data: dict[str, Any] = {}
    projection: CaseProjection | None = None  # one per event (the record_case_event activity)
    notices: list[NoticeRequest] = []


class CaseEvents(BaseModel):
    """The events of one step (or of the intake), written in one transaction with the
    projection of the case after the last of them."""

    events: list[CaseEvent]
    projection: CaseProjection


class EscalationRecord(BaseModel):
    """A fired ladder rung with where it must go; recorded once per case, commitment, round, level."""

    case_id: str
    workflow_id: str
    run_id: str
    seq: int
    commitment: str
    label: str
    round: int
    level: int
    notify: str
    owner: str
    assignee_id: str | None
    hospital_id: str
    scheduled_at: datetime
    fired_at: datetime
    due_at: datetime | None
    urgent: bool
    summary: str
    projection: CaseProjection


class OpenedCase(BaseModel):
    """What an activity that opened and started a linked case on its own answers: its number
    (the start input stays out of the opening case's history)."""

    case_id: str


# Activity names: workflows call activities by name, never importing their implementations.
RECORD_CASE_EVENT = "record_case_event"
RECORD_CASE_EVENTS = "record_case_events"
RECORD_ESCALATION = "record_escalation"
OPEN_LINKED_COMPLAINT = "open_linked_complaint"
OPEN_LINKED_EMERGENCY = "open_linked_emergency"
OPEN_LINKED_REVIEW = "open_linked_review"
OPEN_LINKED_ADVERSE_EVENT = "open_linked_adverse_event"
ON_CALL_CHAIN = "on_call_chain"
ACCEPT_INSTALLATION = "accept_installation"
OPEN_MAINTENANCE_VISIT = "open_maintenance_visit"
OPEN_LINKED_REPAIR = "open_linked_repair"
PLACE_IN_GROUP = "place_in_group"
SET_EQUIPMENT_STATUS = "set_equipment_status"
START_MAINTENANCE_PLAN = "start_maintenance_plan"
