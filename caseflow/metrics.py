"""The worker's metrics: cases, deadlines, escalations and outbox backlog, counted on the Temporal
runtime's meter, so the SDK's own metrics and ours come out of one Prometheus endpoint."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from caseflow.config import Settings
from caseflow.domain.records import CaseProjection

# Counters are exported with `_total` appended (OpenMetrics), like the SDK's own counters.
CASES_OPENED = "caseflow_cases_opened"
CASES_CLOSED = "caseflow_cases_closed"
DEADLINES_MET = "caseflow_deadlines_met"
DEADLINES_BREACHED = "caseflow_deadlines_breached"
ESCALATIONS = "caseflow_escalations"
RUNG_LATENESS = "caseflow_rung_lateness_seconds"
OUTBOX_PENDING = "caseflow_outbox_pending"
OUTBOX_DUE = "caseflow_outbox_due"

# How late a rung fires after its scheduled instant: the promise is "within 1 s" (DESIGN.md).
LATENESS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0]


def worker_runtime(settings: Settings) -> Runtime | None:
    """A Temporal runtime serving Prometheus metrics on the configured port; None if it is 0.

    Binds the port now: a port already taken stops the worker at start."""
    if not settings.worker_metrics_port:
        return None
    host = settings.metrics_host
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    return Runtime(telemetry=TelemetryConfig(
        metrics=PrometheusConfig(bind_address=f"{host}:{settings.worker_metrics_port}",
                                 counters_total_suffix=True, durations_as_seconds=True,
                                 histogram_bucket_overrides={RUNG_LATENESS: LATENESS_BUCKETS}),
        attach_service_name=False))


@dataclass(frozen=True)
class Progress:
    """What one recorded projection changed that the metrics count."""

    kind: str
    closed: bool = False
    met: list[tuple[str, bool]] = field(default_factory=list)  # (commitment, on time)
    breached: list[str] = field(default_factory=list)  # commitments


def progress(was_closed: bool, before: list[dict[str, Any]] | None,
             after: CaseProjection) -> Progress:
    """The closing, commitments met and commitments breached between the case row as it was
    (`was_closed`, its stored `commitments`) and the projection that replaces it."""
    earlier = {(c["key"], c["round"]): c for c in before or []}
    met: list[tuple[str, bool]] = []
    breached: list[str] = []
    for now in after.commitments:
        then = earlier.get((now.key, now.round), {})
        if now.met_at is not None and then.get("met_at") is None:
            met.append((now.key, now.state == "met"))
        if now.breached and not then.get("breached", False):
            breached.append(now.key)
    return Progress(kind=after.kind, closed=after.closed_at is not None and not was_closed,
                    met=met, breached=breached)


class CaseMetrics:
    """The business metrics; on the no-op meter (the default) they count nothing."""

    def __init__(self, meter: MetricMeter = MetricMeter.noop) -> None:
        self._opened = meter.create_counter(
            CASES_OPENED, "Cases opened, by kind")
        self._closed = meter.create_counter(
            CASES_CLOSED, "Cases closed, by kind")
        self._met = meter.create_counter(
            DEADLINES_MET, "Commitments met, by kind, commitment and outcome (on_time, late)")
        self._breached = meter.create_counter(
            DEADLINES_BREACHED, "Commitments that passed their due time unmet (or were met "
                                "after it), by kind and commitment")
        self._escalations = meter.create_counter(
            ESCALATIONS, "Ladder rungs fired, by kind and level (0 = the warning before due)")
        self._lateness = meter.create_histogram_float(
            RUNG_LATENESS, "Seconds between a rung's scheduled instant and its firing")
        self._pending = meter.create_gauge(
            OUTBOX_PENDING, "Messages waiting to be sent, by queue (notifications, subscriptions)")
        self._due = meter.create_gauge(
            OUTBOX_DUE, "Pending messages whose send time has come, by queue")

    @classmethod
    def of(cls, client: Client) -> CaseMetrics:
        """The metrics on the meter of the runtime `client` uses (no-op unless it exports)."""
        runtime = client.service_client.config.runtime or Runtime.default()
        return cls(runtime.metric_meter)

    def opened(self, kind: str) -> None:
        self._opened.add(1, {"kind": kind})

    def progressed(self, change: Progress) -> None:
        if change.closed:
            self._closed.add(1, {"kind": change.kind})
        for commitment, on_time in change.met:
            self._met.add(1, {"kind": change.kind, "commitment": commitment,
                              "outcome": "on_time" if on_time else "late"})
        for commitment in change.breached:
            self._breached.add(1, {"kind": change.kind, "commitment": commitment})

    def rung_fired(self, kind: str, level: int, lateness: timedelta) -> None:
        """A rung was recorded: escalations and the warning are counted, reminders are not;
        the lateness of every rung is observed."""
        if level >= 0:
            self._escalations.add(1, {"kind": kind, "level": str(level)})
        self._lateness.record(max(lateness.total_seconds(), 0.0))

    def backlog(self, queue: str, pending: int, due: int) -> None:
        self._pending.set(pending, {"queue": queue})
        self._due.set(due, {"queue": queue})
