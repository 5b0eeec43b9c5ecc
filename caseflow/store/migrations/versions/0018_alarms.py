"""remote monitoring: alarms, fault episodes (and the head row each decision locks), readings

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 22:10:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "alarm_episodes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("key", sa.String(120), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(16)),
        sa.Column("symptom", sa.Text, nullable=False),
        sa.Column("intake", JSON, nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("alarms", sa.Integer, nullable=False),
        sa.Column("active", sa.Integer, nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True)),
        sa.Column("case_id", sa.String(64)),
        sa.Column("fed", sa.Boolean, nullable=False),
        sa.Column("clear_fed", sa.Boolean, nullable=False),
    )
    op.create_index("ix_alarm_episodes_serial", "alarm_episodes", ["serial", "opened_at"])
    op.create_index("ix_alarm_episodes_case_id", "alarm_episodes", ["case_id"])
    op.create_table(
        "alarm_episode_heads",
        sa.Column("serial", sa.String(100), primary_key=True),
        sa.Column("key", sa.String(120), primary_key=True),
        sa.Column("episode_id", sa.Integer),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("alarm_id", sa.String(200), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True)),
        sa.Column("values", JSON, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("episode_id", sa.Integer),
        sa.Column("trend_episode_id", sa.Integer),
        sa.UniqueConstraint("source", "alarm_id", name="uq_alarms_source_id"),
    )
    op.create_index("ix_alarms_serial", "alarms", ["serial", "raised_at"])
    op.create_index("ix_alarms_episode_id", "alarms", ["episode_id"])
    op.create_table(
        "unit_readings",
        sa.Column("serial", sa.String(100), primary_key=True),
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("unit_readings")
    op.drop_index("ix_alarms_episode_id", table_name="alarms")
    op.drop_index("ix_alarms_serial", table_name="alarms")
    op.drop_table("alarms")
    op.drop_table("alarm_episode_heads")
    op.drop_index("ix_alarm_episodes_case_id", table_name="alarm_episodes")
    op.drop_index("ix_alarm_episodes_serial", table_name="alarm_episodes")
    op.drop_table("alarm_episodes")
