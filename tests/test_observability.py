"""Observability with the real parts: `run_worker` serving Prometheus on its own port against a
time-skipping server, the API's /metrics, OTLP traces from both to a real local receiver, and the
Grafana dashboard checked against what the worker and the API actually export.

The module has a database of its own: its worker runs the outbox sender and the deliverer,
which drain every pending row.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from sqlalchemy import func, select
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from caseflow.activities.records import CaseRecords
from caseflow.api.app import create_app
from caseflow.config import Settings
from caseflow.domain.enums import Role
from caseflow.domain.records import Actor, CaseEvent, CaseProjection, EscalationRecord
from caseflow.domain.sla import CommitmentView
from caseflow.metrics import CaseMetrics
from caseflow.store.models import Notification, SubscriptionDelivery
from caseflow.store.people import issue_token
from caseflow.worker import run_worker
from tests.conftest import time_skipping
from tests.postgres import free_port, fresh_database
from tests.repair_driver import PASSING_VERIFICATION, intake

DASHBOARD = Path(__file__).parent.parent / "deploy" / "grafana" / "caseflow-dashboard.json"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


# ----- what the endpoints say ----------------------------------------------------------------------

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text: str) -> Samples:
    """The samples of a Prometheus text exposition, under the names Prometheus stores them by
    (prometheus_client's parser would add `_total` to counters that lack it)."""
    found: Samples = {}
    for line in text.splitlines():
        if (match := SAMPLE.match(line)) is not None:
            name, labels, number = match.groups()
            found[(name, frozenset(LABEL.findall(labels or "")))] = float(number)
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample `name` with exactly these labels (the worker's and the API's own labels
    only), 0 if there is none yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples `name` whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


@dataclass(frozen=True)
class SeenSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str


@dataclass
class Collector:
    """An OpenTelemetry collector's OTLP/HTTP endpoint: keeps the spans it is sent; answers 503
    to anything posted to /hook (an outside tool that is down)."""

    url: str = ""
    spans: list[SeenSpan] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path != "/v1/traces":
                    self.send_response(503)
                    self.end_headers()
                    return
                request = ExportTraceServiceRequest.FromString(body)
                with collector.lock:
                    for resource in request.resource_spans:
                        service = next(a.value.string_value for a in resource.resource.attributes
                                       if a.key == "service.name")
                        collector.spans += [
                            SeenSpan(service, span.name, span.trace_id.hex(), span.span_id.hex(),
                                     span.parent_span_id.hex())
                            for scope in resource.scope_spans for span in scope.spans]
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def of_trace(self, trace_id: str) -> dict[str, list[SeenSpan]]:
        """The spans of one trace by name."""
        found: dict[str, list[SeenSpan]] = {}
        with self.lock:
            for span in self.spans:
                if span.trace_id == trace_id:
                    found.setdefault(span.name, []).append(span)
        return found


# ----- the stack: a database, a time-skipping server, run_worker, the API ---------------------------

@dataclass
class Stack:
    env: WorkflowEnvironment
    settings: Settings
    api: httpx.AsyncClient
    collector: Collector
    tokens: dict[str, str]
    sessions: Any

    async def worker_metrics(self) -> Samples:
        async with httpx.AsyncClient() as client:
            answer = await client.get(f"http://127.0.0.1:{self.settings.worker_metrics_port}"
                                      "/metrics", timeout=5)
        assert answer.status_code == 200
        return parse(answer.text)

    async def api_metrics(self) -> Samples:
        answer = await self.api.get("/metrics")  # no token: like /healthz
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("text/plain")
        return parse(answer.text)

    async def call(self, role: str, method: str, path: str, body: Any = None,
                   **headers: str) -> httpx.Response:
        return await self.api.request(method, path, json=body, headers={
            "Authorization": f"Bearer {self.tokens[role]}", "Idempotency-Key": uuid.uuid4().hex,
            **headers})


@pytest.fixture(scope="module")
def own_database(database_url: str) -> Iterator[tuple[str, Any]]:
    with fresh_database(database_url, "observability") as found:
        yield found


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    found = Collector()
    server = ThreadingHTTPServer(("127.0.0.1", 0), found.handler())
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()


@pytest.fixture(scope="module")
async def stack(own_database, collector: Collector) -> AsyncIterator[Stack]:  # type: ignore[no-untyped-def]
    url, sessions = own_database
    holders = {"hotline": "HL-01", "supervisor": "SV-01", "engineer": "EN-01",
               "manager": "MG-01", "admin": "AD-01"}
    with sessions.begin() as session:
        tokens = {role: issue_token(session, person, f"obs {role}")[0]
                  for role, person in holders.items()}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")  # spans leave in 0.1 s, not 5 s
        async with time_skipping() as env:
            settings = Settings(
                environment="test", database_url=url,
                temporal_address=env.client.service_client.config.target_host,
                task_queue=f"obs-{uuid.uuid4()}", worker_metrics_port=free_port(),
                otlp_endpoint=collector.url, outbox_poll_seconds=0.2,
                subscription_poll_seconds=0.2)
            worker = asyncio.create_task(run_worker(settings))
            app = create_app(settings)
            try:
                async with app.router.lifespan_context(app), httpx.AsyncClient(
                        transport=httpx.ASGITransport(app=app), base_url="http://caseflow.test",
                        timeout=30) as api:
                    found = Stack(env, settings, api, collector, tokens, sessions)
                    await eventually(found.worker_metrics, "the worker's metrics endpoint")
                    yield found
            finally:
                worker.cancel()
                with suppress(asyncio.CancelledError):
                    await worker


async def eventually(check: Any, what: str, seconds: float = 15.0) -> Any:
    """`await check()` until it returns something true without raising, or fail after `seconds`."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        try:
            result = await check()
            if result:
                return result
            error: Exception | None = None
        except Exception as failed:  # not there yet
            error = failed
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"{what} never came: {error!r}")
        await asyncio.sleep(0.2)


# ----- a repair walked through the API, with a missed arrival -----------------------------------

@dataclass
class Walk:
    case_id: str
    actions: int
    before: Samples
    after: Samples
    api_before: Samples
    api_after: Samples


@pytest.fixture(scope="module")
async def walked(stack: Stack) -> Walk:
    """Open a severe repair, subscribe a tool that is down, confirm the hand-over in time, miss
    the 30-minute arrival (warning, level 1 and level 2 fire), then arrive and walk to closed."""
    before, api_before = await stack.worker_metrics(), await stack.api_metrics()
    subscribed = await stack.call("admin", "POST", "/v1/subscriptions", {
        "name": "监控工具", "url": f"{stack.collector.url}/hook", "secret": "x" * 20,
        "events": ["*"]})
    assert subscribed.status_code == 201, subscribed.text
    created = await stack.call("hotline", "POST", "/v1/repairs",
                               intake(severity="severe").model_dump(mode="json"))
    assert created.status_code == 201, created.text
    case_id = created.json()["case_id"]
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("supervisor", "assign", {"engineer_id": "EN-01"}),
        ("hotline", "confirm-handover", {}),
        ("engineer", "acknowledge", {}),
        ("engineer", "arrive", {"mode": "on_site"}),
        ("engineer", "report-site", {"condition": "机房温湿度正常"}),
        ("supervisor", "approve-start", {}),
        ("engineer", "diagnose", {"findings": "球管灯丝老化", "fault_category": "xray_tube"}),
        ("engineer", "resolve", {"summary": "更换球管,测试正常",
                                 "verification": PASSING_VERIFICATION}),
        ("hotline", "confirm", {"confirmed_by": "李医生"}),
        ("hotline", "callback", {"satisfaction": 5, "comment": "非常满意"}),
    ]
    for number, (role, action, payload) in enumerate(steps):
        if action == "acknowledge":  # arrival was due 30 minutes after the intake
            await stack.env.sleep(timedelta(minutes=50))
        done = await stack.call(role, "POST", f"/v1/cases/{case_id}/actions/{action}", payload)
        assert done.status_code == 200, (number, action, done.text)
    assert done.json()["status"] == "closed"

    async def settled() -> Samples | None:
        after = await stack.worker_metrics()
        closed = value(after, "caseflow_cases_closed_total", kind="repair")
        level2 = value(after, "caseflow_escalations_total", kind="repair", level="2")
        return after if closed and level2 else None

    after = await eventually(settled, "the closing and the escalations in the worker's metrics")
    return Walk(case_id, len(steps), before, after, api_before, await stack.api_metrics())


def moved(walk: Walk, name: str, **labels: str) -> float:
    return value(walk.after, name, **labels) - value(walk.before, name, **labels)


async def test_worker_metrics_count_the_case_its_deadlines_and_escalations(walked: Walk):
    assert moved(walked, "caseflow_cases_opened_total", kind="repair") == 1
    assert moved(walked, "caseflow_cases_closed_total", kind="repair") == 1
    # The warning (level 0) at 22.5 minutes, the supervisor at 30, the manager at 45; not 75.
    assert [moved(walked, "caseflow_escalations_total", kind="repair", level=str(level))
            for level in range(4)] == [1, 1, 1, 0]
    assert moved(walked, "caseflow_deadlines_breached_total", kind="repair",
                 commitment="arrival") == 1
    assert moved(walked, "caseflow_deadlines_met_total", kind="repair", commitment="arrival",
                 outcome="late") == 1
    assert moved(walked, "caseflow_deadlines_met_total", kind="repair", commitment="handover",
                 outcome="on_time") == 1
    assert moved(walked, "caseflow_deadlines_breached_total", kind="repair",
                 commitment="handover") == 0
    assert moved(walked, "caseflow_rung_lateness_seconds_count") == 3
    # Every rung fired within a second of its instant (the promise DESIGN.md makes).
    assert moved(walked, "caseflow_rung_lateness_seconds_bucket", le="1") == 3
    # ... and the SDK's own metrics come out of the same endpoint.
    assert total(walked.after, "temporal_workflow_task_execution_latency_count") > 0
    # (cases record through local activities: docs/architecture.md "Lean case histories")
    assert total(walked.after, "temporal_local_activity_execution_latency_count",
                 activity_type="record_escalation") >= 3


async def test_outbox_backlog_gauges_follow_the_pending_rows(stack: Stack, walked: Walk):
    # A notification held until tomorrow stays pending; the subscribed tool answers 503, so
    # every event of the case stays pending for it too.
    with stack.sessions.begin() as session:
        session.add(Notification(
            dedupe_key=f"obs/{uuid.uuid4()}", case_id=walked.case_id, person_id="HL-01",
            subject="明天再发", body="held", urgent=False, status="pending",
            created_at=datetime.now(timezone.utc),
            not_before=datetime.now(timezone.utc) + timedelta(days=1)))

    def pending(model: type) -> int:
        with stack.sessions() as session:
            return session.scalar(select(func.count()).select_from(model)
                                  .where(model.status == "pending"))  # type: ignore[attr-defined]

    async def agreed() -> bool:
        samples = await stack.worker_metrics()
        return (value(samples, "caseflow_outbox_pending", queue="notifications")
                == pending(Notification) >= 1
                and value(samples, "caseflow_outbox_pending", queue="subscriptions")
                == pending(SubscriptionDelivery) >= walked.actions)

    await eventually(agreed, "backlog gauges equal to the pending rows")


async def test_api_metrics_count_requests_by_route_template_method_and_status(stack: Stack,
                                                                              walked: Walk):
    actions = "/v1/cases/{case_id}/actions/{action}"
    assert (value(walked.api_after, "caseflow_http_requests_total", method="POST",
                  route=actions, status="200")
            - value(walked.api_before, "caseflow_http_requests_total", method="POST",
                    route=actions, status="200")) == walked.actions
    before = await stack.api_metrics()
    for _ in range(2):
        assert (await stack.call("manager", "GET", "/v1/cases/RP-NO-SUCH-CASE")).status_code == 404
    assert (await stack.api.get("/v1/cases/RP-NO-SUCH-CASE")).status_code == 401
    assert (await stack.api.get("/no/such/page")).status_code == 404
    assert (await stack.api.get("/healthz")).status_code == 200
    after = await stack.api_metrics()

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    case = "/v1/cases/{case_id}"
    assert grew("caseflow_http_requests_total", method="GET", route=case, status="404") == 2
    assert grew("caseflow_http_requests_total", method="GET", route=case, status="401") == 1
    assert grew("caseflow_http_requests_total", method="GET", route="unmatched",
                status="404") == 1
    assert grew("caseflow_http_requests_total", method="GET", route="/healthz",
                status="200") == 1
    assert grew("caseflow_http_request_duration_seconds_count", method="GET", route=case,
                status="404") == 2
    assert grew("caseflow_http_request_duration_seconds_bucket", method="GET", route=case,
                status="404", le="+Inf") == 2
    # Paths are never labels: a series per case id would grow without end.
    text = (await stack.api.get("/metrics")).text
    assert "RP-NO-SUCH-CASE" not in text and walked.case_id not in text
    assert value(after, "process_resident_memory_bytes") > 0


async def test_one_trace_runs_from_the_caller_through_the_api_and_workflow_to_activities(
        stack: Stack):
    trace_id, caller = secrets.token_hex(16), secrets.token_hex(8)
    created = await stack.call("hotline", "POST", "/v1/repairs",
                               intake(severity="general").model_dump(mode="json"),
                               traceparent=f"00-{trace_id}-{caller}-01")
    assert created.status_code == 201, created.text
    wanted = ["POST /v1/repairs", "StartWorkflow:RepairWorkflow", "RunWorkflow:RepairWorkflow",
              "StartActivity:record_case_events", "RunActivity:record_case_events"]

    async def complete() -> dict[str, list[SeenSpan]] | None:
        spans = stack.collector.of_trace(trace_id)
        return spans if all(name in spans for name in wanted) else None

    spans = await eventually(complete, f"the spans {wanted}")
    (request,), (start,), (run,) = (spans[name] for name in wanted[:3])
    schedules, activities = spans["StartActivity:record_case_events"], spans[
        "RunActivity:record_case_events"]
    assert (request.service, start.service) == ("caseflow-api", "caseflow-api")
    assert {s.service for s in [run, *schedules, *activities]} == {"caseflow-worker"}
    # The caller's span -> the request -> the start of the workflow, under which the workflow
    # runs and schedules its activities (workflow spans are instants, so activities hang from
    # the start), each activity's run under its scheduling.
    assert request.parent_id == caller
    assert start.parent_id == request.span_id
    assert run.parent_id == start.span_id
    assert {s.parent_id for s in schedules} == {start.span_id}
    assert {a.parent_id for a in activities} <= {s.span_id for s in schedules}

    await stack.api.get("/metrics")
    await stack.api.get("/healthz")
    await asyncio.sleep(0.5)
    with stack.collector.lock:
        assert not [s for s in stack.collector.spans if s.name in ("GET /metrics", "GET /healthz")]


def queries(node: Any) -> list[str]:
    """Every PromQL expression of a Grafana dashboard: panel targets and template variables."""
    if isinstance(node, dict):
        found = [text for key, text in node.items()
                 if key in ("expr", "query", "definition") and isinstance(text, str)]
        return found + [q for child in node.values() for q in queries(child)]
    if isinstance(node, list):
        return [q for child in node for q in queries(child)]
    return []


METRIC_NAME = re.compile(r"\b(?:caseflow|temporal|process)_[a-z0-9_]+")
# Label names an expression uses: grouping, matchers, label_values(metric, label).
LABEL_USES = [re.compile(r"\b(?:by|without) \(([^)]*)\)"),
              re.compile(r"([a-zA-Z_]\w*)\s*(?:=~|!~|!=|=)\s*\""),
              re.compile(r"label_values\([^,]+,\s*(\w+)\)")]
SCRAPE_LABELS = {"job", "instance"}  # added by Prometheus when it scrapes


async def test_every_metric_and_label_the_dashboard_queries_is_exported(stack: Stack,
                                                                        walked: Walk):
    dashboard = json.loads(DASHBOARD.read_text("utf-8"))
    exported = {**walked.after, **await stack.worker_metrics(), **await stack.api_metrics()}
    expressions = queries(dashboard)
    asked = {name for expr in expressions for name in METRIC_NAME.findall(expr)}
    assert len(asked) >= 10
    assert asked <= {name for name, _ in exported}, \
        f"the dashboard queries metrics nobody exports: {asked - {n for n, _ in exported}}"
    for expr in expressions:
        names = set(METRIC_NAME.findall(expr))
        used = {label.strip() for pattern in LABEL_USES for found in pattern.findall(expr)
                for label in found.split(",") if label.strip()}
        known = {label for (name, labels) in exported if name in names for label, _ in labels}
        assert used <= known | SCRAPE_LABELS, f"{expr}: no such labels {used - known}"


# ----- counted once, however often Temporal retries -------------------------------------------------

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


def arrival(state: str) -> CommitmentView:
    """The arrival commitment of a case: open, breached, or met late."""
    due = NOW + timedelta(minutes=30)
    late = state != "open"
    return CommitmentView(
        key="arrival", label="到场 arrival", round=1, state=state, calendar="7x24",  # type: ignore[arg-type]
        started_at=NOW, due_at=due, met_at=due + timedelta(minutes=10) if state == "met_late"
        else None, waived_at=None, waived_reason=None, breached=late,
        breached_at=due if late else None, paused_seconds=0, escalation_level=int(late),
        warned=late, fired=[])


def projected(case_id: str, state: str, closed: bool = False) -> CaseProjection:
    return CaseProjection(case_id=case_id, kind="repair", status="closed" if closed else "on_site",
                          severity="severe", hospital_id="H-JB", equipment_serial="CT-JB-0003",
                          assignee_id="EN-03", breached=True, title="球管报警", opened_at=NOW,
                          closed_at=NOW + timedelta(hours=5) if closed else None,
                          policy_version="test", commitments=[arrival(state)])


def updates(buffer: MetricBuffer) -> dict[tuple[str, frozenset[tuple[str, Any]]], float]:
    counted: dict[tuple[str, frozenset[tuple[str, Any]]], float] = {}
    for update in buffer.retrieve_updates():
        key = (update.metric.name, frozenset(update.attributes.items()))
        counted[key] = counted.get(key, 0) + update.value
    return counted


def test_a_retried_or_overtaken_record_is_counted_once(sessions):
    buffer = MetricBuffer(1000)
    records = CaseRecords(sessions, CaseMetrics(
        Runtime(telemetry=TelemetryConfig(metrics=buffer, attach_service_name=False)).metric_meter))
    case_id, env = f"O-{uuid.uuid4().hex[:10]}", ActivityEnvironment()
    actor = Actor(id="HL-02", name="赵雪", role=Role.hotline)

    def event(seq: int, name: str, state: str, closed: bool = False) -> CaseEvent:
        return CaseEvent(case_id=case_id, workflow_id=case_id, run_id="run-1", seq=seq,
                         event=name, at=NOW, actor=actor, summary=name,
                         projection=projected(case_id, state, closed))

    rung = EscalationRecord(
        case_id=case_id, workflow_id=case_id, run_id="run-1", seq=2, commitment="arrival",
        label="到场 arrival", round=1, level=1, notify="supervisor", owner="assignee",
        assignee_id="EN-03", hospital_id="H-JB", scheduled_at=NOW + timedelta(minutes=30),
        fired_at=NOW + timedelta(minutes=30, seconds=0.3), due_at=NOW + timedelta(minutes=30),
        urgent=True, summary="level 1", projection=projected(case_id, "breached"))
    for _ in range(2):  # a retry finds each row written and counts nothing
        env.run(records.record_case_event, event(1, "opened", "open"))
        env.run(records.record_escalation, rung)
    # The closing (seq 4) is recorded before the arrival (seq 3) it follows: the closing's
    # projection carries the arrival, and the arrival, overtaken, adds nothing.
    env.run(records.record_case_event, event(4, "callback", "met_late", closed=True))
    env.run(records.record_case_event, event(3, "arrive", "met_late"))
    env.run(records.record_case_event, event(3, "arrive", "met_late"))

    counted = updates(buffer)
    repair = frozenset({("kind", "repair")})
    arrival_key = repair | {("commitment", "arrival")}
    assert counted.pop(("caseflow_cases_opened", repair)) == 1
    assert counted.pop(("caseflow_escalations", repair | {("level", "1")})) == 1
    assert counted.pop(("caseflow_deadlines_breached", arrival_key)) == 1
    assert counted.pop(("caseflow_deadlines_met", arrival_key | {("outcome", "late")})) == 1
    assert counted.pop(("caseflow_cases_closed", repair)) == 1
    assert counted.pop(("caseflow_rung_lateness_seconds", frozenset())) == pytest.approx(0.3)
    assert counted == {}
