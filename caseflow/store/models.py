"""SQLAlchemy 2 models of the business database (PostgreSQL in production, SQLite for `make run`)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite keeps no zone by itself)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


Json = JSON().with_variant(JSONB(), "postgresql")
# A list of short strings: a GIN-indexed text array on PostgreSQL, JSON on SQLite.
Grams = JSON().with_variant(ARRAY(Text), "postgresql")


class Base(DeclarativeBase):
    pass


class Hospital(Base):
    __tablename__ = "hospitals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))  # its own name, as written in Chinese
    # An English name for readers of English, if it has one ("": none; shown as `name`).
    name_en: Mapped[str] = mapped_column(String(200), default="", server_default="")
    region: Mapped[str] = mapped_column(String(100), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")


class Contract(Base):
    __tablename__ = "contracts"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    hospital_id: Mapped[str] = mapped_column(ForeignKey("hospitals.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    warranty_months: Mapped[int] = mapped_column(Integer, default=12)
    maintenance_interval_days: Mapped[int] = mapped_column(Integer, default=90)


class Equipment(Base):
    __tablename__ = "equipment"

    serial: Mapped[str] = mapped_column(String(100), primary_key=True)
    hospital_id: Mapped[str] = mapped_column(ForeignKey("hospitals.id"), index=True)
    contract_code: Mapped[str | None] = mapped_column(ForeignKey("contracts.code"))
    modality: Mapped[str] = mapped_column(String(16))
    brand: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    department: Mapped[str] = mapped_column(String(200), default="")
    install_date: Mapped[date | None] = mapped_column(Date)
    warranty_start: Mapped[date | None] = mapped_column(Date)
    warranty_end: Mapped[date | None] = mapped_column(Date)
    # installing (an installation case is open), in_service, out_of_service, decommissioned
    status: Mapped[str] = mapped_column(String(32), default="in_service")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    status_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Where the unit is registered as a medical device (jurisdiction codes of the policy's
    # `regulatory:` section, e.g. ["CN", "EU"]) and its UDI: the regulators an adverse event on
    # it is reported to (docs/regulatory.md).
    jurisdictions: Mapped[list[str]] = mapped_column(Json, default=list)
    udi: Mapped[str | None] = mapped_column(String(200))


class Person(Base):
    __tablename__ = "people"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32), index=True)
    hospital_id: Mapped[str | None] = mapped_column(ForeignKey("hospitals.id"))
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # How this person is reached: any of "email", "webhook", "log" (docs/operations.md).
    channels: Mapped[list[str]] = mapped_column(Json, default=lambda: ["log"])
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    # The policy calendar of their working hours: non-urgent messages wait for it.
    work_calendar: Mapped[str] = mapped_column(String(64), default="business")
    # Signing in to the console with a user name and password (argon2 hash); None: tokens only.
    username: Mapped[str | None] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    # The language their notifications are written in: zh-CN or en.
    language: Mapped[str] = mapped_column(String(8), default="zh-CN", server_default="zh-CN")
    # The zone their notifications show times in (IANA name).
    time_zone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai",
                                           server_default="Asia/Shanghai")


class OnCallShift(Base):
    """Who is on call for a hospital and modality ("*" = every modality), at which level of
    the chain (1 = first responder, then up), from when to when."""

    __tablename__ = "on_call_shifts"
    __table_args__ = (Index("ix_on_call_scope", "hospital_id", "modality", "starts_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hospital_id: Mapped[str] = mapped_column(ForeignKey("hospitals.id"))
    modality: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_by: Mapped[str] = mapped_column(String(64), default="")


class ApiToken(Base):
    """A bearer token, stored only as its SHA-256 (tokens are long random strings)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    person_id: Mapped[str] = mapped_column(ForeignKey("people.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")


class Case(Base):
    """The case row: created by the API at intake, kept current by the workflow's activities."""

    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("kind", "created_by", "idempotency_key", name="uq_cases_idempotency"),
        Index("ix_cases_search_grams", "search_grams", postgresql_using="gin"),
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str | None] = mapped_column(String(16), index=True)
    hospital_id: Mapped[str] = mapped_column(String(64), index=True)
    equipment_serial: Mapped[str | None] = mapped_column(String(100), index=True)
    assignee_id: Mapped[str | None] = mapped_column(String(64), index=True)
    breached: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    policy_version: Mapped[str] = mapped_column(String(64), default="")
    projection_seq: Mapped[int] = mapped_column(Integer, default=0)
    # The deadlines as the case page shows them (from the workflow, with each event).
    next_due_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    next_due_key: Mapped[str | None] = mapped_column(String(64))
    commitments: Mapped[list[dict[str, Any]] | None] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Status "void": the number was issued but its workflow surely never started; why.
    void_reason: Mapped[str | None] = mapped_column(Text)

    # Every text of the case (intake, steps), normalised, and its pieces for the index
    # (domain/text_search.py): what `GET /v1/cases?q=` finds. Not loaded with the row (they
    # are its largest columns and only searches and `add_text` use them).
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="", deferred=True)
    search_grams: Mapped[list[str] | None] = mapped_column(Grams, deferred=True)


class CaseNumber(Base):
    """The last case number given to a kind on a local day: numbers are consecutive per kind
    and day (the row sequence is shared by every kind and consumed by upserts)."""

    __tablename__ = "case_numbers"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)  # YYYYMMDD, local
    last: Mapped[int] = mapped_column(Integer)


class CaseEventRow(Base):
    __tablename__ = "case_events"
    __table_args__ = (UniqueConstraint("case_id", "seq", name="uq_case_events_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor_id: Mapped[str] = mapped_column(String(64))
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str | None] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)
    workflow_id: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[str] = mapped_column(String(100))


class Attachment(Base):
    """A photo or signed form uploaded to a case, kept with it in this database (so the backup
    of the database keeps it), with the SHA-256 of its bytes."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by_id: Mapped[str] = mapped_column(String(64))
    uploaded_by_name: Mapped[str] = mapped_column(String(200))
    uploaded_by_role: Mapped[str | None] = mapped_column(String(32))
    uploaded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        UniqueConstraint("case_id", "commitment", "round", "level", name="uq_escalations_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    commitment: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    round: Mapped[int] = mapped_column(Integer)
    level: Mapped[int] = mapped_column(Integer)
    notify: Mapped[str] = mapped_column(String(32))
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Notification(Base):
    """The notifications outbox: written with the case change, delivered by a sender later."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_pending", "status", "created_at"),
                      Index("ix_notifications_person_case", "person_id", "case_id"),
                      Index("ix_notifications_person_id", "person_id", "id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedupe_key: Mapped[str] = mapped_column(String(300), unique=True)
    case_id: Mapped[str] = mapped_column(String(64), index=True)
    person_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Delivery state: channels already delivered (never sent again), when to try next.
    delivered: Mapped[list[str]] = mapped_column(Json, default=list)
    not_before: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Read in the console's inbox (by its recipient).
    read_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # A message written as a template code and its parameters (domain/notices.py) is worded in
    # the recipient's language and time zone when it is sent; None: `subject`/`body` as written.
    template: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any] | None] = mapped_column(Json)


class Subscription(Base):
    """An outside tool's webhook: the case events it wants, signed with its secret.

    The secret is kept in clear because every delivery is signed with it (HMAC); it is never
    shown again after it is registered.
    """

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(1000))
    secret: Mapped[str] = mapped_column(String(200))
    # Case event names ("assign", "escalation", ...), or ["*"] for every event.
    events: Mapped[list[str]] = mapped_column(Json, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    deactivated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class SubscriptionDelivery(Base):
    """One case event owed to one subscription: written with the event, sent by the deliverer."""

    __tablename__ = "subscription_deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "case_event_id", name="uq_subscription_deliveries_once"),
        Index("ix_subscription_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscriptions.id"))
    case_event_id: Mapped[int] = mapped_column(ForeignKey("case_events.id"), index=True)
    case_id: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # When it was last put in the queue (written, or redelivered): the give-up clock starts here.
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # While pending: when it is due (or, while a deliverer holds it, when that claim lapses).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    response_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str] = mapped_column(Text, default="")


class CaseSeal(Base):
    """A closed case's record fingerprint, one link of the hash chain (domain/audit.py).
    `position` is the link's place in the chain, 1, 2, 3... with no gaps. Scheme 2 keeps the
    fingerprint of each part (`parts`) and the state and timeline as sealed (`record`, the
    canonical JSON text, so an export of the case shows what was sealed whatever later code
    makes of the view); scheme 1 seals only the history (`history_sha256`)."""

    __tablename__ = "case_seals"
    __table_args__ = (UniqueConstraint("case_id", name="uq_case_seals_case"),)

    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    case_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    workflow_id: Mapped[str] = mapped_column(String(100))
    run_id: Mapped[str] = mapped_column(String(100))
    closed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    history_sha256: Mapped[str] = mapped_column(String(64))
    previous_hash: Mapped[str] = mapped_column(String(64))
    chain_hash: Mapped[str] = mapped_column(String(64))
    sealed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    scheme: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    record_sha256: Mapped[str | None] = mapped_column(String(64))
    parts: Mapped[dict[str, Any] | None] = mapped_column(Json)
    record: Mapped[str | None] = mapped_column(Text)


class StoredPolicy(Base):
    """An SLA policy a manager put in force: the newest row is the one new cases are pinned to
    (none: the policy file). Rows are never changed or deleted: they are the policy's history."""

    __tablename__ = "sla_policies"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version: Mapped[str] = mapped_column(String(200))
    policy_yaml: Mapped[str] = mapped_column(Text)
    note: Mapped[str] = mapped_column(Text, default="")
    put_by: Mapped[str] = mapped_column(String(64))
    put_at: Mapped[datetime] = mapped_column(UtcDateTime)


# ----- reliability: imported history, uptime alerts, fault patterns, report jobs ---------------

class HistoryImport(Base):
    """One `caseflow import-history` file: all of its records or none."""

    __tablename__ = "history_imports"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(500))
    sha256: Mapped[str] = mapped_column(String(64))
    records: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    imported_by: Mapped[str] = mapped_column(String(64))


class ImportedRecord(Base):
    """A past service record brought from before caseflow: reported on, never replayed or
    sealed (it has no workflow history)."""

    __tablename__ = "imported_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("history_imports.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    reference: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # repair, maintenance
    serial: Mapped[str] = mapped_column(ForeignKey("equipment.serial"), index=True)
    hospital_id: Mapped[str] = mapped_column(String(64), index=True)
    severity: Mapped[str | None] = mapped_column(String(16))
    fault_category: Mapped[str | None] = mapped_column(String(64))
    fault: Mapped[str] = mapped_column(Text, default="")
    observed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    restored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disputed: Mapped[bool] = mapped_column(Boolean, default=False)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    engineer: Mapped[str] = mapped_column(String(200), default="")
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    due_on: Mapped[date | None] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    down_hours: Mapped[float | None] = mapped_column(Float)


class UptimeAlert(Base):
    """A rung of a unit's uptime guarantee that fired (warning, then the ladder's levels):
    once per unit, guarantee period and level."""

    __tablename__ = "uptime_alerts"
    __table_args__ = (UniqueConstraint("serial", "period", "level", name="uq_uptime_alerts_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    guard_id: Mapped[str] = mapped_column(String(100))
    contract_code: Mapped[str] = mapped_column(String(64), index=True)
    hospital_id: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(100), index=True)
    period: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    notify: Mapped[str] = mapped_column(String(32))
    scheduled_at: Mapped[datetime] = mapped_column(UtcDateTime)
    fired_at: Mapped[datetime] = mapped_column(UtcDateTime)
    budget_seconds: Mapped[float] = mapped_column(Float)
    used_seconds: Mapped[float] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class FaultPattern(Base):
    """A model's recurring fault found across the fleet; recorded (and notified) once."""

    __tablename__ = "fault_patterns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    brand: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(100))
    fault_category: Mapped[str] = mapped_column(String(64))
    cases: Mapped[list[str]] = mapped_column(Json, default=list)
    first_observed: Mapped[datetime] = mapped_column(UtcDateTime)
    last_observed: Mapped[datetime] = mapped_column(UtcDateTime)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)
    notified: Mapped[list[str]] = mapped_column(Json, default=list)  # person ids


class ReportJob(Base):
    """A report made in the background (an annual report, a visit report): its progress and,
    once done, its data, HTML and PDF."""

    __tablename__ = "report_jobs"
    __table_args__ = (Index("ix_report_jobs_subject", "kind", "hospital_id", "year"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # annual, visit
    hospital_id: Mapped[str | None] = mapped_column(String(64))
    year: Mapped[int | None] = mapped_column(Integer)
    serial: Mapped[str | None] = mapped_column(String(100))
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(16))  # queued, running, done, failed
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    as_of: Mapped[datetime | None] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    error: Mapped[str] = mapped_column(Text, default="")
    empty: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any] | None] = mapped_column(Json)
    html: Mapped[str | None] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary)


class ReportJobPart(Base):
    """The figures of one unit (or one visit) of a report job, written once per part."""

    __tablename__ = "report_job_parts"
    __table_args__ = (UniqueConstraint("job_id", "key", name="uq_report_job_parts_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("report_jobs.id"), index=True)
    key: Mapped[str] = mapped_column(String(100))
    data: Mapped[dict[str, Any]] = mapped_column(Json)


class PolicyMigrationRow(Base):
    """Moving open cases to another policy: the preview a manager saw, then its run
    (docs/sla-policy.md "Changing the policy of open cases")."""

    __tablename__ = "policy_migrations"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # previewed, running, done
    policy_text: Mapped[str] = mapped_column(Text)  # the candidate, as put (YAML or JSON)
    policy_version: Mapped[str] = mapped_column(String(64))
    in_force_version: Mapped[str] = mapped_column(String(64))  # at the preview
    selection: Mapped[dict[str, Any]] = mapped_column(Json)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    applied_by: Mapped[str | None] = mapped_column(String(64))
    applied_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    per_minute: Mapped[int] = mapped_column(Integer, default=600, server_default="600")


class PolicyMigrationCase(Base):
    """One case of a migration: what the preview said, then what happened to it."""

    __tablename__ = "policy_migration_cases"
    __table_args__ = (Index("ix_policy_migration_cases_result", "migration_id", "result",
                            "case_id"),)

    migration_id: Mapped[str] = mapped_column(ForeignKey("policy_migrations.id"),
                                              primary_key=True)
    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    contract_code: Mapped[str | None] = mapped_column(String(64))
    from_version: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int] = mapped_column(Integer)
    preview: Mapped[dict[str, Any]] = mapped_column(Json)
    left_alone: Mapped[str | None] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(String(16))  # pending, migrated, left_alone, refused
    reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AlarmEpisode(Base):
    """One fault of a unit as its alarms show it (docs/monitoring.md): the alarms of one code,
    or of codes the policy groups, each within the policy's window of the one before. It opens
    (or feeds) one case, however many alarms it has."""

    __tablename__ = "alarm_episodes"
    __table_args__ = (Index("ix_alarm_episodes_serial", "serial", "opened_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    serial: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(120))  # code:<code>, group:<name>, trend:<value>
    action: Mapped[str] = mapped_column(String(16))  # record, repair, emergency, attach, trend
    code: Mapped[str] = mapped_column(String(100))  # of the alarm that opened it
    severity: Mapped[str | None] = mapped_column(String(16))  # of the repair it opens
    symptom: Mapped[str] = mapped_column(Text, default="")
    intake: Mapped[dict[str, Any]] = mapped_column(Json, default=dict)  # the first alarm
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)  # the first alarm's time
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    alarms: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[int] = mapped_column(Integer, default=1)  # raised, not cleared yet
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)  # when the last cleared
    case_id: Mapped[str | None] = mapped_column(String(64), index=True)  # opened or fed
    fed: Mapped[bool] = mapped_column(Boolean, default=False)  # the case has the alarm
    clear_fed: Mapped[bool] = mapped_column(Boolean, default=False)  # ... and its clearing


class AlarmEpisodeHead(Base):
    """The latest episode of a unit's fault key: locked while an alarm decides whether it
    joins that episode or starts the next one, so concurrent batches agree."""

    __tablename__ = "alarm_episode_heads"

    serial: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(120), primary_key=True)
    episode_id: Mapped[int | None] = mapped_column(Integer)


class AlarmRow(Base):
    """One alarm a monitoring integration posted: once per (integration, alarm id)."""

    __tablename__ = "alarms"
    __table_args__ = (UniqueConstraint("source", "alarm_id", name="uq_alarms_source_id"),
                      Index("ix_alarms_serial", "serial", "raised_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(64))  # the integration's person id
    alarm_id: Mapped[str] = mapped_column(String(200))
    serial: Mapped[str] = mapped_column(String(100))
    code: Mapped[str] = mapped_column(String(100))
    severity: Mapped[str] = mapped_column(String(16))
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    cleared_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    values: Mapped[list[dict[str, Any]]] = mapped_column(Json, default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    outcome: Mapped[str] = mapped_column(String(16))  # recorded, repair, ..., suppressed
    episode_id: Mapped[int | None] = mapped_column(Integer, index=True)
    trend_episode_id: Mapped[int | None] = mapped_column(Integer)


class UnitReading(Base):
    """The last reading of each value of a unit, for the rate of change of the next one."""

    __tablename__ = "unit_readings"

    serial: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class AdverseEventGroupHead(Base):
    """The current group event of one key (the values its events share: model, fault...):
    locked while an adverse event decides whether it joins that group, forms a new one or
    neither, so two events arriving at once cannot both (or neither) open the group."""

    __tablename__ = "adverse_event_group_heads"

    key: Mapped[str] = mapped_column(String(600), primary_key=True)
    group_id: Mapped[int | None] = mapped_column(Integer)


class AdverseEventGroup(Base):
    """A group event (群体不良事件): its case, the span of its events' awareness times, and
    when it became known (its `count`-th event's awareness)."""

    __tablename__ = "adverse_event_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(600), index=True)
    case_id: Mapped[str] = mapped_column(String(64), unique=True)
    first_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime)
    aware_at: Mapped[datetime] = mapped_column(UtcDateTime)
    formed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AdverseEventGroupMember(Base):
    """An adverse event placed by its key: in a group event, or waiting for others (a group
    forms of events in no group yet)."""

    __tablename__ = "adverse_event_group_members"
    __table_args__ = (Index("ix_adverse_event_group_members_key", "key", "aware_at"),)

    case_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(600))
    hospital_id: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(100))
    jurisdictions: Mapped[list[str]] = mapped_column(Json, default=list)
    aware_at: Mapped[datetime] = mapped_column(UtcDateTime)
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
