"""The SLA policy: commitments per case kind, calendars and the escalation ladder.

`SlaPolicy` is what a policy file says (defaults, then each contract's overrides merged in).
`CasePolicy` is the policy pinned to one case at intake: calendars resolved to explicit days off,
so a workflow can compute every deadline without I/O for as long as the case lives.
"""

from __future__ import annotations

import itertools
from datetime import date, time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from caseflow.domain.calendar import Duration, LeanInHistory, WorkingCalendar
from caseflow.domain.enums import (
    ComplaintCategory,
    EmergencyTrigger,
    FaultCategory,
    PatientHarm,
    Role,
    Severity,
)
from caseflow.domain.monitoring import MonitoringPolicy
from caseflow.domain.regulatory_policy import RegulatoryPolicy
from caseflow.domain.reliability_policy import ReliabilityPolicy

Owner = Literal["assignee", "hotline", "supervisor", "on_call", "regulatory"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
QUOTATION_PAUSE = "awaiting_quotation_approval"
SITE_PAUSE = "site_not_ready"  # an installation waits for the hospital to fix its site
LOCAL = "local"  # the built-in 7x24 calendar in the policy's time zone (dates people set)
WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# The policy section of a kind whose section is not named after it.
SECTION_OF = {"adverse_event": "regulatory"}
SECTIONS = ("repair", "complaint", "emergency", "installation", "maintenance", "review")


def known_zone(name: str | None) -> str | None:
    if name is not None:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{name!r} is not a known time zone (e.g. Asia/Shanghai)") from None
    return name


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CommitmentSpec(_Strict, LeanInHistory):
    """One promise: done `within` a duration of its calendar, or `by` the end of the local day."""

    within: Duration | None = None
    by: Literal["end_of_day"] | None = None
    calendar: str = "7x24"
    pausable: bool = True
    owner: Owner = "assignee"
    label: str = ""
    # A paging commitment has no warning and no ladder: when it is due, the workflow pages the
    # next person of the on-call chain and starts a new round (an emergency's acknowledgement).
    paging: bool = False
    # Reminders to the owner at every multiple of this before due (e.g. missing signatures).
    remind_every: Duration | None = None

    @model_validator(mode="after")
    def _one_deadline(self) -> CommitmentSpec:
        if (self.within is None) == (self.by is None):
            raise ValueError("give exactly one of 'within' (a duration) or 'by: end_of_day'")
        if self.paging and (self.within is None or self.pausable):
            raise ValueError("a paging commitment needs 'within' and 'pausable: false'")
        if self.paging and self.remind_every is not None:
            raise ValueError("a paging commitment has no reminders")
        return self


class LadderStep(_Strict):
    level: int = Field(ge=1, le=9)
    at: float = Field(ge=1.0, description="fraction of the commitment's duration, 1.0 = due")
    notify: Role


class Ladder(_Strict):
    """Warning to the owner at `warning_at`, then each level once at its fraction of the duration."""

    warning_at: float = Field(default=0.75, gt=0.0, lt=1.0)
    levels: tuple[LadderStep, ...]
    # The rungs sent at once, day or night, by the case's severity (0 = the warning, 1.. the
    # levels); the others wait for their recipient's working hours. None: every level of a
    # critical or severe case (what it was before the setting). An emergency's rungs always
    # go at once, a repair not classified yet is treated as critical.
    at_once: dict[Severity, tuple[int, ...]] | None = None

    def urgent(self, severity: Severity | None, level: int) -> bool:
        """Whether a rung of this level, of a case of this severity, goes out at once."""
        severity = severity or Severity.critical
        if self.at_once is None:
            return level >= 1 and severity in (Severity.critical, Severity.severe)
        return level in self.at_once.get(severity, ())

    @field_validator("levels")
    @classmethod
    def _ordered(cls, levels: tuple[LadderStep, ...]) -> tuple[LadderStep, ...]:
        if not levels:
            raise ValueError("the ladder needs at least one level")
        for before, after in itertools.pairwise(levels):
            if after.level != before.level + 1 or after.at <= before.at:
                raise ValueError("levels must be numbered 1, 2, 3... with increasing 'at'")
        if levels[0].level != 1:
            raise ValueError("the first level must be level 1")
        return levels

    @model_validator(mode="after")
    def _known_rungs(self) -> Ladder:
        for severity, rungs in (self.at_once or {}).items():
            unknown = sorted(set(rungs) - set(range(len(self.levels) + 1)))
            if unknown:
                raise ValueError(f"at_once.{severity.value}: no rung {unknown} on this ladder "
                                 f"(0 is the warning, 1-{len(self.levels)} the levels)")
        return self


class CalendarSpec(_Strict):
    always_open: bool = False
    timezone: str | None = None
    workdays: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri")
    opens: time = time(8, 0)
    closes: time = time(17, 30)
    holidays_country: str | None = "CN"
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)

    @field_validator("holidays_country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value is None:
            return None
        import holidays  # only when a policy file is read, never inside a workflow

        if value not in holidays.list_supported_countries():
            raise ValueError(f"{value!r} is not a country the holidays package knows (e.g. CN)")
        return value

    @model_validator(mode="after")
    def _hours_in_order(self) -> CalendarSpec:
        if not self.always_open and self.closes <= self.opens:
            raise ValueError("closes must be later than opens")
        if not self.always_open and not self.workdays:
            raise ValueError("a business calendar needs at least one working day")
        return self


def _spec(within: str, label: str, owner: Owner = "assignee", **more: object) -> CommitmentSpec:
    return CommitmentSpec.model_validate(
        {"within": within, "label": label, "owner": owner, "pausable": False, **more})


class RepairPolicy(_Strict):
    # A repair opened without a severity: someone classifies it within this (docs/sla-policy.md
    # "No case without a clock"); until then its arrival runs on the strictest arrival.
    classification: CommitmentSpec = _spec("15m", "分级", "supervisor")
    handover: CommitmentSpec
    arrival: dict[Severity, CommitmentSpec]
    restore: dict[Severity, CommitmentSpec]
    restore_severe_by_fault: dict[FaultCategory, CommitmentSpec] = {}
    progress: CommitmentSpec
    customer_confirmation: CommitmentSpec
    callback: CommitmentSpec

    @field_validator("arrival", "restore")
    @classmethod
    def _every_severity(cls, table: dict[Severity, CommitmentSpec]) -> dict:
        missing = [s.value for s in Severity if s not in table]
        if missing:
            raise ValueError(f"missing severities: {', '.join(missing)}")
        return table


class ComplaintPolicy(_Strict):
    """Commitments of a complaint (DOMAIN.md section 2); corrective actions carry their own
    due dates, set in the plan."""

    first_feedback: CommitmentSpec
    team: CommitmentSpec
    plan: CommitmentSpec
    answer: CommitmentSpec
    callback: CommitmentSpec
    close: CommitmentSpec = CommitmentSpec(within=Duration(days=2),
                                           label="结案")


class EmergencyPolicy(_Strict):
    """Commitments of an emergency (DOMAIN.md section 4). A patient is at risk: no clock of an
    emergency ever pauses. The defaults are the DOMAIN.md figures; the post-incident ones
    (check, survey, review) are ours."""

    notify: CommitmentSpec = _spec("1m", "通知值班", "hotline")
    acknowledge: CommitmentSpec = _spec("5m", "应答", "on_call", paging=True)
    on_site: CommitmentSpec = _spec("30m", "到场/远程")
    progress: CommitmentSpec = _spec("30m", "进展通报")
    check: CommitmentSpec = _spec("24h", "事后性能检查")
    survey: CommitmentSpec = _spec("2d", "满意度调查", "hotline")
    review: CommitmentSpec = _spec("7d", "事后复盘", "supervisor")
    # Reviewed, every improvement action done: the supervisor closes it (no case without a
    # clock, docs/sla-policy.md).
    close: CommitmentSpec = _spec("2d", "结案", "supervisor")

    @model_validator(mode="after")
    def _acknowledge_pages(self) -> EmergencyPolicy:
        if not self.acknowledge.paging:
            raise ValueError("acknowledge: must be a paging commitment (paging: true)")
        return self


class InstallationPolicy(_Strict):
    """Commitments of an installation (DOMAIN.md section 3). Site assessment and delivery are
    due by the delivery date of the order, which the order itself gives."""

    site_fix: CommitmentSpec = _spec("14d", "现场整改", "hotline",
                                     remind_every="2d")
    commissioning: CommitmentSpec = CommitmentSpec.model_validate(
        {"within": "14d", "label": "安装调试"})
    signatures: CommitmentSpec = _spec("7d", "验收签字",
                                       "supervisor", remind_every="2d")


class MaintenancePolicy(_Strict):
    """A preventive-maintenance visit: opened on its due date, done within its window."""

    assign: CommitmentSpec = _spec("2d", "派工", "supervisor")
    visit: CommitmentSpec = _spec("14d", "预防性维护")
    confirmation: CommitmentSpec = _spec("3d", "客户确认", "hotline")


class ReviewRules(_Strict):
    """What flags a case for the reportability review: any one of these matching (each a list
    of codes; an empty list matches nothing)."""

    triggers: tuple[EmergencyTrigger, ...] = (EmergencyTrigger.patient_safety,)
    patient_harmed: tuple[PatientHarm, ...] = (PatientHarm.yes,)
    severities: tuple[Severity, ...] = (Severity.critical,)
    fault_categories: tuple[FaultCategory, ...] = ()
    complaint_categories: tuple[ComplaintCategory, ...] = (ComplaintCategory.equipment_failure,)


class ReviewPolicy(_Strict):
    """The reportability review (docs/regulatory.md): which cases the rules flag, how soon
    regulatory affairs decides a flagged and an unflagged one, and whether a closed repair no
    rule flagged is reviewed by a person or recorded as screened by the rules."""

    flagged: CommitmentSpec = _spec("1d", "可报告性评审(已标记)", "regulatory")
    unflagged: CommitmentSpec = _spec("5d", "可报告性评审", "regulatory")
    unflagged_repairs: Literal["screen", "review"] = "screen"
    rules: ReviewRules = ReviewRules()

    def specs(self) -> list[tuple[str, CommitmentSpec]]:
        return [("flagged", self.flagged), ("unflagged", self.unflagged)]


class SlaPolicy(_Strict):
    """A complete policy: the file's defaults, or the defaults with one contract's overrides."""

    timezone: str = "Asia/Shanghai"
    calendars: dict[str, CalendarSpec]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        return known_zone(value)
    ladder: Ladder
    pause_reasons: tuple[str, ...]
    repair: RepairPolicy
    complaint: ComplaintPolicy
    emergency: EmergencyPolicy = EmergencyPolicy()
    installation: InstallationPolicy = InstallationPolicy()
    maintenance: MaintenancePolicy = MaintenancePolicy()
    # Uptime, guarantees and fault patterns (domain/reliability_policy.py); never pinned to a case.
    reliability: ReliabilityPolicy = ReliabilityPolicy()
    # What a unit's alarms do (domain/monitoring.py); never pinned to a case.
    monitoring: MonitoringPolicy = MonitoringPolicy()
    # The regulators' clocks for adverse events (domain/regulatory_policy.py); pinned to an
    # adverse-event case.
    regulatory: RegulatoryPolicy = RegulatoryPolicy()
    # The reportability review of complaints, patient-safety emergencies and closed repairs;
    # pinned to a review case.
    review: ReviewPolicy = ReviewPolicy()

    @model_validator(mode="after")
    def _calendars_exist(self) -> SlaPolicy:
        for needed, why in ((QUOTATION_PAUSE, "quotation wait"), (SITE_PAUSE, "site not ready")):
            if needed not in self.pause_reasons:
                raise ValueError(f"pause_reasons must include {needed!r} ({why})")
        if self.ladder.levels[0].at != 1.0:
            raise ValueError("ladder: level 1 is the breach, so its 'at' must be 1.0")
        for where, spec in self.commitment_specs():
            if spec.calendar not in self.calendars:
                raise ValueError(f"{where}: unknown calendar {spec.calendar!r}")
            if where.startswith("emergency.") and not self.calendars[spec.calendar].always_open:
                raise ValueError(f"{where}: an emergency runs day and night; its calendar "
                                 f"{spec.calendar!r} must be always open (e.g. 7x24)")
        for where, clock in self.regulatory.clocks():
            if clock.calendar not in self.calendars:
                raise ValueError(f"{where}: unknown calendar {clock.calendar!r}")
        if self.reliability.calendar not in self.calendars:
            raise ValueError(f"reliability.calendar: unknown calendar {self.reliability.calendar!r}")
        return self

    def commitment_specs(self) -> list[tuple[str, CommitmentSpec]]:
        found: list[tuple[str, CommitmentSpec]] = []
        for kind, section in (("repair", self.repair), ("complaint", self.complaint),
                              ("emergency", self.emergency), ("installation", self.installation),
                              ("maintenance", self.maintenance)):
            for name, value in section:
                if isinstance(value, CommitmentSpec):
                    found.append((f"{kind}.{name}", value))
                else:
                    found.extend((f"{kind}.{name}.{key}", spec) for key, spec in value.items())
        found.extend((f"review.{name}", spec) for name, spec in self.review.specs())
        return found


class CasePolicy(BaseModel):
    """The policy pinned to one case at intake (recorded in the workflow's start event)."""

    model_config = ConfigDict(frozen=True)

    policy_version: str
    contract_code: str | None = None
    timezone: str
    calendars: dict[str, WorkingCalendar]
    ladder: Ladder
    pause_reasons: tuple[str, ...]
    repair: RepairPolicy | None = None  # None in a case of another kind pinned with only its own
    complaint: ComplaintPolicy | None = None  # None only in cases pinned before complaints
    emergency: EmergencyPolicy | None = None  # None only in cases pinned before emergencies
    installation: InstallationPolicy | None = None  # None in cases pinned before installations
    maintenance: MaintenancePolicy | None = None  # None in cases pinned before maintenance
    # The regulators' clocks: an adverse event's section (None in every other kind's case).
    regulatory: RegulatoryPolicy | None = Field(default=None, exclude_if=lambda v: v is None)
    # The reportability review's deadlines and rules: a review's section (None elsewhere, and
    # then left out of the start event).
    review: ReviewPolicy | None = Field(default=None, exclude_if=lambda v: v is None)

    def only(self, kind: str) -> CasePolicy:
        """This policy with only the commitments of `kind` (repair, complaint, emergency,
        installation, maintenance; an adverse event's are `regulatory`); a kind without a
        section of its own gets none of them (its calendars, ladder and pause reasons stay)."""
        own = SECTION_OF.get(kind, kind)
        sections = (*SECTIONS, "regulatory")
        update: dict[str, object] = {name: None for name in sections if name != own}
        if own == "review" and self.review is not None:
            # A review's start is also in the history of the case that opens it: only the
            # calendars its two deadlines run on.
            named = {spec.calendar for _, spec in self.review.specs()}
            update["calendars"] = {name: calendar for name, calendar in self.calendars.items()
                                   if name in named}
            return self.model_copy(update=update)
        if own != "regulatory" and self.regulatory is not None:
            # A calendar only the regulators' clocks name (FDA work days) is left out of every
            # other kind's pinned policy: it would only make each case's start event longer.
            theirs = {clock.calendar for _, clock in self.regulatory.clocks()}
            ours = {spec.calendar for spec in self._specs()}
            update["calendars"] = {name: calendar for name, calendar in self.calendars.items()
                                   if name not in theirs - ours - {"7x24", "business"}}
        return self.model_copy(update=update)

    def _specs(self) -> list[CommitmentSpec]:
        found: list[CommitmentSpec] = []
        for name in SECTIONS:
            for _, value in getattr(self, name) or ():
                if isinstance(value, CommitmentSpec):
                    found.append(value)
                elif isinstance(value, dict):
                    found.extend(v for v in value.values() if isinstance(v, CommitmentSpec))
        return found

    def calendar(self, name: str) -> WorkingCalendar:
        if name == LOCAL:
            return self.local_calendar
        return self.calendars[name]

    @property
    def local_calendar(self) -> WorkingCalendar:
        """A 7x24 calendar in the policy's time zone, for "same day" arithmetic."""
        return WorkingCalendar(name="local", timezone=self.timezone, always_open=True)
