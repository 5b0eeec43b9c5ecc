"""The SLA report: how commitments were kept, per period, case kind, severity, hospital and
commitment, computed from the commitments each case page shows (so the two always agree)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from caseflow.domain.policy import CasePolicy, CommitmentSpec
from caseflow.domain.regulatory_reports import RegulatoryRow, regulatory_rows
from caseflow.domain.sla import CommitmentView


class SlaRow(BaseModel):
    kind: str
    severity: str | None
    hospital_id: str
    commitment: str
    label: str
    cases: int  # distinct cases with this commitment
    rounds: int  # every round counted (a daily progress report is a commitment per day)
    met: int  # on time
    met_late: int
    breached_open: int  # breached and still not met (or waived after it was breached)
    open: int  # running, not due yet
    waived: int  # waived before it was due
    met_percent: float | None  # on time / (met + met late + breached open)
    median_minutes_to_meet: float | None  # working time from start to met, pauses left out
    p90_minutes_to_meet: float | None
    escalations_by_level: dict[int, int]


class SlaReport(BaseModel):
    period_from: datetime
    period_to: datetime
    rows: list[SlaRow]
    mean_hours_to_restore: dict[str, float]  # repairs, by severity: intake to `restore` met
    cases: int
    regulatory: list[RegulatoryRow] = Field(
        default=[], description="the reports of the adverse events opened in the period, per "
                                "jurisdiction, event type and report (initial or follow-up)")


def percentile(values: list[float], fraction: float) -> float | None:
    """The nearest-rank percentile (p90: the value 90% of the values are at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # ceil
    return ordered[int(rank) - 1]


def sla_report(cases: Iterable[dict[str, Any]], period_from: datetime,
               period_to: datetime) -> SlaReport:
    """`cases`: each {case_id, kind, severity, hospital_id, opened_at, commitments: [views]}
    (and an adverse event's `event_type`)."""
    cases = list(cases)
    groups: dict[tuple[str, str | None, str, str], dict[str, Any]] = {}
    restore: dict[str, list[float]] = defaultdict(list)
    count = 0
    for case in cases:
        count += 1
        for raw in case["commitments"] or []:
            view = CommitmentView.model_validate(raw)
            key = (case["kind"], case["severity"], case["hospital_id"], view.key)
            group = groups.setdefault(key, {"label": view.label, "cases": set(), "rounds": 0,
                                            "states": defaultdict(int), "minutes": [],
                                            "levels": defaultdict(int)})
            group["cases"].add(case["case_id"])
            group["rounds"] += 1
            # A commitment breached and then waived (a hand-over check nobody did, waived when
            # the repair is resolved) was never met: it counts as breached, not as waived.
            missed = view.state == "breached" or (view.state == "waived" and view.breached)
            state = "breached_open" if missed else view.state
            group["states"][state] += 1
            if view.met_at is not None:
                worked = (view.met_at - view.started_at).total_seconds() - view.paused_seconds
                group["minutes"].append(max(worked, 0) / 60)
                if case["kind"] == "repair" and view.key == "restore":
                    restore[case["severity"] or "unclassified"].append(
                        (view.met_at - case["opened_at"]).total_seconds() / 3600)
            for fired in view.fired:
                if fired.level >= 1:
                    group["levels"][fired.level] += 1
    rows = []
    for (kind, severity, hospital, key), group in sorted(
            groups.items(), key=lambda item: tuple(str(x) for x in item[0])):
        states = group["states"]
        decided = states["met"] + states["met_late"] + states["breached_open"]
        minutes = group["minutes"]
        rows.append(SlaRow(
            kind=kind, severity=severity, hospital_id=hospital, commitment=key,
            label=group["label"], cases=len(group["cases"]), rounds=group["rounds"],
            met=states["met"], met_late=states["met_late"],
            breached_open=states["breached_open"], open=states["open"] + states["paused"],
            waived=states["waived"],
            met_percent=round(100 * states["met"] / decided, 1) if decided else None,
            median_minutes_to_meet=round(statistics.median(minutes), 1) if minutes else None,
            p90_minutes_to_meet=(round(p90, 1) if (p90 := percentile(minutes, 0.9)) is not None
                                 else None),
            escalations_by_level=dict(sorted(group["levels"].items()))))
    return SlaReport(period_from=period_from, period_to=period_to, rows=rows, cases=count,
                     mean_hours_to_restore={s: round(statistics.fmean(v), 2)
                                            for s, v in sorted(restore.items())},
                     regulatory=regulatory_rows(cases))


# The columns of the report as CSV (the console's download, `caseflow report sla --format csv`).
SLA_COLUMNS = ("kind", "severity", "hospital_id", "commitment", "cases", "rounds", "met_percent",
               "met", "met_late", "breached_open", "open", "waived", "median_minutes_to_meet",
               "p90_minutes_to_meet", "escalations_l1", "escalations_l2", "escalations_l3")


def sla_table(report: SlaReport) -> list[list[Any]]:
    """The report's rows as the cells of SLA_COLUMNS."""
    return [[row.kind, row.severity, row.hospital_id, row.commitment, row.cases, row.rounds,
             row.met_percent, row.met, row.met_late, row.breached_open, row.open, row.waived,
             row.median_minutes_to_meet, row.p90_minutes_to_meet,
             *(row.escalations_by_level.get(level, 0) for level in (1, 2, 3))]
            for row in report.rows]


def period(start: date, end: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) as local days of the policy's time zone."""
    zone = ZoneInfo(timezone)
    return (datetime.combine(start, time(0), tzinfo=zone),
            datetime.combine(end, time(0), tzinfo=zone))



# ----- compliance by week (the managers' chart) ----------------------------------------------

class WeekCompliance(BaseModel):
    """How the commitments of the cases opened in one local week (Monday to Sunday) were kept."""

    week_from: date  # the Monday
    cases: int
    met: int  # on time
    met_late: int
    breached_open: int
    open: int  # running or paused, not decided yet
    met_percent: float | None  # on time / (met + met late + breached open), as the report


def week_of(day: date) -> date:
    """The Monday of the week `day` is in."""
    return day - timedelta(days=day.weekday())


def weekly_compliance(cases: Iterable[dict[str, Any]], weeks: list[date],
                      timezone: str) -> list[WeekCompliance]:
    """One entry per Monday in `weeks`, counting the commitments of the cases (as for
    `sla_report`) by the local week each case opened in."""
    zone = ZoneInfo(timezone)
    buckets: dict[date, list[dict[str, Any]]] = {week: [] for week in weeks}
    for case in cases:
        week = week_of(case["opened_at"].astimezone(zone).date())
        if week in buckets:
            buckets[week].append(case)
    found = []
    for week in weeks:
        lower, upper = period(week, week + timedelta(days=7), timezone)
        rows = sla_report(buckets[week], lower, upper).rows
        met, late, breached = (sum(getattr(r, name) for r in rows)
                               for name in ("met", "met_late", "breached_open"))
        decided = met + late + breached
        found.append(WeekCompliance(
            week_from=week, cases=len(buckets[week]), met=met, met_late=late,
            breached_open=breached, open=sum(r.open for r in rows),
            met_percent=round(100 * met / decided, 1) if decided else None))
    return found

# ----- what-if: the same closed cases under a candidate policy ----------------------------------

class WhatIfRow(BaseModel):
    kind: str
    commitment: str
    decided: int  # commitments that were met, or breached and never met
    recomputed: int  # of those, the ones the candidate policy sets a new duration for
    met_percent_now: float | None
    met_percent_candidate: float | None
    now_met_candidate_missed: int
    now_missed_candidate_met: int


class WhatIfReport(BaseModel):
    period_from: datetime
    period_to: datetime
    cases: int
    rows: list[WhatIfRow]


def candidate_spec(policy: CasePolicy, kind: str, key: str,
                   severity: str | None) -> CommitmentSpec | None:
    """The candidate's spec for a recorded commitment, if it sets one by duration."""
    section = getattr(policy, kind, None)
    if section is None:
        return None
    spec = getattr(section, key, None)
    if isinstance(spec, dict):
        spec = spec.get(severity) if severity else None
    if not isinstance(spec, CommitmentSpec) or spec.within is None or spec.paging:
        return None  # end-of-day, set by a person (an action's due date), or unknown
    return spec


def what_if(cases: Iterable[dict[str, Any]], policy_for: Any, period_from: datetime,
            period_to: datetime) -> WhatIfReport:
    """Recompute the due time of every decided commitment of `cases` under the candidate
    policy (`policy_for(case)` gives the candidate pinned for that case) and compare.

    A commitment's new due time is its start plus the candidate's duration on the candidate's
    calendar, plus the time it was paused: exact for 7x24 commitments, an approximation where
    a pause spans closed hours of a business calendar."""
    groups: dict[tuple[str, str], dict[str, int]] = {}
    count = 0
    for case in cases:
        count += 1
        policy = policy_for(case)
        for raw in case["commitments"] or []:
            view = CommitmentView.model_validate(raw)
            if view.state not in ("met", "met_late", "breached"):
                continue
            group = groups.setdefault((case["kind"], view.key), defaultdict(int))
            group["decided"] += 1
            met_now = view.state == "met"
            group["met_now"] += met_now
            spec = candidate_spec(policy, case["kind"], view.key, case["severity"])
            met_then = met_now
            if spec is not None and spec.within is not None:
                calendar = policy.calendar(spec.calendar)
                due = calendar.add(view.started_at, calendar.working_time(spec.within)) \
                    + timedelta(seconds=view.paused_seconds)
                met_then = view.met_at is not None and view.met_at <= due
                group["recomputed"] += 1
            group["met_then"] += met_then
            group["lost"] += met_now and not met_then
            group["won"] += met_then and not met_now
    rows = [WhatIfRow(
        kind=kind, commitment=key, decided=g["decided"], recomputed=g["recomputed"],
        met_percent_now=round(100 * g["met_now"] / g["decided"], 1),
        met_percent_candidate=round(100 * g["met_then"] / g["decided"], 1),
        now_met_candidate_missed=g["lost"], now_missed_candidate_met=g["won"])
        for (kind, key), g in sorted(groups.items())]
    return WhatIfReport(period_from=period_from, period_to=period_to, cases=count, rows=rows)
