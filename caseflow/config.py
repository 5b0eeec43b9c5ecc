"""Settings from `CASEFLOW_*` environment variables (and `DATABASE_URL`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def normalise_url(url: str) -> str:
    """postgres:// and postgresql:// URLs use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CASEFLOW_", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "caseflow"
    database_url: str = Field(
        default="sqlite:///.data/caseflow.db",
        validation_alias=AliasChoices("CASEFLOW_DATABASE_URL", "DATABASE_URL"))
    policy_file: Path | None = Field(default=None, description="SLA policy YAML; packaged default")
    log_format: Literal["auto", "json", "console"] = "auto"
    log_level: str = "INFO"
    data_dir: Path = Path(".data")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_ui_port: int = 8233
    # Where people open the Temporal Web UI (links from each case); default: the dev server's.
    temporal_ui_url: str | None = None

    @property
    def web_ui(self) -> str:
        return (self.temporal_ui_url or f"http://127.0.0.1:{self.temporal_ui_port}").rstrip("/")

    def workflow_link(self, workflow_id: str) -> str:
        return f"{self.web_ui}/namespaces/{self.temporal_namespace}/workflows/{workflow_id}"
    outbox_poll_seconds: float = 1.0
    # How often each API process looks for newly recorded events for the console's live pages.
    live_poll_seconds: float = Field(default=0.5, gt=0, le=10)
    # Notification delivery (docs/operations.md). Without an SMTP host, e-mail is not sent and
    # people whose profile asks for e-mail get their messages in the log instead.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_sender: str = "caseflow@localhost"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    webhook_timeout_seconds: float = 10.0
    delivery_give_up_hours: float = 24.0
    # Event subscriptions of outside tools (docs/operations.md); POSTs use webhook_timeout_seconds.
    subscription_poll_seconds: float = 1.0
    seal_poll_seconds: float = 5.0  # how often closed cases are fingerprinted into the chain
    # how often the worker looks for changed cases to poke uptime guards and find fault patterns
    reliability_poll_seconds: float = Field(default=5.0, gt=0)
    # how often each API process looks for fault episodes whose case was left unopened or
    # unfed (docs/monitoring.md, "The sweep"); 0: never
    alarm_sweep_seconds: float = Field(default=10.0, ge=0)
    subscription_give_up_hours: float = 24.0
    query_timeout_seconds: float = 10.0
    # How the worker runs workflow code (docs/architecture.md "The workflow sandbox"): "full"
    # imports every workflow module afresh for each case; "passthrough" imports them once.
    # Replay (caseflow replay, the audit API, CI) always uses the full sandbox.
    workflow_sandbox: Literal["full", "passthrough"] = "passthrough"
    update_timeout_seconds: float = 30.0
    # Abuse limits (docs/security.md): per token and API process; 0 = no limit.
    rate_create_per_minute: int = Field(default=120, ge=0)
    rate_actions_per_minute: int = Field(default=600, ge=0)
    # Sign-in attempts per client address a minute; failures add growing delays per user name
    # (docs/security.md). 0 turns every sign-in limit off.
    rate_logins_per_minute: int = Field(default=20, ge=0)
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    login_token_hours: float = Field(default=12.0, gt=0)  # a console sign-in lasts this long
    # Observability (docs/operations.md "Metrics" and "Tracing"). The worker serves Prometheus
    # metrics on metrics_host:worker_metrics_port (0 = off); the API serves them at /metrics.
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    # OTLP/HTTP collector base URL (e.g. http://otel-collector:4318); unset = no tracing.
    otlp_endpoint: str | None = None

    @field_validator("database_url")
    @classmethod
    def _psycopg(cls, url: str) -> str:
        return normalise_url(url)

