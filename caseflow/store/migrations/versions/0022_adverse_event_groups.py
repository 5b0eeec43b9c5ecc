"""adverse-event groups: group events, their events, and the head row each decision locks

Revision ID: 0022
Revises: 0020
Create Date: 2026-12-06 03:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "adverse_event_group_heads",
        sa.Column("key", sa.String(600), primary_key=True),
        sa.Column("group_id", sa.Integer),
    )
    op.create_table(
        "adverse_event_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("case_id", sa.String(64), nullable=False, unique=True),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("formed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_adverse_event_groups_key", "adverse_event_groups", ["key"])
    op.create_table(
        "adverse_event_group_members",
        sa.Column("case_id", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(600), nullable=False),
        sa.Column("hospital_id", sa.String(64), nullable=False),
        sa.Column("serial", sa.String(100), nullable=False),
        sa.Column("jurisdictions", JSON, nullable=False),
        sa.Column("aware_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("group_id", sa.Integer),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_adverse_event_group_members_key", "adverse_event_group_members",
                    ["key", "aware_at"])
    op.create_index("ix_adverse_event_group_members_group_id", "adverse_event_group_members",
                    ["group_id"])


def downgrade() -> None:
    op.drop_table("adverse_event_group_members")
    op.drop_table("adverse_event_groups")
    op.drop_table("adverse_event_group_heads")
