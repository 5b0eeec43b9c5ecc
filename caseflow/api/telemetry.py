"""What the API tells operators about its requests: Prometheus metrics at GET /metrics, and a
trace span per request that the Temporal calls it makes continue."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

HTTP_REQUESTS = "caseflow_http_requests"  # exported as caseflow_http_requests_total
HTTP_DURATION = "caseflow_http_request_duration_seconds"
ALARMS = "caseflow_alarms"  # exported as caseflow_alarms_total
UNMATCHED = "unmatched"  # the route label of a request no route matched (a 404)
UNTRACED = {"/metrics", "/healthz"}  # polled by machines every few seconds

router = APIRouter(tags=["health"])


class RequestMetrics:
    """Counters and latency histograms of HTTP requests, by route template, method and status
    (never the raw path: case ids would make a series per case), plus the process's CPU and
    memory. Each app has its own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        labels = ["method", "route", "status"]
        self.requests = Counter(HTTP_REQUESTS, "HTTP requests answered", labels,
                                registry=self.registry)
        self.duration = Histogram(
            HTTP_DURATION, "Seconds from a request's arrival to the end of its answer", labels,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))

        self.alarms = Counter(ALARMS, "Alarms posted, by what became of each (refused: by "
                              "the field refused)", ["status", "field"], registry=self.registry)

    def count_alarm(self, status: str, field: str | None) -> None:
        # the field's first part only (values, not values.3.value): a bounded set of labels
        self.alarms.labels(status, (field or "").split(".")[0]).inc()

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.duration.labels(method, route, str(status)).observe(seconds)


class ObservedRequests:
    """ASGI middleware: measures every HTTP request and, with a tracer provider, runs it inside
    a server span (continuing the caller's `traceparent`), so the Temporal client's spans for the
    workflows it starts, updates and queries belong to the request's trace."""

    def __init__(self, app: ASGIApp, metrics: RequestMetrics,
                 tracing: TracerProvider | None = None) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = tracing.get_tracer("caseflow.api") if tracing is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.tracer is None or scope["path"] in UNTRACED:
            await self._measured(scope, receive, send, None)
            return
        from opentelemetry import propagate, trace

        carrier = {key.decode("latin-1"): value.decode("latin-1")
                   for key, value in scope.get("headers", [])}
        with self.tracer.start_as_current_span(
                scope["method"], context=propagate.extract(carrier),
                kind=trace.SpanKind.SERVER, record_exception=True,
                attributes={"http.request.method": scope["method"],
                            "url.path": scope["path"]}) as span:
            await self._measured(scope, receive, send, span)

    async def _measured(self, scope: Scope, receive: Receive, send: Send, span: Any) -> None:
        status = 500  # unless the app answers otherwise before an exception ends it
        began = time.perf_counter()

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            route = getattr(scope.get("route"), "path", None) or UNMATCHED
            self.metrics.observe(scope["method"], route, status, time.perf_counter() - began)
            if span is not None:
                self._describe(span, scope["method"], route, status)

    @staticmethod
    def _describe(span: Any, method: str, route: str, status: int) -> None:
        from opentelemetry.trace import Status, StatusCode

        if route != UNMATCHED:
            span.update_name(f"{method} {route}")
            span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus text format; no token, like /healthz: keep it off the public network."""
    registry: CollectorRegistry = request.app.state.request_metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
