"""reliability: imported service history, uptime alerts, fault patterns, report jobs

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "history_imports",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(64), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "imported_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("history_imports.id"), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(100), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("serial", sa.String(100), sa.ForeignKey("equipment.serial"), nullable=False),
        sa.Column("hospital_id", sa.String(64), nullable=False),
        sa.Column("severity", sa.String(16)),
        sa.Column("fault_category", sa.String(64)),
        sa.Column("fault", sa.Text(), nullable=False, server_default=""),
        sa.Column("observed_at", sa.DateTime(timezone=True)),
        sa.Column("restored_at", sa.DateTime(timezone=True)),
        sa.Column("disputed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("parts", JSON, nullable=False),
        sa.Column("engineer", sa.String(200), nullable=False, server_default=""),
        sa.Column("satisfaction", sa.Integer()),
        sa.Column("due_on", sa.Date()),
        sa.Column("done_at", sa.DateTime(timezone=True)),
        sa.Column("down_hours", sa.Float()),
    )
    op.create_index("ix_imported_records_import_id", "imported_records", ["import_id"])
    op.create_index("ix_imported_records_serial", "imported_records", ["serial"])
    op.create_index("ix_imported_records_hospital_id", "imported_records", ["hospital_id"])
    op.create_table(
        "uptime_alerts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("guard_id", sa.String(100), nullable=False),
        sa.Column("contract_code", sa.String(64), nullable=False),
        sa.Column("hospital_id", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("notify", sa.String(32), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("budget_seconds", sa.Float(), nullable=False),
        sa.Column("used_seconds", sa.Float(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("serial", "period", "level", name="uq_uptime_alerts_once"),
    )
    op.create_index("ix_uptime_alerts_contract_code", "uptime_alerts", ["contract_code"])
    op.create_index("ix_uptime_alerts_serial", "uptime_alerts", ["serial"])
    op.create_table(
        "fault_patterns",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(400), nullable=False, unique=True),
        sa.Column("brand", sa.String(100), nullable=False),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("fault_category", sa.String(64), nullable=False),
        sa.Column("cases", JSON, nullable=False),
        sa.Column("first_observed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_observed", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified", JSON, nullable=False),
    )
    op.create_table(
        "report_jobs",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("hospital_id", sa.String(64)),
        sa.Column("year", sa.Integer()),
        sa.Column("serial", sa.String(100)),
        sa.Column("case_id", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("done", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True)),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("empty", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("data", JSON),
        sa.Column("html", sa.Text()),
        sa.Column("pdf", sa.LargeBinary()),
    )
    op.create_index("ix_report_jobs_subject", "report_jobs", ["kind", "hospital_id", "year"])
    op.create_index("ix_report_jobs_case_id", "report_jobs", ["case_id"])
    op.create_table(
        "report_job_parts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(40), sa.ForeignKey("report_jobs.id"), nullable=False),
        sa.Column("key", sa.String(100), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.UniqueConstraint("job_id", "key", name="uq_report_job_parts_once"),
    )
    op.create_index("ix_report_job_parts_job_id", "report_job_parts", ["job_id"])


def downgrade() -> None:
    op.drop_table("report_job_parts")
    op.drop_table("report_jobs")
    op.drop_table("fault_patterns")
    op.drop_table("uptime_alerts")
    op.drop_table("imported_records")
    op.drop_table("history_imports")
