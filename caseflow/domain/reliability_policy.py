"""The reliability part of the policy: which hours a contract covers, how much a fault of each
severity takes a unit down, the uptime a contract guarantees, and when faults count as a pattern.

It is a section of the SLA policy file (`reliability:` under `defaults` or a contract), merged
like every other section, but it is never pinned to a case: reports and uptime guards read the
policy in force when they run (docs/reports.md).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from caseflow.domain.calendar import Duration
from caseflow.domain.enums import FaultCategory, Role, Severity


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def wall_clock(duration: Duration) -> timedelta:
    """A duration as elapsed time (a day is 24 hours), for windows such as "within 30 days"."""
    return timedelta(days=duration.days, seconds=duration.seconds)


GuaranteePeriod = Literal["month", "quarter", "year"]


class Guarantee(_Strict):
    """Each unit of the contract is up at least `percent` of the covered hours of every period."""

    percent: float = Field(gt=0, lt=100)
    period: GuaranteePeriod = "quarter"


class RecurringFaults(_Strict):
    """`repairs` repairs of one model with the same fault category, each within `within` of the
    one before it, across the whole fleet, are a pattern; `notify` roles hear of it once."""

    repairs: int = Field(default=3, ge=2, le=100)
    within: Duration = Duration(days=90)
    notify: tuple[Role, ...] = (Role.manager, Role.auditor)
    # Categories too broad to make a pattern (and a "recurring fault" recommendation).
    ignore: tuple[FaultCategory, ...] = (FaultCategory.other,)

    @field_validator("notify")
    @classmethod
    def _someone(cls, roles: tuple[Role, ...]) -> tuple[Role, ...]:
        if not roles:
            raise ValueError("name at least one role to notify")
        return roles


DEFAULT_WEIGHTS = {Severity.critical: 1.0, Severity.severe: 1.0, Severity.general: 0.5,
                   Severity.minor: 0.0}


class ReliabilityPolicy(_Strict):
    """How uptime, the guarantee and fault patterns are counted (docs/reports.md)."""

    # The hours the contract covers: a calendar of the policy (7x24, or business hours with
    # holidays). Uptime, MTBF and MTTR are measured on it.
    calendar: str = "7x24"
    # How much of the unit a fault of each severity takes down: 1 fully down, 0 not down.
    down_weight: dict[Severity, float] = DEFAULT_WEIGHTS
    # A maintenance visit's planned downtime: left out of the covered hours (excluded), or
    # counted as downtime (counted).
    planned_downtime: Literal["excluded", "counted"] = "excluded"
    # How long a visit takes the unit down, ending when the visit is reported (visits record no
    # start time; imported visits may give their own).
    visit_downtime: Duration = Duration(seconds=4 * 3600)
    # A repair of the same unit and fault category within this after a restore is a repeat
    # repair, and the earlier repair was not a first-time fix.
    repeat_within: Duration = Duration(days=30)
    guarantee: Guarantee | None = None
    recurring: RecurringFaults = RecurringFaults()

    @field_validator("down_weight")
    @classmethod
    def _every_severity(cls, table: dict[Severity, float]) -> dict[Severity, float]:
        missing = [s.value for s in Severity if s not in table]
        if missing:
            raise ValueError(f"missing severities: {', '.join(missing)}")
        for severity, weight in table.items():
            if not 0.0 <= weight <= 1.0:
                raise ValueError(f"{severity.value}: a weight is between 0 and 1")
        return table
