"""The `regulatory:` section of the SLA policy: the regulators' clocks for reporting adverse
events, per jurisdiction and event type, each with its legal source (docs/regulatory.md).

A change of law is a change of this section, like any other deadline. The clocks are pinned to
an adverse-event case at its opening (`CasePolicy.regulatory`), with the calendars they name.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from caseflow.domain.calendar import Duration

Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
JurisdictionCode = Annotated[str, StringConstraints(pattern=r"^[A-Z][A-Z0-9_]{1,15}$")]


GROUP = "group"  # the event type of a group event (never one of the policy's event_types)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegulatoryClock(_Strict):
    """One reporting commitment: `within` on `calendar` (a calendar of the policy: `7x24` for
    calendar days or hours, a working-day calendar of the jurisdiction for work days), counted
    from the company's first awareness of the event, and the law that sets it."""

    within: Duration
    calendar: str = "7x24"
    source: str = Field(min_length=1, description="the legal source, article included")
    label: str = ""


class Jurisdiction(_Strict):
    """A market where units are registered: its regulator, its clocks per event type, the
    clock of a follow-up or supplemental report it asks for, the channels reports go by."""

    regulator: str = Field(min_length=1)
    clocks: dict[Code, RegulatoryClock]
    follow_up: RegulatoryClock
    channels: tuple[str, ...] = ()


# What an event can have in common with others of a group: its unit's make and its fault.
GroupField = Literal["brand", "model", "modality", "fault_category", "fault_code"]


class GroupClocks(_Strict):
    """A jurisdiction's clocks for a group event (群体不良事件): the report of the group itself,
    counted from the moment the group became known (its `count`-th event's awareness), and, if
    the law says so, the report of each of its events, counted from the later of the event's
    own awareness and the group's."""

    report: RegulatoryClock
    each_case: RegulatoryClock | None = None


class GroupRule(_Strict):
    """When several adverse events are one group event: at least `count` events whose
    awareness times lie within `within` of each other (on the wall clock), at `hospitals`
    hospitals or more, with the same values of the fields `same` (e.g. the unit's model and the
    fault category). An event whose awareness lies within `within` of a group's first or last
    event, with the same values, joins it. Jurisdictions without `clocks` get no group report."""

    count: int = Field(ge=2)
    within: Duration
    hospitals: int = Field(default=1, ge=1)
    same: tuple[GroupField, ...] = Field(min_length=1)
    clocks: dict[JurisdictionCode, GroupClocks] = {}

    @model_validator(mode="after")
    def _distinct(self) -> GroupRule:
        if len(set(self.same)) != len(self.same):
            raise ValueError("same: a field is named twice")
        if self.hospitals > self.count:
            raise ValueError("hospitals: more hospitals than events (count)")
        return self


class RegulatoryPolicy(_Strict):
    """The event types an adverse event is classified as, the jurisdictions and their clocks,
    and the clock of the event's own investigation and evaluation (the case is closed with it)."""

    event_types: tuple[Code, ...] = ()
    jurisdictions: dict[JurisdictionCode, Jurisdiction] = {}
    evaluation: RegulatoryClock | None = None
    group: GroupRule | None = None  # None: no group events are detected

    @model_validator(mode="after")
    def _every_event_type(self) -> RegulatoryPolicy:
        if GROUP in self.event_types:
            raise ValueError(f"event_types: {GROUP!r} is the type of a group event, opened by "
                             "its detection only")
        for code, place in self.jurisdictions.items():
            unknown = sorted(set(place.clocks) - set(self.event_types))
            if unknown:
                raise ValueError(f"jurisdictions.{code}.clocks: unknown event type "
                                 f"{unknown[0]!r}; event_types: {', '.join(self.event_types)}")
            missing = [t for t in self.event_types if t not in place.clocks]
            if missing:
                raise ValueError(f"jurisdictions.{code}.clocks: no clock for event type "
                                 f"{missing[0]!r}")
        for code in (self.group.clocks if self.group else {}):
            if code not in self.jurisdictions:
                raise ValueError(f"group.clocks.{code}: unknown jurisdiction {code!r}; "
                                 f"jurisdictions: {', '.join(self.jurisdictions)}")
        if self.jurisdictions and self.evaluation is None:
            raise ValueError("evaluation: required (the clock of the investigation and "
                             "evaluation that closes an adverse event)")
        return self

    def clocks(self) -> list[tuple[str, RegulatoryClock]]:
        """Every clock with its path in the policy (for the calendar check)."""
        found = [(f"regulatory.jurisdictions.{code}.{where}", clock)
                 for code, place in self.jurisdictions.items()
                 for where, clock in [*((f"clocks.{t}", c) for t, c in place.clocks.items()),
                                      ("follow_up", place.follow_up)]]
        for code, clocks in (self.group.clocks if self.group else {}).items():
            found.append((f"regulatory.group.clocks.{code}.report", clocks.report))
            if clocks.each_case is not None:
                found.append((f"regulatory.group.clocks.{code}.each_case", clocks.each_case))
        if self.evaluation is not None:
            found.append(("regulatory.evaluation", self.evaluation))
        return found

    def unknown_event_type(self, event_type: str) -> str | None:
        """Why `event_type` cannot be used, if so."""
        if event_type not in self.event_types:
            return (f"unknown event type {event_type!r}; the policy knows: "
                    f"{', '.join(self.event_types) or 'none'}")
        return None

    def unknown_jurisdiction(self, code: str) -> str | None:
        if code not in self.jurisdictions:
            return (f"unknown jurisdiction {code!r}; the policy knows: "
                    f"{', '.join(self.jurisdictions) or 'none'}")
        return None
