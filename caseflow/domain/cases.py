"""What every kind of case shares: the rules of an action, the action request, a recorded step."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from caseflow.domain.access import Capability
from caseflow.domain.enums import Role
from caseflow.domain.errors import InvalidPayload
from caseflow.domain.records import Actor
from caseflow.domain.sla import CommitmentView, DeadlinesCarry, escalations_of, merge_rounds

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9+\-() ]{5,32}$")]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=4000)]
Unit = Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)]


def with_zone(value: datetime) -> datetime:
    """A datetime people send: it must say its time zone, and lie in a sensible range."""
    if value.tzinfo is None:
        raise ValueError("must include a time zone, e.g. 2026-11-22T09:30:00+08:00")
    if not 1970 <= value.year <= 2200:
        raise ValueError("must be between the years 1970 and 2200")
    return value


def _iso_text(pattern: str, example: str) -> Callable[[object], object]:
    """Dates and times are written as ISO 8601 text, never as a number (which pydantic would
    take for seconds since 1970)."""
    def check(value: object) -> object:
        if isinstance(value, str) and not re.match(pattern, value.strip()):
            raise ValueError(f"must be written like {example}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            raise ValueError(f"must be written like {example}, not as a number")
        return value
    return check


Zoned = Annotated[datetime, BeforeValidator(_iso_text(r"^\d{4}-\d{2}-\d{2}[T ]\d",
                                                      "2026-11-22T09:30:00+08:00")),
                  AfterValidator(with_zone)]
IsoDate = Annotated[date, BeforeValidator(_iso_text(r"^\d{4}-\d{2}-\d{2}$", "2026-11-22"))]


class Payload(BaseModel):
    """Base of what clients send: unknown fields are refused, not ignored."""

    model_config = ConfigDict(extra="forbid")


class AttachmentRef(Payload):
    """A reference to a document kept elsewhere (a file store, the hospital's system)."""

    name: Name
    ref: Annotated[str, StringConstraints(min_length=1, max_length=1000)]


@dataclass(frozen=True)
class PersonField:
    """A person named by id in a payload; the API checks them and fills in their name.

    `within` names a list field whose items carry the id (e.g. the actions of a plan).
    """

    id_field: str
    name_field: str
    roles: frozenset[Role] | None = None  # None: anyone in the directory
    within: str | None = None


@dataclass(frozen=True)
class ActionRule:
    """Who may take an action, in which states, with which payload."""

    payload: type[BaseModel]
    roles: frozenset[Role]
    statuses: frozenset[Any]
    summary: str
    people: tuple[PersonField, ...] = field(default=())

    def parse(self, payload: dict[str, Any]) -> BaseModel:
        """The payload as its model, or InvalidPayload naming the first bad field."""
        try:
            return self.payload.model_validate(payload)
        except ValidationError as error:
            first = error.errors()[0]
            raise InvalidPayload(first["msg"], field=".".join(map(str, first["loc"]))) from None


def rule(payload: type[BaseModel], roles: set[Role] | frozenset[Role], statuses: Any,
         summary: str, *people: PersonField) -> ActionRule:
    return ActionRule(payload, frozenset(roles), frozenset(statuses), summary, tuple(people))


class CaseAction(BaseModel):
    """One action as the API sends it to a case workflow (the Temporal update `act`).

    `idempotency_key` and `request_hash` let the workflow refuse a key reused for a different
    request (the same request again is deduplicated by Temporal through the update id).
    """

    action: str
    actor: Actor
    payload: dict[str, Any] = {}
    idempotency_key: str | None = None
    request_hash: str | None = None


class StepResult(BaseModel):
    """What the update `act` answers: that the step is taken, its number on the case's
    timeline and the status it left the case in (the API reads the case view by query, so
    the history holds this, not the whole case, for every step)."""

    case_id: str
    action: str
    seq: int
    status: str


class RequestKey(BaseModel):
    """A step's Idempotency-Key as the case remembers it: the hash of the request it took and
    the answer it got (a retry reaching a later run of the case gets the same answer)."""

    hash: str
    result: StepResult


class Step(BaseModel):
    """A recorded step: who, when, what they reported."""

    action: str
    at: datetime
    by: Actor
    data: dict[str, Any] = {}


class Recorded(BaseModel):
    """A report kept with who made it and when (safety measures, progress updates, checks,
    site assessments, measurement rounds, refusals)."""

    at: datetime
    by: Actor
    data: dict[str, object]


class LinkedCase(BaseModel):
    """Another case this one opened or refers to, and how it stands."""

    case_id: str
    kind: str
    relation: str
    status: str
    opened_at: datetime
    closed_at: datetime | None = None
    outcome: str | None = None


class Measurement(Payload):
    """One performance parameter: measured value, unit, specification range (an emergency's
    post-incident check, an installation's performance verification)."""

    name: Name
    value: float = Field(allow_inf_nan=False)
    unit: Unit = ""
    low: float | None = Field(default=None, allow_inf_nan=False)
    high: float | None = Field(default=None, allow_inf_nan=False)

    @model_validator(mode="after")
    def _range(self) -> Measurement:
        if self.low is None and self.high is None:
            raise ValueError("give the specification range: low, high or both")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError("low must not be above high")
        return self

    @property
    def within_spec(self) -> bool:
        return ((self.low is None or self.value >= self.low)
                and (self.high is None or self.value <= self.high))


class CorrectiveActionInput(Payload):
    """An improvement action with its owner and due date (a complaint's plan, an emergency's
    review); each is chased on the deadline machinery until its owner reports it done."""

    description: Text
    owner_id: Name
    owner_name: Name | None = Field(default=None, description="filled in by the API")
    due_at: Zoned


class CompleteAction(Payload):
    action_id: Name
    result: Text
    evidence: list[AttachmentRef] = Field(default=[], max_length=100)


class CorrectiveAction(BaseModel):
    id: str
    description: str
    owner_id: str
    owner_name: str
    due_at: datetime
    added_at: datetime
    done_at: datetime | None = None
    result: str | None = None
    evidence: list[AttachmentRef] = []


class RecordStatus(BaseModel):
    """Whether the case's record is sealed in the audit chain, and if not what it waits for."""

    sealed: bool
    position: int | None = Field(default=None, description="its link in the chain, once sealed")
    waits_for: str | None = Field(
        default=None, description="why it is not sealed yet, e.g. 'sealed when linked complaint "
                                  "CP-... closes'")
    waits: str | None = Field(
        default=None, description="the same as a code, for a reader to word in its language: "
                                  "void, case_open, linked_case, workflow_running, "
                                  "notifications, sealer, next_round")
    waits_params: dict[str, Any] = Field(
        default={}, description="what the code's wording needs: cases (linked_case), count "
                                "(notifications), seconds (sealer, next_round)")


class CaseView(BaseModel):
    """What every case's view shows: who opened it, who has it, its deadlines and steps."""

    case_id: str
    opened_at: datetime
    closed_at: datetime | None = None
    opened_by: Actor
    assignee: Actor | None = None
    breached: bool
    escalation_level: int
    commitments: list[CommitmentView]
    escalations: list[dict[str, Any]] = []
    steps: list[Step]
    earlier_steps: int = Field(
        default=0, description="steps of earlier runs not repeated in `steps` (every step is "
                               "on the timeline)")
    allowed_actions: list[str]
    policy_version: str
    run: int = Field(default=1, description="the workflow run the case is in: a long case "
                                            "continues as new, keeping its id")
    web_ui: str = Field(default="", description="the case's page in the Temporal Web UI")
    record: RecordStatus | None = Field(
        default=None, description="its audit record: sealed, or what sealing waits for (filled "
                                  "by the API)")


# Versions of the workflow code a case can be opened by (CaseStart.version), and the one new
# cases are opened by now.
OPENED_LEAN = 1  # lean histories; the classification, closing and commissioning clocks
RUNGS_BY_TIMER = 2  # the deadline watcher escalates when its timer fires, never by the clock
REVIEWS_AND_GROUPS = 3  # reportability reviews are opened; adverse events form group events
CODE_VERSION = REVIEWS_AND_GROUPS


class CaseStart(BaseModel):
    """What every kind's workflow input has besides its own fields."""

    # The version of the workflow code that opened the case (see OPENED_LEAN above): a case
    # opened at version 1 or later keeps a lean history and has every patch of that code in
    # force from its first event, so its workflow asks Temporal about none of them (no patch
    # markers, no TemporalChangeVersion upserts: two history events and a visibility write
    # fewer per patch). Inputs of cases opened before have no such field (0): they ask, and
    # replay as they ran. A patch added later is asked about as usual.
    version: int = 0


class CaseCarry(BaseModel):
    """What every case carries into its next run when it continues as new: its numbering, who
    has it, its deadline book, the steps of recent runs and the keys of recent requests. Each
    kind's carry adds its own state (field names are the workflow's attribute names)."""

    hospital_id: str
    opened_at: datetime
    assignee: Actor | None = None
    closed_at: datetime | None = None
    seq: int
    steps: list[Step] = []
    earlier_steps: int = 0
    request_keys: dict[str, RequestKey] = {}
    actions: dict[str, CorrectiveAction] = {}
    book: DeadlinesCarry
    run_number: int
    migrations: list[str] = []  # the policy migrations that moved it (each moves it once)
    review_asked: bool = False  # its reportability review was asked for


STAFF = frozenset({Role.supervisor, Role.manager, Role.director})


def with_earlier_runs(view: BaseModel, stored: list[dict[str, Any]] | None) -> BaseModel:
    """A case's view with the commitment rounds of its earlier runs, which only the case row
    keeps (`stored`): the view of a case that continued as new covers all its runs."""
    if isinstance(view, CaseView) and view.run > 1:
        view.commitments = merge_rounds(view.commitments, stored or [])
        view.escalations = escalations_of(view.commitments)
    return view


@dataclass(frozen=True)
class Confidential:
    """A kind whose deliberations only some readers see (a reportability review's decision,
    reason and author): the others read that the case exists and its status. The API applies
    it to the view, the timeline, the live feed and the event re-fetch, and refuses them the
    history and the export (which hold every payload)."""

    readers: frozenset[Role]
    events: frozenset[str]  # timeline events whose summary, data and actor are deliberations
    redact: Callable[[BaseModel], BaseModel]  # the view as the other readers see it

    def hides_from(self, role: Role) -> bool:
        return role not in self.readers


HIDDEN_SUMMARY = "(仅法规事务与审计可见)"


def redact_event(kind: CaseKind | None, role: Role, entry: dict[str, Any]) -> dict[str, Any]:
    """A timeline entry (or live message) of a case of `kind` as `role` may see it: an event
    that is a deliberation keeps its code and time, not its summary, data or author."""
    secret = kind.confidential if kind is not None else None
    if secret is None or not secret.hides_from(role) or entry.get("event") not in secret.events:
        return entry
    return entry | {"data": {}, "actor": {"id": "", "name": "", "role": None},
                    **({"summary": HIDDEN_SUMMARY} if "summary" in entry else {})}


@dataclass(frozen=True)
class CaseKind:
    """One kind of case: what the API, the store, search, the worker and the console need."""

    name: str  # "repair": the `kind` of its cases, views and search attribute
    prefix: str  # "RP": its case numbers are RP-<local day>-<number>
    workflow: str  # its workflow type name (never renamed: running cases and histories use it)
    workflow_module: str  # where the worker finds the workflow class
    view: type[BaseModel]  # what `GET /v1/cases/{id}` answers (its `kind` is `name`)
    rules: Mapping[str, ActionRule]  # its actions: payload, who, when
    statuses: type[StrEnum]  # every status a case of the kind can be in
    collection: str  # "repairs": POST /v1/repairs opens one, /v1/repairs/{id}/actions/...
    # How a person opens one over the API; None: only another case or a plan opens it.
    intake: type[BaseModel] | None = None
    start: type[BaseModel] | None = None  # the workflow input built from the intake
    open_with: Capability | None = None  # the capability POST /v1/<collection> needs
    title: Callable[[Any], str] | None = None  # the case's title (its list line) from the intake
    summary: Callable[[Any], str] | None = None  # Temporal's summary from the workflow input
    # When the unit has no contract: the hospital's contract in force decides the policy.
    contract_of_hospital: bool = False
    # Its cases put a unit out of service (uptime, reliability figures, the downtime watch).
    takes_units_down: bool = False
    opens_summary: str = ""  # what POST /v1/<collection> does, for its OpenAPI description
    opens_as: str = ""  # its verb in OpenAPI ("record_complaint"; default "open_<name>")
    desk: bool = False  # opened at the hotline's desk: an intake form of the console's
    # Deliberations only some roles read (None: every reader of the case reads all of it).
    confidential: Confidential | None = None
    # Its commitments are the contract's (service levels promised to a hospital), counted in the
    # SLA report; False for internal work a case opens on its own (a reportability review).
    contract_commitments: bool = True
    # Who is told at once when a case of this kind cannot be opened by another case.
    troubles_to: Role = Role.supervisor

    def status_names(self) -> tuple[str, ...]:
        """Its statuses, and `void`: a number issued whose case never started."""
        return (*(s.value for s in self.statuses), "void")
