"""Remote monitoring: the alarms a unit sends, what each does by policy, and fault episodes.

The `monitoring:` section of the SLA policy says, per modality and alarm code, whether an alarm
is only recorded on the unit, opens a repair, goes to the emergency chain (a critical repair) or
is added to the unit's open repair; which codes are one fault; how long a quiet spell ends a
fault episode; and which readings approaching their limit raise a preventive repair. Like the
reliability section it is never pinned to a case: the intake reads the policy in force.
Everything here is pure data and arithmetic (docs/monitoring.md).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from caseflow.domain.calendar import Duration
from caseflow.domain.cases import Zoned
from caseflow.domain.enums import Modality, Severity
from caseflow.domain.reliability_policy import wall_clock

Code = Annotated[str, StringConstraints(min_length=1, max_length=100,
                                        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
ValueName = Annotated[str, StringConstraints(min_length=1, max_length=100,
                                             pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")]
MAX_BATCH = 1000  # alarms in one POST /v1/alarms
MAX_VALUES = 50  # values of one alarm


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AlarmAction(StrEnum):
    """What an alarm of a code does (the policy's `action`)."""

    record = "record"  # kept on the unit's alarm stream only
    repair = "repair"  # opens a repair (one per fault episode)
    emergency = "emergency"  # opens a critical repair, which declares an emergency at once
    attach = "attach"  # added to the unit's open repair; recorded only if it has none


class AlarmSeverity(StrEnum):
    """The severity the monitoring system gives an alarm (informational: the policy decides)."""

    info = "info"
    warning = "warning"
    alarm = "alarm"
    critical = "critical"


class CodeRule(_Strict):
    """What the alarms of one code do."""

    action: AlarmAction
    severity: Severity | None = None  # of the repair it opens
    symptom: str = Field(default="", max_length=500)  # of the repair it opens (zh and en)

    @model_validator(mode="after")
    def _opens_a_repair(self) -> CodeRule:
        if self.action in (AlarmAction.repair, AlarmAction.emergency):
            if self.severity is None or not self.symptom:
                raise ValueError(f"action {self.action.value} needs a severity and a symptom "
                                 "for the repair it opens")
        if self.action is AlarmAction.emergency and self.severity is not Severity.critical:
            raise ValueError("action emergency opens a critical repair: severity must be critical")
        return self


class TrendRule(_Strict):
    """A reading of this value approaching its limit raises a preventive repair, once per
    episode: within `warn_within` (in the value's unit) of its low or high limit, or moving
    towards it at `rate_per_hour` or faster."""

    warn_within: float | None = Field(default=None, gt=0)
    rate_per_hour: float | None = Field(default=None, gt=0)
    # The rate is measured against a reading at least this old (the last one kept), so the
    # noise between two readings seconds apart is no trend.
    rate_span: Duration = Duration(seconds=3600)
    severity: Severity = Severity.minor
    symptom: str = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _some_trigger(self) -> TrendRule:
        if self.warn_within is None and self.rate_per_hour is None:
            raise ValueError("give warn_within (a margin below the limit), rate_per_hour, or both")
        if self.severity is Severity.critical:
            raise ValueError("a trend warning opens a preventive repair: severity cannot be "
                             "critical (a critical value is an alarm code of action emergency)")
        return self


class MonitoringPolicy(_Strict):
    """The `monitoring:` section of the policy (docs/monitoring.md, docs/sla-policy.md)."""

    # Alarms of one fault (the same unit and code, or codes of one group) each within this of
    # the one before are one episode: one case, however many alarms.
    window: Duration = Duration(seconds=30 * 60)
    # A trend episode: flagged readings of one value each within this of the one before.
    trend_window: Duration = Duration(days=1)
    # The reporter of a repair an alarm opens (the intake asks for a name and a phone).
    reporter_name: str = Field(default="远程监测", min_length=1, max_length=200)
    reporter_phone: str = Field(default="400-800-0000", min_length=3, max_length=50)
    groups: dict[str, tuple[Code, ...]] = {}
    codes: dict[Modality, dict[Code, CodeRule]] = {}
    trends: dict[Modality, dict[ValueName, TrendRule]] = {}

    @model_validator(mode="after")
    def _groups_of_known_codes(self) -> MonitoringPolicy:
        known = {code for table in self.codes.values() for code in table}
        seen: dict[str, str] = {}
        for name, codes in self.groups.items():
            if not codes:
                raise ValueError(f"groups.{name}: name at least one code")
            for code in codes:
                if code not in known:
                    raise ValueError(f"groups.{name}: {code} is not a code of any modality")
                if code in seen:
                    raise ValueError(f"groups.{name}: {code} is in group {seen[code]} already")
                seen[code] = name
        return self

    def rule(self, modality: str, code: str) -> CodeRule | None:
        return self.codes.get(Modality(modality), {}).get(code) \
            if modality in Modality.__members__.values() else None

    def fault_key(self, code: str) -> str:
        """The episode key of a code: its group's, else its own."""
        for name, codes in self.groups.items():
            if code in codes:
                return f"group:{name}"
        return f"code:{code}"

    def trend(self, modality: str, name: str) -> TrendRule | None:
        return self.trends.get(Modality(modality), {}).get(name) \
            if modality in Modality.__members__.values() else None


# ----- what an integration posts ----------------------------------------------------------------

# How far ahead of the server's clock an alarm's time may be (a device's clock a little fast);
# later, the item is refused: an episode timed in the future would swallow the real alarms.
MAX_AHEAD = timedelta(hours=1)


def too_far_ahead(alarm: AlarmIn, now: datetime) -> str | None:
    """The field of `alarm` whose time is more than MAX_AHEAD after `now`, if any."""
    for name in ("raised_at", "cleared_at"):
        value = getattr(alarm, name)
        if value is not None and value > now + MAX_AHEAD:
            return name
    return None


class AlarmValue(_Strict):
    """One measured value of an alarm, with its limits if it has them."""

    name: ValueName
    value: float = Field(allow_inf_nan=False)
    unit: Annotated[str, StringConstraints(max_length=20)] = ""
    low: float | None = Field(default=None, allow_inf_nan=False,
                              description="alarm limit below which it is a fault")
    high: float | None = Field(default=None, allow_inf_nan=False,
                               description="alarm limit above which it is a fault")


class AlarmIn(_Strict):
    """One alarm as the monitoring system sends it; the same `alarm_id` again later with
    `cleared_at` clears it."""

    alarm_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    serial: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    code: Code
    severity: AlarmSeverity = AlarmSeverity.alarm
    raised_at: Zoned
    cleared_at: Zoned | None = None
    values: list[AlarmValue] = Field(default=[], max_length=MAX_VALUES)
    message: Annotated[str, StringConstraints(max_length=500)] = ""


    @model_validator(mode="after")
    def _clear_after_raise(self) -> AlarmIn:
        if self.cleared_at is not None and self.cleared_at < self.raised_at:
            raise ValueError("cleared_at: must not be before raised_at")
        return self

    def same_alarm(self, serial: str, code: str, raised_at: datetime) -> bool:
        return self.serial == serial and self.code == code and self.raised_at == raised_at


ItemStatus = Literal["accepted", "duplicate", "cleared", "refused"]


class AlarmItemResult(BaseModel):
    """What became of one alarm of a batch (in the batch's order)."""

    index: int
    alarm_id: str | None = None
    status: ItemStatus
    http_status: int = Field(description="201 accepted, 200 duplicate or cleared, 422 refused")
    field: str | None = Field(default=None, description="the field refused, e.g. serial, code")
    reason: str | None = None
    outcome: str | None = Field(default=None, description="recorded, repair, emergency, "
                                "attached, suppressed (a later alarm of an open episode)")
    episode_id: int | None = None
    case_id: str | None = None


class AlarmBatchResult(BaseModel):
    accepted: int
    duplicates: int
    cleared: int
    refused: int
    cases_opened: list[str]
    items: list[AlarmItemResult]


# ----- trends -----------------------------------------------------------------------------------

def trend_reason(rule: TrendRule, value: AlarmValue,
                 previous: tuple[float, datetime] | None, at: datetime) -> str | None:
    """Why this reading approaches its limit (None: it does not). A value already past its
    limit is the alarm's own business, not an early warning."""
    limits = [(value.low, -1.0), (value.high, 1.0)]
    for limit, towards in limits:
        if limit is None:
            continue
        distance = (limit - value.value) * towards  # > 0: not reached yet
        if distance <= 0:
            continue
        if rule.warn_within is not None and distance <= rule.warn_within:
            return f"{value.name} {value.value:g}{value.unit} within {rule.warn_within:g} of " \
                   f"its limit {limit:g}"
        if rule.rate_per_hour is not None and previous is not None and \
                at - previous[1] >= wall_clock(rule.rate_span):
            hours = (at - previous[1]).total_seconds() / 3600
            rate = (value.value - previous[0]) * towards / hours
            if rate >= rule.rate_per_hour:
                return f"{value.name} moving {rate:.3g}{value.unit}/h towards its limit {limit:g}"
    return None


# ----- reliability figures ----------------------------------------------------------------------

class MonitoredRepair(BaseModel):
    """A repair of the period as the figures need it."""

    case_id: str
    serial: str
    channel: str
    opened_at: datetime
    closed_at: datetime | None = None


class UnitMonitoring(BaseModel):
    serial: str
    alarms: int = 0
    episodes: int = 0
    repairs_by_monitoring: int = 0
    repairs_by_people: int = 0
    caught_first: int = 0


class MonitoringFigures(BaseModel):
    """How remote monitoring did over a period (docs/monitoring.md "Reliability figures")."""

    since: datetime
    until: datetime
    alarms: int
    episodes: dict[str, int] = Field(description="fault episodes by what they did")
    repairs_by_channel: dict[str, int]
    repairs_by_monitoring: int
    repairs_by_phone: int
    caught_first: int = Field(description="repairs monitoring opened while no repair of the "
                              "unit reported by a person was open: the hospital had not called")
    called_first: int = Field(description="alarm episodes added to a repair a person had "
                              "opened: the hospital called before the alarm came")
    units: list[UnitMonitoring]


def monitoring_figures(*, since: datetime, until: datetime, serials: list[str],
                       alarms: dict[str, int], episodes: list[tuple[str, str, str | None]],
                       repairs: list[MonitoredRepair]) -> MonitoringFigures:
    """The figures from the period's alarm counts per unit, its episodes (unit, action, case)
    and its repairs (with each one's intake channel)."""
    rows = {serial: UnitMonitoring(serial=serial, alarms=alarms.get(serial, 0))
            for serial in serials}
    by_action: dict[str, int] = {}
    channel_of = {r.case_id: r.channel for r in repairs}
    called_first = 0
    for serial, action, case_id in episodes:
        by_action[action] = by_action.get(action, 0) + 1
        if serial in rows:
            rows[serial].episodes += 1
        if action == AlarmAction.attach.value and case_id is not None and \
                channel_of.get(case_id, "remote_monitoring") != "remote_monitoring":
            called_first += 1
    by_channel: dict[str, int] = {}
    caught = 0
    for repair in repairs:
        by_channel[repair.channel] = by_channel.get(repair.channel, 0) + 1
        row = rows.get(repair.serial)
        if repair.channel != "remote_monitoring":
            if row:
                row.repairs_by_people += 1
            continue
        if row:
            row.repairs_by_monitoring += 1
        reported = any(other.serial == repair.serial and other.channel != "remote_monitoring"
                       and other.opened_at <= repair.opened_at
                       and (other.closed_at is None or other.closed_at > repair.opened_at)
                       for other in repairs)
        if not reported:
            caught += 1
            if row:
                row.caught_first += 1
    return MonitoringFigures(
        since=since, until=until, alarms=sum(alarms.get(s, 0) for s in serials),
        episodes=by_action, repairs_by_channel=by_channel,
        repairs_by_monitoring=by_channel.get("remote_monitoring", 0),
        repairs_by_phone=by_channel.get("phone", 0), caught_first=caught,
        called_first=called_first, units=sorted(rows.values(), key=lambda u: u.serial))
