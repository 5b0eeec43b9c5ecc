"""OpenTelemetry tracing of API requests, workflows and activities, exported over OTLP/HTTP
when CASEFLOW_OTLP_ENDPOINT is set; without it nothing is traced and nothing is imported."""

from __future__ import annotations

from typing import TYPE_CHECKING

from caseflow.config import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.client import Interceptor

API_SERVICE = "caseflow-api"
WORKER_SERVICE = "caseflow-worker"


def traces_url(endpoint: str) -> str:
    """The OTLP/HTTP traces URL of a collector's base URL (`http://collector:4318`)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


def tracer_provider(settings: Settings, service: str) -> TracerProvider | None:
    """Spans of `service`, batched to the settings' OTLP endpoint; None when it is unset.

    Sampling follows the standard OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG variables
    (default: every trace), export headers OTEL_EXPORTER_OTLP_HEADERS."""
    if not settings.otlp_endpoint:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=traces_url(settings.otlp_endpoint))))
    return provider


def client_interceptors(provider: TracerProvider | None) -> list[Interceptor]:
    """Temporal's tracing interceptor on `provider`: on a client it traces starts, updates and
    queries and carries the trace in headers; workers of that client trace workflows (RunWorkflow,
    StartActivity, ...) and activities (RunActivity) in the same trace."""
    if provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(provider.get_tracer("caseflow"))]
